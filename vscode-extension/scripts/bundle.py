"""Builds the Python half of the self-contained .vsix: the heaplens server and its libraries.

    python3 scripts/bundle.py [--out DIR] TARGET...   (TARGET: linux-x64, darwin-arm64, ...)

For each VS Code target it writes DIR/TARGET/:
    launch.py          puts the libraries on sys.path and runs heaplens (python/launch.py)
    server/heaplens/   the server's sources from server/heaplens (no caches)
    libs/common/       pyproject.toml's [project.dependencies] and theirs, where one wheel
                       serves every CPython 3.10-3.14: pure-Python, abi3, py3-none-<platform>
    libs/cp310 ... /cp314/   the wheels compiled for one CPython minor version (tree-sitter,
                       orjson, ...): the same release in every directory when it has wheels
                       for all five, else the newest the requirement allows per version
    bundle.json        what is in it: target, Python versions, every distribution's version

Only wheels are used (no compiler, any build machine), taken from PyPI's JSON API: the
dependency closure is walked with each target's own environment markers (pip would judge
them by the building machine's Python), choosing the newest release that satisfies every
requirement seen and has wheels for the target. Responses and wheels are kept in
.cache/pypi and .cache/wheels (hash-checked), so a second run needs no network, and all
downloads run in parallel.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

try:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
    from packaging.utils import canonicalize_name, parse_wheel_filename
    from packaging.version import Version
except ImportError:  # pip vendors packaging: any Python with pip has it
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.specifiers import SpecifierSet  # type: ignore[no-redef]
    from pip._vendor.packaging.tags import (  # type: ignore[no-redef]
        Tag, compatible_tags, cpython_tags, mac_platforms)
    from pip._vendor.packaging.utils import (  # type: ignore[no-redef]
        canonicalize_name, parse_wheel_filename)
    from pip._vendor.packaging.version import Version  # type: ignore[no-redef]

EXTENSION = Path(__file__).resolve().parent.parent
REPO = EXTENSION.parent
CACHE = EXTENSION / ".cache"
PYPI = "https://pypi.org/pypi"
PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14"]
# A project's release list is read again after this long (a wheel, once checked, is kept).
INDEX_TTL_S = 3600


def _manylinux(arch: str) -> list[str]:
    # VS Code needs glibc 2.28, so every manylinux wheel up to 2_28 runs where it runs.
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    out = []
    for minor in range(28, 4, -1):
        out.append(f"manylinux_2_{minor}_{arch}")
        if minor in legacy:
            out.append(f"{legacy[minor]}_{arch}")
    return out


PLATFORMS: dict[str, list[str]] = {
    "linux-x64": _manylinux("x86_64"),
    "linux-arm64": _manylinux("aarch64"),
    "darwin-arm64": list(mac_platforms((11, 0), "arm64")),
    "darwin-x64": list(mac_platforms((10, 15), "x86_64")),
    "win32-x64": ["win_amd64"],
}
MARKERS: dict[str, dict[str, str]] = {
    "linux-x64": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                  "platform_machine": "x86_64"},
    "linux-arm64": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                    "platform_machine": "aarch64"},
    "darwin-arm64": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
                     "platform_machine": "arm64"},
    "darwin-x64": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
                   "platform_machine": "x86_64"},
    "win32-x64": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
                  "platform_machine": "AMD64"},
}


def project_dependencies() -> list[str]:
    """[project.dependencies] of pyproject.toml (tomllib on 3.11+, pip's tomli before)."""
    try:
        import tomllib
    except ImportError:
        from pip._vendor import tomli as tomllib  # type: ignore[no-redef]
    with open(REPO / "pyproject.toml", "rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def _get(url: str) -> bytes:
    for attempt in range(4):
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "heaplens-bundle"})
            with urllib.request.urlopen(request, timeout=60) as response:
                return bytes(response.read())
        except OSError:
            if attempt == 3:
                raise
            time.sleep(1 + attempt)
    raise AssertionError("unreachable")


def pypi_json(name: str) -> dict[str, Any]:
    """A project's releases and their files (PyPI's JSON API), cached for INDEX_TTL_S."""
    cached = CACHE / "pypi" / f"{canonicalize_name(name)}.json"
    url = f"{PYPI}/{name}/json"
    if cached.exists() and time.time() - cached.stat().st_mtime < INDEX_TTL_S:
        data = cached.read_bytes()
    else:
        data = _get(url)
        _write(cached, data)
    project = dict(json.loads(data))
    # A mirror may give file URLs relative to the page.
    for files in project["releases"].values():
        for f in files:
            f["url"] = urllib.parse.urljoin(url, f["url"])
    return project


def _write(path: Path, data: bytes) -> None:
    """Writes whole or not at all: targets resolve in parallel threads and share the cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.{threading.get_ident()}.part")
    part.write_bytes(data)
    part.replace(path)


def requires_dist(wheel: Path) -> list[str]:
    """Requires-Dist of a wheel, from its METADATA (PyPI's per-release API is not used:
    mirrors do not all serve it)."""
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        header = z.read(name).decode("utf-8").split("\n\n", 1)[0]
    return [line.split(":", 1)[1].strip() for line in header.splitlines()
            if line.startswith("Requires-Dist:")]


def supported(target: str, python: str) -> list[Tag]:
    """The wheel tags a CPython of this version on this target accepts, best first."""
    v = tuple(int(x) for x in python.split("."))
    abi = f"cp{v[0]}{v[1]}"
    platforms = PLATFORMS[target]
    return [*cpython_tags(v, abis=[abi], platforms=platforms),
            *compatible_tags(v, abi, platforms)]


def best_wheel(files: list[dict[str, Any]], tags: list[Tag], python: str) -> dict[str, Any] | None:
    """The file of a release this Python installs: a wheel with its best-ranked tag, whose
    Requires-Python admits it (watchdog 7 is py3-none-any but needs 3.11)."""
    rank = {t: i for i, t in enumerate(tags)}
    best, best_rank = None, len(rank)
    for f in files:
        if f.get("packagetype") != "bdist_wheel" or f.get("yanked"):
            continue
        if f.get("requires_python") and not SpecifierSet(f["requires_python"]).contains(python + ".0"):
            continue
        r = min((rank.get(t, len(rank)) for t in parse_wheel_filename(f["filename"])[3]),
                default=len(rank))
        if r < best_rank:
            best, best_rank = f, r
    return best


class Resolver:
    """Chooses, per target, one wheel per distribution and CPython version."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.tags = {py: supported(target, py) for py in PYTHONS}
        self.constraints: dict[str, list[Requirement]] = {}
        self.choice: dict[str, dict[str, dict[str, Any]]] = {}  # name -> python -> file

    def env(self, python: str) -> dict[str, str]:
        return {**MARKERS[self.target], "implementation_name": "cpython",
                "platform_python_implementation": "CPython", "python_version": python,
                "python_full_version": python + ".0", "extra": ""}

    def add(self, requirement: str) -> None:
        req = Requirement(requirement)
        if req.marker is None or any(req.marker.evaluate(self.env(py)) for py in PYTHONS):
            self.constraints.setdefault(canonicalize_name(req.name), []).append(req)

    def choose(self, name: str) -> dict[str, dict[str, Any]]:
        releases = pypi_json(name)["releases"]
        allowed = [v for v in sorted((Version(v) for v in releases), reverse=True)
                   if not v.is_prerelease
                   and all(r.specifier.contains(v) for r in self.constraints[name])]
        # The same release for every Python when one has wheels for them all.
        for v in allowed:
            files = {py: best_wheel(releases[str(v)], self.tags[py], py) for py in PYTHONS}
            if all(files.values()):
                return {py: f for py, f in files.items() if f}
        chosen = {}
        for py in PYTHONS:
            for v in allowed:
                wheel = best_wheel(releases[str(v)], self.tags[py], py)
                if wheel:
                    chosen[py] = wheel
                    break
            else:
                raise SystemExit(f"bundle.py: {self.target}: no wheel of {name} "
                                 f"{self.constraints[name]} for CPython {py}")
        return chosen

    def resolve(self, roots: list[str]) -> None:
        for r in roots:
            self.add(r)
        for _ in range(20):
            changed = False
            for name in sorted(self.constraints):
                chosen = self.choose(name)
                if chosen != self.choice.get(name):
                    self.choice[name] = chosen
                    changed = True
                    by_version = {parse_wheel_filename(f["filename"])[1]: f for f in chosen.values()}
                    for wheel in by_version.values():
                        for dep in requires_dist(fetch(wheel)):
                            self.add(dep)
            if not changed:
                return
        raise SystemExit(f"bundle.py: {self.target}: the requirements do not settle")


def fetch(wheel: dict[str, Any]) -> Path:
    path = CACHE / "wheels" / wheel["filename"]
    sha256 = wheel["digests"]["sha256"]
    if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
        return path
    data = _get(wheel["url"])
    if hashlib.sha256(data).hexdigest() != sha256:
        raise SystemExit(f"bundle.py: {wheel['filename']}: the download does not match its hash")
    _write(path, data)
    return path


def unpack(wheel: Path, into: Path) -> None:
    """Installs a wheel's library files (a --target install): no scripts, headers or data,
    no bytecode; `<name>.data/purelib|platlib` land beside the packages."""
    with zipfile.ZipFile(wheel) as z:
        for member in z.infolist():
            parts = member.filename.split("/")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue
                parts = parts[2:]
            if member.is_dir() or "__pycache__" in parts or parts[-1].endswith((".pyc", ".pyo")):
                continue
            out = into.joinpath(*parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(z.read(member))


def build(target: str, out: Path, resolver: Resolver, wheels: dict[str, Path]) -> dict[str, Any]:
    root = out / target
    shutil.rmtree(root, ignore_errors=True)
    summary: dict[str, Any] = {"target": target, "pythons": PYTHONS, "distributions": {},
                               "versionSpecific": {}}
    for name, chosen in sorted(resolver.choice.items()):
        files = {f["filename"] for f in chosen.values()}
        if len(files) == 1:
            unpack(wheels[files.pop()], root / "libs" / "common")
            summary["distributions"][name] = str(parse_wheel_filename(chosen[PYTHONS[0]]["filename"])[1])
            continue
        for py, f in chosen.items():
            tag = "cp" + py.replace(".", "")
            unpack(wheels[f["filename"]], root / "libs" / tag)
            summary["versionSpecific"].setdefault(tag, {})[name] = str(parse_wheel_filename(f["filename"])[1])
    for py in PYTHONS:  # the launcher recognises a supported version by its directory
        (root / "libs" / ("cp" + py.replace(".", ""))).mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "server" / "heaplens", root / "server" / "heaplens",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
    shutil.copy2(EXTENSION / "python" / "launch.py", root / "launch.py")
    (root / "bundle.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="+", choices=sorted(PLATFORMS))
    parser.add_argument("--out", type=Path, default=CACHE / "bundle")
    args = parser.parse_args()
    roots = project_dependencies()
    with ThreadPoolExecutor(max_workers=16) as pool:
        resolvers = list(pool.map(lambda t: Resolver(t), args.targets))
        list(pool.map(lambda r: r.resolve(roots), resolvers))
        needed = {f["filename"]: f for r in resolvers for c in r.choice.values() for f in c.values()}
        paths = dict(zip(needed, pool.map(fetch, needed.values())))
        for summary in pool.map(lambda r: build(r.target, args.out, r, paths), resolvers):
            compiled = sorted({n for v in summary["versionSpecific"].values() for n in v})
            print(f"bundle.py: {summary['target']}: {len(summary['distributions'])} distributions "
                  f"in libs/common, compiled per CPython: {', '.join(compiled)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

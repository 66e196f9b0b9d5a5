"""Builds the Python half of the self-contained .vsix: the heaplens server and its libraries.

    python3 scripts/bundle.py --out DIR TARGET...     (TARGET: linux-x64, darwin-arm64, ...)

For each VS Code target it writes DIR/TARGET/:
    launch.py          puts the libraries on sys.path and runs heaplens (python/launch.py)
    server/heaplens/   the server's sources from server/heaplens (no caches)
    libs/common/       pyproject.toml's [project.dependencies] and theirs: pure-Python wheels,
                       abi3 wheels, and wheels tagged for the platform but not for a Python
    libs/cp310 ... /cp314/   the wheels compiled for one CPython minor version (tree-sitter,
                       orjson, ...), the same release of each in every directory
    bundle.json        what is in it: target, Python versions, every distribution's version

Wheels come from PyPI through pip (`--only-binary=:all: --platform --python-version`), so the
machine building needs no compiler and no Python but the one running this script. pip
evaluates environment markers for the running interpreter, not for the target, so the
dependency closure is checked again here with the target's markers and completed. The
targets are built in parallel; pip's own cache keeps a second run offline-fast.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

try:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pip vendors packaging; any machine that has pip has these
    from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef]
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]

EXTENSION = Path(__file__).resolve().parent.parent
REPO = EXTENSION.parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14"]

# The wheel platform tags each VS Code target accepts, best first. VS Code itself needs
# glibc 2.28 on Linux and macOS 11 (x64: 10.15), so newer manylinux wheels are fine.
PLATFORMS: dict[str, list[str]] = {
    "linux-x64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "linux-arm64": ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
    "darwin-arm64": ["macosx_11_0_arm64"],
    "darwin-x64": ["macosx_10_15_x86_64"],
    "win32-x64": ["win_amd64"],
}
# The marker environment of each target, for the dependencies pip judged by this machine.
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


def pip_install(target: str, python: str, into: Path, requirements: list[str], deps: bool) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-compile", "--only-binary=:all:", "--implementation", "cp",
               "--python-version", python, "--target", str(into), "--upgrade"]
    for platform in PLATFORMS[target]:
        command += ["--platform", platform]
    if not deps:
        command.append("--no-deps")
    result = subprocess.run(command + requirements, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"bundle.py: pip failed for {target} / Python {python}:\n"
                         f"{' '.join(command + requirements)}\n{result.stdout}{result.stderr}")


def installed(into: Path) -> dict[str, Path]:
    """The distributions in a --target directory, by canonical name: their .dist-info."""
    found = {}
    for info in into.glob("*.dist-info"):
        name = re.sub(r"-[^-]+\.dist-info$", "", info.name)
        found[canonicalize_name(name)] = info
    return found


def metadata(info: Path, field: str) -> list[str]:
    text = (info / ("WHEEL" if field == "Tag" else "METADATA")).read_text("utf-8")
    header = text.split("\n\n", 1)[0]
    return [line.split(":", 1)[1].strip() for line in header.splitlines()
            if line.startswith(field + ":")]


def closure(into: Path, roots: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Walks the dependency closure with the target's markers: the requirements not
    installed, and every reached distribution's requirement (name and specifier)."""
    have = installed(into)
    missing: list[str] = []
    seen: dict[str, str] = {}
    todo = [Requirement(r) for r in roots]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen[name] = f"{req.name}{req.specifier}"
        if name not in have:
            missing.append(seen[name])
            continue
        todo += [Requirement(r) for r in metadata(have[name], "Requires-Dist")]
    return missing, seen


def version_specific(into: Path) -> dict[str, str]:
    """Distributions whose wheel is for one CPython (cp310-cp310-...): name -> version."""
    found = {}
    for name, info in installed(into).items():
        abis = {tag.split("-")[1] for tag in metadata(info, "Tag")}
        if abis - {"none", "abi3"}:
            found[name] = info.name.removesuffix(".dist-info").rsplit("-", 1)[1]
    return found


def move_distribution(info: Path, into: Path) -> None:
    """Moves one installed distribution (every file its RECORD lists) to another directory."""
    root = info.parent
    tops = {line.split(",", 1)[0].split("/", 1)[0] for line in
            (info / "RECORD").read_text("utf-8").splitlines() if line}
    into.mkdir(parents=True, exist_ok=True)
    for top in sorted(tops):
        if top and (root / top).exists() and top not in {"bin", ".."}:
            shutil.move(str(root / top), str(into / top))


def copy_server(into: Path) -> None:
    shutil.copytree(REPO / "server" / "heaplens", into / "heaplens",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))


def clean(directory: Path) -> None:
    """No caches or console scripts: they would be stale or point at this machine's Python."""
    for cache in list(directory.rglob("__pycache__")):
        shutil.rmtree(cache)
    shutil.rmtree(directory / "bin", ignore_errors=True)


def build(target: str, out: Path) -> dict[str, object]:
    root = out / target
    shutil.rmtree(root, ignore_errors=True)
    common = root / "libs" / "common"
    roots = project_dependencies()
    env = {**MARKERS[target], "implementation_name": "cpython",
           "platform_python_implementation": "CPython", "python_version": PYTHONS[0],
           "python_full_version": PYTHONS[0] + ".0"}
    # The lowest Python needs the most backports (exceptiongroup, ...): they are harmless on
    # newer ones, so its closure is the common one.
    pip_install(target, PYTHONS[0], common, roots, deps=True)
    for _ in range(10):
        missing, specs = closure(common, roots, env)
        if not missing:
            break
        pip_install(target, PYTHONS[0], common, missing, deps=True)
    else:
        raise SystemExit(f"bundle.py: {target}: cannot complete {missing}")
    pinned = version_specific(common)
    tag = "cp" + PYTHONS[0].replace(".", "")
    for name, info in installed(common).items():
        if name in pinned:
            move_distribution(info, root / "libs" / tag)
    # The same release where it has wheels for every Python (tree-sitter's parse results must
    # not depend on the interpreter); else the newest the requirement allows (watchdog 6 has
    # no macOS wheel for 3.14, watchdog 7 none for 3.10).
    for python in PYTHONS[1:]:
        into = root / "libs" / ("cp" + python.replace(".", ""))
        try:
            pip_install(target, python, into, [f"{n}=={v}" for n, v in sorted(pinned.items())],
                        deps=False)
        except SystemExit:
            for name, version in sorted(pinned.items()):
                try:
                    pip_install(target, python, into, [f"{name}=={version}"], deps=False)
                except SystemExit:
                    pip_install(target, python, into, [specs[name]], deps=False)
    for directory in (root / "libs").iterdir():
        clean(directory)
    copy_server(root / "server")
    shutil.copy2(EXTENSION / "python" / "launch.py", root / "launch.py")
    summary = {
        "target": target,
        "pythons": PYTHONS,
        "versionSpecific": {
            d.name: {n: i.name.removesuffix(".dist-info").rsplit("-", 1)[1]
                     for n, i in sorted(installed(d).items())}
            for d in sorted((root / "libs").glob("cp*"))
        },
        "distributions": {n: i.name.removesuffix(".dist-info").rsplit("-", 1)[1]
                          for n, i in sorted(installed(common).items())},
    }
    (root / "bundle.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="+", choices=sorted(PLATFORMS))
    parser.add_argument("--out", type=Path, default=EXTENSION / ".cache" / "bundle")
    args = parser.parse_args()
    with ThreadPoolExecutor(max_workers=len(args.targets)) as pool:
        for summary in pool.map(lambda t: build(t, args.out), args.targets):
            print(f"bundle.py: {summary['target']}: {len(summary['distributions'])} "
                  f"distributions, compiled per Python: {summary['versionSpecific']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

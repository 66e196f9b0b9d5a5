"""A corpus for measuring heaplens against the compiler's own ``-m`` verdicts.

Two kinds of case:

* **GOROOT packages** (``GOROOT_PACKAGES``), copied as they are into a scratch module
  (only the module changes: their imports are all public standard packages), compiled live
  by heaplens's ``Engine`` and by ``go build -gcflags=-m`` in the same module.
* **Real modules**, recorded by ``fixtures/record_recall.py`` under ``fixtures/recall/``:
  the packages' own sources, the ``-json`` log exactly as heaplens read it, and the ``-m``
  output, all with placeholders for the directories they were made in. They are
  classified offline, as ``test_recorded_logs`` does.

``recall`` compares one case: a finding *covers* a verdict when their kinds agree and the
verdict's point lies within the finding's range (its end included); a heap or leak
finding that covers no verdict is *invented*. ``all_cases`` is the whole corpus, for any
test that wants every finding of it (user-facing texts, say).
"""

from __future__ import annotations

import atexit
import functools
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from heaplens import compiler_output, findings
from heaplens.analysis import Engine, Options
from heaplens.analysis.sources import Sources
from heaplens.cache import ResultCache
from heaplens.model import Finding, Kind, Position

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "fixtures" / "recall"

#: Standard packages whose imports are all public standard packages, so that a copy
#: compiles under another module path. Varied: compression, parsers, encoders, a walker.
GOROOT_PACKAGES = (
    "bufio",
    "compress/flate",
    "encoding/csv",
    "encoding/json",
    "encoding/xml",
    "go/ast",
    "image/png",
    "regexp/syntax",
    "text/template/parse",
)
SCRATCH_MODULE = "recall.example"

#: The kinds ``-m`` has verdicts for.
VERDICT_KINDS = frozenset({Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP, Kind.LEAKING_PARAM})

_LINE = re.compile(r"^(?P<file>[^\s:][^:]*\.go):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$")


@dataclass(frozen=True, order=True)
class Verdict:
    """One ``-m`` line about a value's or a parameter's fate."""

    file: str
    position: Position
    kind: Kind
    message: str


def verdict_kind(message: str) -> Kind | None:
    """The kind of an ``-m`` message, or None for what is no verdict of ours (``does not
    escape``, inlining, ``zero-copy``...)."""
    if message.startswith("moved to heap: "):
        return Kind.MOVED_TO_HEAP
    if message.endswith(" escapes to heap"):
        return Kind.ESCAPES_TO_HEAP
    if message.startswith(("leaking param: ", "leaking param content: ")):
        return Kind.LEAKING_PARAM
    return None


def parse_m(text: str, cwd: Path, files: set[str]) -> list[Verdict]:
    """The verdicts of ``-m`` output (run in ``cwd``) about ``files`` (absolute paths).
    A line printed twice (a generic function's instantiations) is one verdict."""
    out: set[Verdict] = set()
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        kind = verdict_kind(m["msg"])
        path = os.path.normpath(os.path.join(cwd, m["file"]))
        if kind is None or path not in files:
            continue
        out.add(Verdict(path, Position(int(m["line"]), int(m["col"])), kind, m["msg"]))
    return sorted(out)


@dataclass
class Case:
    name: str
    #: The module the case was compiled in (or unpacked to).
    root: Path
    #: The packages' own files, absolute.
    files: set[str]
    findings: list[Finding]
    verdicts: list[Verdict]


@dataclass
class Recall:
    name: str
    verdicts: int
    covered: int
    missed: list[Verdict] = field(default_factory=list)
    invented: list[Finding] = field(default_factory=list)
    #: Points where ``-m`` has more heap verdicts of a kind (different values, one
    #: place) than heaplens has findings there: told apart by the compiler, merged by
    #: us. (A parameter's leaks are one finding by design, whatever ``-m`` prints.)
    merged: list[tuple[str, Position, Kind, int, int]] = field(default_factory=list)

    @property
    def perfect(self) -> bool:
        return not self.missed and not self.invented


def _covers(f: Finding, v: Verdict) -> bool:
    return f.file == v.file and f.kind is v.kind and f.range.start <= v.position <= f.range.end


def recall(case: Case) -> Recall:
    shown = [f for f in case.findings if f.kind in VERDICT_KINDS and f.file in case.files]
    by_place: dict[tuple[str, Kind, int], list[Finding]] = {}
    for f in shown:
        for line in range(f.range.start.line, f.range.end.line + 1):
            by_place.setdefault((f.file, f.kind, line), []).append(f)
    used: set[int] = set()
    out = Recall(case.name, len(case.verdicts), 0)
    at_point: dict[tuple[str, Position, Kind], int] = {}
    for v in case.verdicts:
        covering = [f for f in by_place.get((v.file, v.kind, v.position.line), []) if _covers(f, v)]
        if covering:
            out.covered += 1
            used.update(id(f) for f in covering)
        else:
            out.missed.append(v)
        if v.kind is not Kind.LEAKING_PARAM:
            place = (v.file, v.position, v.kind)
            at_point[place] = at_point.get(place, 0) + 1
    out.invented = [f for f in shown if id(f) not in used]
    for (file, pos, kind), n in sorted(at_point.items()):
        if n > 1:
            ours = sum(1 for f in shown if f.file == file and f.kind is kind and f.point == pos)
            if ours < n:
                out.merged.append((file, pos, kind, n, ours))
    return out


def table(results: list[Recall]) -> str:
    """A summary, one line per case."""
    rows = [("case", "verdicts", "covered", "missed", "invented", "recall")]
    for r in results:
        pct = 100.0 * r.covered / r.verdicts if r.verdicts else 100.0
        rows.append(
            (
                r.name,
                str(r.verdicts),
                str(r.covered),
                str(len(r.missed)),
                str(len(r.invented)),
                f"{pct:.1f}%",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    return "\n".join(lines)


def details(r: Recall, root: Path, limit: int = 15) -> str:
    """What a case missed and invented, the first ``limit`` of each."""

    def rel(path: str) -> str:
        return os.path.relpath(path, root)

    out = [f"{r.name}: {len(r.missed)} missed, {len(r.invented)} invented"]
    for v in r.missed[:limit]:
        out.append(f"  missed   {rel(v.file)}:{v.position.line}:{v.position.column}: {v.message}")
    for f in r.invented[:limit]:
        s = f.range.start
        out.append(f"  invented {rel(f.file)}:{s.line}:{s.column}: {f.kind.value}: {f.message}")
    more = max(0, len(r.missed) - limit) + max(0, len(r.invented) - limit)
    if more:
        out.append(f"  ... and {more} more")
    return "\n".join(out)


# -- GOROOT packages, live -----------------------------------------------------------------


def _go_env() -> dict[str, str]:
    return dict(os.environ, GOTOOLCHAIN="local", GOPROXY="off", GOFLAGS="-mod=mod")


def _scratch_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


@functools.cache
def goroot_cases() -> tuple[Case, ...]:
    """Each of ``GOROOT_PACKAGES``, copied into one scratch module and compiled by
    heaplens and by ``go build -gcflags=-m`` there."""
    env = _go_env()
    module = _scratch_dir("heaplens-recall-") / "goroot"
    module.mkdir()
    version = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    minor = re.match(r"go(\d+\.\d+)", version)
    assert minor is not None, version
    (module / "go.mod").write_text(f"module {SCRATCH_MODULE}\n\ngo {minor.group(1)}\n")
    listed = subprocess.run(
        ["go", "list", "-json=ImportPath,Dir,GoFiles", *GOROOT_PACKAGES],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    files_of: dict[str, set[str]] = {}
    for obj in _objects(listed):
        target = module / obj["ImportPath"]
        target.mkdir(parents=True)
        for name in obj["GoFiles"]:
            shutil.copyfile(Path(obj["Dir"]) / name, target / name)
        files_of[obj["ImportPath"]] = {str(target / n) for n in obj["GoFiles"]}

    result = Engine(Options(tests=False), ResultCache(None)).check(["./..."], str(module))
    assert not result.all_errors, result.all_errors[:3]
    m = subprocess.run(
        ["go", "build", "-gcflags=-m", "./..."], cwd=module, capture_output=True, text=True, env=env
    )
    assert m.returncode == 0, m.stderr[-2000:]
    cases = []
    for path in GOROOT_PACKAGES:
        files = files_of[path]
        cases.append(
            Case(
                name=path,
                root=module,
                files=files,
                findings=[f for f in result.findings if f.file in files],
                verdicts=parse_m(m.stderr, module, files),
            )
        )
    return tuple(cases)


def _objects(stream: str) -> list[dict[str, object]]:
    """The JSON objects ``go list -json`` prints one after another."""
    decoder = json.JSONDecoder()
    out = []
    i = 0
    while True:
        while i < len(stream) and stream[i].isspace():
            i += 1
        if i >= len(stream):
            return out
        obj, i = decoder.raw_decode(stream, i)
        out.append(obj)


# -- real modules, recorded -----------------------------------------------------------------

#: Placeholders in recordings (``record_recall.py``).
MODULE_MARK = "@MODULE@"
GOROOT_MARK = "@GOROOT@"
MODCACHE_MARK = "@GOMODCACHE@"


def recordings() -> list[Path]:
    return sorted(RECORDED.glob("*.tar.gz"))


@functools.cache
def recorded_cases() -> tuple[Case, ...]:
    """Each package of each recording, classified from its log as the engine would."""
    cases: list[Case] = []
    for archive in recordings():
        cases.extend(_recorded(archive))
    return tuple(cases)


def _recorded(archive: Path) -> list[Case]:
    name = archive.name.removesuffix(".tar.gz")
    root = _scratch_dir(f"heaplens-recall-{name}-") / name
    root.mkdir()
    members: dict[str, bytes] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                data = tar.extractfile(member)
                assert data is not None
                members[member.name] = data.read()
    meta = json.loads(members.pop("meta.json"))
    m_text = members.pop("m.txt").decode()
    logs: list[compiler_output.LogFile] = []
    for path, data in members.items():
        if path.startswith("src/"):
            target = root / path[len("src/") :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    for path, data in members.items():
        if path.startswith("log/"):
            text = data.replace(MODULE_MARK.encode(), str(root).encode())
            package, log_name = path[len("log/") :].rsplit("/", 1)
            first = text.split(b"\n", 1)[0]
            header = json.loads(first).get("file")
            logs.append(compiler_output.LogFile(package, header, text, log_name))
    log = compiler_output.RawLog(files=logs)

    cases = []
    for pkg in meta["packages"]:
        files = sorted(str(root / f) for f in pkg["files"])
        raw = log.parse(only_about=set(files))
        assert raw.go_version == meta["go_version"], (raw.go_version, meta["go_version"])
        sources = Sources({})
        classified = findings.classify(
            raw,
            files,
            sources.get,
            sources.scope_for(files),
            sources.init_closures_before_for(files),
        )
        name = f"{meta['module']}/{pkg['dir']}" if pkg["dir"] else meta["module"]
        cases.append(
            Case(
                name=name,
                root=root,
                files=set(files),
                findings=classified.findings,
                verdicts=parse_m(m_text, root, set(files)),
            )
        )
    return cases


def all_cases() -> tuple[Case, ...]:
    """Every case: the recorded real modules (offline) and the GOROOT packages (live)."""
    return recorded_cases() + goroot_cases()


def findings_by_case() -> dict[str, list[Finding]]:
    """Every finding of the corpus, by case: for tests that scan what users are shown."""
    return {c.name: c.findings for c in all_cases()}


def pack(files: dict[str, bytes]) -> bytes:
    """A recording's archive (``record_recall.py``): members sorted, times zeroed, so that
    recording the same thing twice gives the same bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    return gzip.compress(buf.getvalue(), compresslevel=9, mtime=0)

"""The parser and classifier on logs recorded from three Go versions (see
``fixtures/record_logs.py``): the oldest supported, this machine's, and a newer one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, MODULES
from heaplens import compiler_output, findings
from heaplens.model import Finding, Kind
from heaplens.syntax import SourceFile

LOGS = FIXTURES / "logs"
VERSIONS = sorted(p.name for p in LOGS.iterdir() if p.is_dir())


def test_three_versions_are_recorded() -> None:
    minors = sorted(int(v.split(".")[1]) for v in VERSIONS)
    assert len(minors) >= 3 and minors[0] == 21, VERSIONS


def _classify(version: str, variant: str, module: Path) -> list[Finding]:
    log_dir = module.parent / f"log-{variant}"
    shutil.copytree(LOGS / version / variant, log_dir)
    for path in log_dir.rglob("*.json"):
        path.write_text(path.read_text().replace("@MODULE@", str(module)))
    raw = compiler_output.read_log_dir(str(log_dir))
    assert raw.go_version == version
    files = [str(p) for p in module.rglob("*.go")]
    sources = {f: SourceFile(f, Path(f).read_bytes()) for f in files}

    def package_vars(path: str) -> frozenset[str]:
        d = Path(path).parent
        return frozenset().union(
            *(s.package_vars() for f, s in sources.items() if Path(f).parent == d)
        )

    result = findings.classify(raw, files, sources.get, package_vars)
    assert result.unknown == [], result.unknown[:5]
    return result.findings


def _one(found: list[Finding], **want: object) -> Finding:
    hits = [f for f in found if all(getattr(f, k) == v for k, v in want.items())]
    assert len(hits) == 1, (want, [(f.kind, f.function, f.message) for f in found])
    return hits[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_core_findings_in_every_version(version: str, tmp_path: Path) -> None:
    module = tmp_path / "corpus"
    shutil.copytree(MODULES / "corpus", module)
    found = _classify(version, "plain", module)
    esc = str(module / "esc" / "esc.go")
    heap = [f for f in found if f.file == esc]

    ret = _one(heap, function="NewConfig", kind=Kind.ESCAPES_TO_HEAP)
    assert ret.message == "&Config{...} escapes to heap" and ret.reason == "returned to the caller"
    assert ret.flow and ret.flow[-1].why == "return" and ret.flow[-1].dst == "~r0"
    assert _one(heap, function="Store", kind=Kind.ESCAPES_TO_HEAP).reason == (
        "stored in a package variable (global)"
    )
    assert _one(heap, function="Moved", kind=Kind.MOVED_TO_HEAP).message == "moved to heap: x"
    assert _one(heap, function="Closure", kind=Kind.MOVED_TO_HEAP).reason == "captured by a closure"
    assert _one(heap, function="Sprint", message="n escapes to heap").reason == (
        "converted to an interface for fmt.Sprint"
    )
    assert _one(heap, function="UseTotal", kind=Kind.ESCAPES_TO_HEAP).reason == (
        "converted to an interface for Total"
    )
    assert _one(heap, function="Big", kind=Kind.ESCAPES_TO_HEAP).reason == "too large for the stack"
    assert _one(heap, message="leaking param: p to result ~r0 level=0").function == "Leak"
    assert _one(heap, message="leaking param content: p").function == "LeakContent"
    assert _one(heap, message="leaking param: w").function == "Enc"
    assert _one(heap, function="(*Config).Clone", kind=Kind.MOVED_TO_HEAP)
    unicode = _one(heap, function="Unicode", kind=Kind.ESCAPES_TO_HEAP)
    line = (module / "esc" / "esc.go").read_bytes().splitlines()[unicode.range.start.line - 1]
    assert unicode.range.start.column == line.index(b"&Point{X: 1}") + 1
    assert _one(heap, kind=Kind.CANNOT_INLINE, function="Total").message.endswith("go:noinline")
    assert _one(heap, kind=Kind.INLINING, function="NewConfig").message.startswith(
        "can inline NewConfig with cost"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_test_logs_in_every_version(version: str, tmp_path: Path) -> None:
    module = tmp_path / "corpus"
    shutil.copytree(MODULES / "corpus", module)
    found = _classify(version, "test", module)
    internal = str(module / "tested" / "tested_test.go")
    assert _one(found, file=internal, message="new(int) escapes to heap").function == "TestMake"
    assert any(f.file == str(module / "tested" / "ext_test.go") for f in found)


def _log_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted(LOGS.rglob("*.json")):
        lines.extend(path.read_text().splitlines())
    return lines


LINES = _log_lines()


@st.composite
def mutated_logs(draw: st.DrawFn) -> str:
    picked = draw(st.lists(st.sampled_from(LINES), min_size=1, max_size=12))
    out = []
    for line in picked:
        op = draw(st.sampled_from(["keep", "cut", "insert", "replace", "swap-arrow", "junk"]))
        if op == "cut" and line:
            out.append(line[: draw(st.integers(0, len(line)))])
        elif op == "insert":
            i = draw(st.integers(0, len(line)))
            out.append(line[:i] + draw(st.text(max_size=8)) + line[i:])
        elif op == "replace" and line:
            i = draw(st.integers(0, len(line) - 1))
            out.append(line[:i] + draw(st.characters()) + line[i + 1 :])
        elif op == "swap-arrow":
            out.append(line.replace("←", "=").replace("escapes", "escapes escapes"))
        elif op == "junk":
            out.append(draw(st.text(max_size=60)))
        else:
            out.append(line)
    return "\n".join(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_logs())
def test_mutated_compiler_lines_never_raise(text: str) -> None:
    raw = compiler_output.RawOutput()
    compiler_output.parse_lines(text, raw)
    files = {d.file for d in raw.diagnostics}
    src = SourceFile("/nonexistent/x.go", b"package x\n\nfunc F() *int { x := 1; return &x }\n")
    findings.classify(raw, files, lambda _p: src, lambda _p: frozenset())
    findings.classify(raw, files, lambda _p: None, lambda _p: frozenset())

"""The parser and classifier on logs recorded from three Go versions (see
``fixtures/record_logs.py``): the oldest supported, this machine's, and a newer one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, MODULES
from corpus_facts import check_esc_facts, check_test_facts, rows_of
from heaplens import compiler_output, findings
from heaplens.model import Finding
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

    def scope(path: str) -> findings.PackageScope:
        d = Path(path).parent
        return findings.PackageScope.of(s for f, s in sources.items() if Path(f).parent == d)

    result = findings.classify(raw, files, sources.get, scope)
    assert result.unknown == [], result.unknown[:5]
    return result.findings


@pytest.mark.parametrize("version", VERSIONS)
def test_core_findings_in_every_version(version: str, tmp_path: Path) -> None:
    module = tmp_path / "corpus"
    shutil.copytree(MODULES / "corpus", module)
    rows = rows_of(_classify(version, "plain", module))
    # The recorded log's paths are the recording machine's: each finding lands in this copy.
    assert rows and all(Path(r["file"]).is_relative_to(module) for r in rows)
    check_esc_facts(rows, module)


@pytest.mark.parametrize("version", VERSIONS)
def test_test_logs_in_every_version(version: str, tmp_path: Path) -> None:
    module = tmp_path / "corpus"
    shutil.copytree(MODULES / "corpus", module)
    rows = rows_of(_classify(version, "test", module))
    # The recorded log's paths are the recording machine's: each finding lands in this copy.
    assert rows and all(Path(r["file"]).is_relative_to(module) for r in rows)
    check_test_facts(rows, module)


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
    for source in (src, None):
        result = findings.classify(
            raw, files, lambda _p, s=source: s, lambda _p: findings.PackageScope()
        )
        # Whatever the mangling, a finding is about a file the log named, at a line of it.
        assert {f.file for f in result.findings} <= files
        assert all(f.range.start.line >= 1 for f in result.findings)
        if not raw.diagnostics:
            assert not result.findings  # nothing parsed, nothing invented


def test_malformed_uris_are_placeholders_not_crashes() -> None:
    """hypothesis once found ``file://[x``: urlsplit raises on a bad IPv6 host."""
    header = (
        '{"version":0,"package":"p","goos":"linux","goarch":"amd64",'
        '"gc_version":"go1.26","file":"/m/p.go"}'
    )
    diag = (
        '{"range":{"start":{"line":3,"character":2},"end":{"line":3,"character":2}},'
        '"severity":3,"code":"escape","source":"go compiler","message":"escape",'
        '"relatedInformation":[{"location":{"uri":"file://[x","range":{"start":'
        '{"line":3,"character":2},"end":{"line":3,"character":2}}},"message":"escflow: x"}]}'
    )
    raw = compiler_output.RawOutput()
    compiler_output.parse_lines(header + "\n" + diag, raw)
    assert len(raw.diagnostics) == 1
    assert [r.file for r in raw.diagnostics[0].related] == [None]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["go.shape.", "[", "]", "int", " ", "{", "}", "(", ")", "F", ","]),
        max_size=30,
    )
)
def test_generic_shapes_are_tidied_away_from_any_text(parts: list[str]) -> None:
    from heaplens.wording import tidy

    text = "".join(parts)
    assert "go.shape." not in tidy(text)

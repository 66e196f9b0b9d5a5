"""Inputs for testing ``classify``'s and ``explain``'s rules one at a time: the records of a
log recorded from the real compiler (go1.26.8 on ``corpus/esc``, see
``fixtures/record_logs.py``), and records and flows written in that log's own JSON shape
for what the recording has no example of."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from conftest import FIXTURES, MODULES
from heaplens import compiler_output, findings
from heaplens.compiler_output import RawDiagnostic
from heaplens.model import FlowStep
from heaplens.syntax import SourceFile

_LOG = FIXTURES / "logs" / "go1.26.8" / "plain" / "example.com%2Fcorpus%2Fesc" / "esc.json"
#: The recorded log's source, read in place: its positions are this file's.
ESC_GO = str(MODULES / "corpus" / "esc" / "esc.go")


@functools.cache
def _recorded() -> tuple[RawDiagnostic, ...]:
    raw = compiler_output.RawOutput()
    compiler_output.parse_lines(_LOG.read_text().replace("@MODULE@", str(MODULES / "corpus")), raw)
    assert raw.diagnostics and raw.unknown == [], raw.unknown
    return tuple(raw.diagnostics)


def recorded(code: str, line: int, message: str = "") -> RawDiagnostic:
    """The recorded record of ``code`` on ``line`` whose message starts with ``message``
    (an empty ``message`` asks for the empty verdict where one exists)."""
    for d in _recorded():
        if d.code != code or d.position.line != line:
            continue
        if d.message.startswith(message) and (message or not d.message or code != "escape"):
            return d
    raise LookupError((code, line, message))


@functools.cache
def esc_source() -> SourceFile:
    return SourceFile(ESC_GO, Path(ESC_GO).read_bytes())


def lookups(*files: SourceFile) -> findings._Lookups:
    """Lookups over ``files`` (the recorded source when none is given)."""
    sources = {s.path: s for s in files or (esc_source(),)}
    scope = findings.PackageScope.of(sources.values())
    return findings._Lookups(sources.get, lambda _path: scope)


def record(
    file: str,
    code: str,
    message: str,
    line: int,
    column: int,
    related: tuple[tuple[int, int, str], ...] = (),
) -> RawDiagnostic:
    """A record as the compiler's ``-json`` log writes it, parsed by the real parser.
    ``related`` are (line, column, message) entries, ``escflow: ...`` as the log has them."""

    def at(ln: int, col: int) -> dict[str, object]:
        return {"start": {"line": ln, "character": col}, "end": {"line": ln, "character": col}}

    obj: dict[str, object] = {
        "range": at(line, column),
        "severity": 3,
        "code": code,
        "source": "go compiler",
        "message": message,
    }
    if related:
        obj["relatedInformation"] = [
            {"location": {"uri": f"file://{file}", "range": at(ln, col)}, "message": text}
            for ln, col, text in related
        ]
    header = {"version": 0, "package": "p", "gc_version": "go1.26.8", "file": file}
    raw = compiler_output.RawOutput()
    compiler_output.parse_lines(f"{json.dumps(header)}\n{json.dumps(obj)}", raw)
    assert len(raw.diagnostics) == 1, raw.unknown
    return raw.diagnostics[0]


def flow(*entries: str, file: str = "/m/p/p.go", line: int = 3) -> tuple[FlowStep, ...]:
    """The flow the real flow parser reads from ``escflow:`` entries, one per line of the
    source from ``line`` on: ``flow(" flow: ~r0 ← &x:", "   from &x (address-of)")``."""
    related = tuple((line + i, 2, f"escflow: {text}") for i, text in enumerate(entries))
    return findings.parse_flow(record(file, "escape", "x escapes to heap", line, 2, related))

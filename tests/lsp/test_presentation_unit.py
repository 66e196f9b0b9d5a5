"""What the editor shows of a finding, from the finding and the text alone: diagnostics,
their JSON, the stale and excluded notes, inlay hints, hover text."""

from __future__ import annotations

import json

import orjson
from lsprotocol import types
from pygls.protocol import default_converter

from heaplens.lsp.convert import lines_of
from heaplens.lsp.presentation import (
    diagnostic,
    encode,
    excluded_note,
    findings_at,
    hover_markdown,
    inlay_hint,
    package_clause_range,
    stale_hint,
)
from heaplens.lsp.settings import Settings
from heaplens.model import Finding, Fix, FlowStep, Kind, Location, Position, Range, Reason
from heaplens.model import ReasonCode as Code

A = "/w/a.go"
B = "/w/b.go"
# An astral character before the finding: 4 bytes, 2 UTF-16 units, 1 code point.
SOURCE = 'package main\n\nfunc f() { _ = "😀"; fmt.Println(x) }\n'.encode()
COLUMN = SOURCE.split(b"\n")[2].index(b"x)") + 1
OTHER_LINES = {
    A: lines_of(SOURCE),
    B: lines_of(b"package main\n\n\n\n\n\nfunc g() {\n\tkeep(y)\n}\n"),
}


def _finding(kind: Kind = Kind.ESCAPES_TO_HEAP, **changes: object) -> Finding:
    values: dict[str, object] = dict(
        kind=kind,
        file=A,
        range=Range(Position(3, COLUMN), Position(3, COLUMN + 1)),
        message="x escapes to heap",
        reason=Reason(Code.INTERFACE, "fmt.Println"),
        function="main.f",
        flow=(
            FlowStep(Location(A, Position(3, COLUMN)), "x", "interface-converted", "{heap}"),
            FlowStep(
                Location(B, Position(8, 2)),
                "y",
                "call parameter",
                "{heap}",
                inlined_from=Location("/w/c.go", Position(4, 1)),
            ),
        ),
        subject="x",
        fixes=(Fix("hoist", "Hoist it", True), Fix("other", "Not verified", False)),
    )
    values.update(changes)
    return Finding(**values)  # type: ignore[arg-type]


def _diagnostic(f: Finding, encoding: str = "utf-16", **kwargs: object) -> types.Diagnostic:
    options: dict[str, object] = dict(settings=Settings(), related_support=True, stale=False)
    options.update(kwargs)
    return diagnostic(
        f,
        lines_of(SOURCE),
        OTHER_LINES.__getitem__,
        encoding,  # type: ignore[arg-type]
        options["settings"],  # type: ignore[arg-type]
        bool(options["related_support"]),
        bool(options["stale"]),
    )


def test_a_diagnostic_is_in_the_clients_units() -> None:
    utf16 = _diagnostic(_finding()).range
    utf8 = _diagnostic(_finding(), "utf-8").range
    # The emoji is 4 bytes and 2 UTF-16 units: the columns differ by 2.
    assert (utf16.start.line, utf16.start.character) == (2, COLUMN - 1 - 2)
    assert (utf8.start.line, utf8.start.character) == (2, COLUMN - 1)
    assert utf16.end.character - utf16.start.character == 1


def test_a_diagnostic_says_why_and_carries_the_facts() -> None:
    d = _diagnostic(_finding())
    assert d.source == "heaplens" and d.code == "escapes-to-heap"
    assert d.message == "x escapes to heap: converted to an interface for fmt.Println"
    assert d.severity == types.DiagnosticSeverity.Information  # the default for the kind
    assert d.data["kind"] == "escapes-to-heap" and d.data["reason_code"] == "interface"
    assert d.data["range"] == [3, COLUMN, 3, COLUMN + 1]
    # Only verified fixes are announced.
    assert d.data["fixes"] == [{"kind": "hoist", "title": "Hoist it", "verified": True}]
    assert d.data["stale"] is False and d.data["count"] == 1


def test_severity_follows_the_settings() -> None:
    settings = Settings(severity={**Settings().severity, "escapes-to-heap": "error"})
    assert _diagnostic(_finding(), settings=settings).severity == types.DiagnosticSeverity.Error


def test_the_flow_is_related_information_or_else_in_the_message() -> None:
    related = _diagnostic(_finding()).related_information
    assert related is not None and len(related) == 2
    second = related[1]
    assert second.location.uri == "file:///w/b.go"
    assert (second.location.range.start.line, second.location.range.start.character) == (7, 1)
    assert second.message == "y (call parameter) (inlined from c.go:4)"
    folded = _diagnostic(_finding(), related_support=False)
    assert folded.related_information is None
    assert "\n  ← y (call parameter) (inlined from c.go:4)" in folded.message


def test_a_stale_diagnostic_says_so() -> None:
    d = _diagnostic(_finding(), stale=True)
    assert d.message.endswith(" (from the last build that compiled)")
    assert d.data["stale"] is True


def test_encoding_is_what_pygls_would_send() -> None:
    d = _diagnostic(_finding())
    expected = default_converter().unstructure(d)  # type: ignore[no-untyped-call]
    assert orjson.loads(encode(d)) == expected


def test_a_lone_surrogate_is_escaped_not_refused() -> None:
    d = _diagnostic(_finding(subject="\ud800", message="\ud800 escapes to heap"))
    assert json.loads(encode(d))["data"]["subject"] == "\ud800"


def test_notes_sit_on_the_package_clause() -> None:
    assert package_clause_range(SOURCE) == Range(Position(1, 1), Position(1, 13))
    lines = lines_of(SOURCE)
    hint = stale_hint(SOURCE, lines, "utf-16", "a.go:3 does not compile")
    assert hint.range.end.character == 12 and hint.severity == types.DiagnosticSeverity.Hint
    assert "(a.go:3 does not compile)" in hint.message
    note = excluded_note(SOURCE, lines, "utf-16", "left out by its build constraints")
    assert note.message == "heaplens: left out by its build constraints."
    assert package_clause_range(b"// no package clause\n") == Range(Position(1, 1), Position(1, 1))


def test_an_inlay_hint_ends_the_finding_and_links_where_it_goes() -> None:
    hint = inlay_hint(_finding(), lines_of(SOURCE), OTHER_LINES.__getitem__, "utf-16")
    assert (hint.position.line, hint.position.character) == (2, COLUMN - 1 - 2 + 1)
    assert isinstance(hint.label, list)
    part = hint.label[0]
    assert part.value == "↑heap: interface"
    assert part.location is not None and part.location.uri == "file:///w/b.go"
    assert isinstance(part.tooltip, types.MarkupContent) and "`x`" in part.tooltip.value


def test_hover_tells_the_flow_and_the_advice() -> None:
    text = hover_markdown(_finding())
    assert text.startswith("**heaplens** · escapes to the heap")
    assert "`x` escapes to the heap in `main.f`: converted to an interface" in text
    assert "1. `x` (interface-converted)" in text
    # A compiler name ({heap}) is said in words.
    assert "2. `y` (call parameter) → `the heap` — [b.go:8](file:///w/b.go#L8)" in text
    assert "(inlined from [c.go:4](file:///w/c.go#L4))" in text
    assert "**Keep it on the stack:**" in text
    assert "does not compile now" not in text
    assert "does not compile now" in hover_markdown(_finding(), stale=True)


def test_an_inlining_note_has_no_advice() -> None:
    note = _finding(Kind.CANNOT_INLINE, reason=Reason(Code.INLINING, "too complex"), flow=())
    text = hover_markdown(note)
    assert text.startswith("**heaplens** · cannot be inlined")
    assert "Keep it on the stack" not in text and "How it gets there" not in text


def test_findings_at_a_position_innermost_first() -> None:
    outer = _finding(range=Range(Position(3, 1), Position(5, 2)))
    inner = _finding(range=Range(Position(3, 5), Position(3, 9)))
    elsewhere = _finding(range=Range(Position(9, 1), Position(9, 3)))
    assert findings_at([outer, elsewhere, inner], Position(3, 9)) == [inner, outer]
    assert findings_at([outer, inner], Position(6, 1)) == []

"""The document store moves findings through random edits exactly as the text moves.

The invariant (``documents.py``): after any sequence of edits, in any bursts, read at
any moment, each finding is either dropped (an edit cut through its range), or still
in the document with the same text (the edits were before or after it), or stretched
around an edit made inside it (its text is the old text with the edit applied). Every
position stays on the document's text, and positions in other files never move. The
test keeps a model of each finding as byte offsets, moved through each edit by offset
arithmetic, and compares the store with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from heaplens.lsp.documents import DocumentStore, FileFindings
from heaplens.model import Finding, FlowStep, Kind, Location, Position, Range, Reason, ReasonCode

PATH = "/work/doc.go"
OTHER = "/work/other.go"
URI = "file:///work/doc.go"
ALPHABET = "ab é日😀\n"
ELSEWHERE = Location(OTHER, Position(3, 4))


def _offset(text: bytes, p: Position) -> int:
    """The byte offset of ``p``; fails the test if ``p`` is not on ``text``."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == 0x0A]
    assert 1 <= p.line <= len(starts), f"{p} is below the last line"
    end = starts[p.line] - 1 if p.line < len(starts) else len(text)  # the line's "\n"
    offset = starts[p.line - 1] + p.column - 1
    assert starts[p.line - 1] <= offset <= end, f"{p} is outside its line"
    return offset


def _position(text: bytes, offset: int) -> Position:
    line_start = text.rfind(b"\n", 0, offset) + 1
    return Position(text.count(b"\n", 0, offset) + 1, offset - line_start + 1)


@dataclass(frozen=True)
class Model:
    """A finding as byte offsets: its range, its point, its flow step in this file, its
    text before any edit, and whether an edit was made inside it."""

    start: int
    end: int
    point: int
    step: int
    text: bytes
    stretched: bool = False

    def finding(self, text: bytes) -> Finding:
        def at(offset: int) -> Position:
            return _position(text, offset)

        return Finding(
            kind=Kind.ESCAPES_TO_HEAP,
            file=PATH,
            range=Range(at(self.start), at(self.end)),
            message="x escapes to heap",
            reason=Reason(ReasonCode.UNEXPLAINED),
            function="f",
            flow=(
                FlowStep(Location(PATH, at(self.step)), "x", "flow", "{heap}"),
                FlowStep(ELSEWHERE, "y", "call parameter", "{heap}"),
            ),
            point=at(self.point),
        )

    def through(self, a: int, b: int, inserted: int) -> Model | None:
        """Moved through the replacement of bytes ``a``..``b`` by ``inserted`` bytes."""
        delta = inserted - (b - a)

        def position(o: int) -> int:
            return o if o <= a else o + delta if o >= b else a

        stretched = self.stretched
        if self.end <= a:
            start, end = self.start, self.end
        elif self.start >= b:
            start, end = self.start + delta, self.end + delta
        elif self.start <= a and b <= self.end:
            start, end, stretched = self.start, self.end + delta, True  # typed inside
        else:
            return None  # cut through: the text it described is gone
        return Model(start, end, position(self.point), position(self.step), self.text, stretched)


def _lsp_position(text: str, index: int) -> types.Position:
    before = text[:index]
    line_start = before.rfind("\n") + 1
    units = len(before[line_start:].encode("utf-16-le")) // 2
    return types.Position(line=before.count("\n"), character=units)


@dataclass(frozen=True)
class Change:
    """A replacement of characters ``i``..``j`` (taken modulo the text's length)."""

    i: int
    j: int
    inserted: str
    whole: bool

    def apply(self, text: str) -> tuple[str, types.TextDocumentContentChangeEvent, int, int]:
        """The new text, the change event, and the byte offsets it replaces (for a whole
        document change, as the store finds them: the common prefix and suffix)."""
        i, j = sorted((self.i % (len(text) + 1), self.j % (len(text) + 1)))
        new = text[:i] + self.inserted + text[j:]
        if not self.whole:
            rng = types.Range(start=_lsp_position(text, i), end=_lsp_position(text, j))
            event: types.TextDocumentContentChangeEvent = types.TextDocumentContentChangePartial(
                range=rng, text=self.inserted
            )
            return new, event, len(text[:i].encode()), len(text[:j].encode())
        old_b, new_b = text.encode(), new.encode()
        prefix = 0
        while prefix < min(len(old_b), len(new_b)) and old_b[prefix] == new_b[prefix]:
            prefix += 1
        suffix = 0
        limit = min(len(old_b), len(new_b)) - prefix
        while suffix < limit and old_b[-1 - suffix] == new_b[-1 - suffix]:
            suffix += 1
        whole = types.TextDocumentContentChangeWholeDocument(text=new)
        return new, whole, prefix, len(old_b) - suffix


changes = st.builds(
    Change,
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.text(alphabet=ALPHABET, max_size=6),
    st.booleans(),
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[Model]]:
    text = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=50))
    # Findings sit on character boundaries, as the compiler's positions do.
    bounds = sorted({len(text[:i].encode()) for i in range(len(text) + 1)})
    offsets = st.sampled_from(bounds)
    data = text.encode()
    models = []
    for _ in range(draw(st.integers(0, 8))):
        a, b = sorted((draw(offsets), draw(offsets)))
        models.append(Model(a, b, draw(offsets), draw(offsets), data[a:b]))
    return text, models


def _check(docs: DocumentStore, text: bytes, expected: list[Model | None]) -> None:
    """The store's findings are the model's, each on the text and, unless stretched,
    over the text it had."""
    kept = [m for m in expected if m is not None]
    found = docs.findings(PATH).findings
    assert [f.range for f in found] == [m.finding(text).range for m in kept]
    for f, m in zip(found, kept, strict=True):
        assert f.point is not None and f.flow[0].location is not None
        assert _offset(text, f.point) == m.point
        assert _offset(text, f.flow[0].location.position) == m.step
        assert f.flow[1].location == ELSEWHERE  # another file's position never moves
        start, end = _offset(text, f.range.start), _offset(text, f.range.end)
        assert start <= end
        if not m.stretched:
            assert text[start:end] == m.text


@settings(max_examples=300, deadline=None)
@given(
    documents(),
    st.lists(st.tuples(st.lists(changes, min_size=1, max_size=4), st.booleans()), max_size=6),
)
def test_findings_follow_their_text_through_any_edits(
    document: tuple[str, list[Model]], bursts: list[tuple[list[Change], bool]]
) -> None:
    text, models = document
    docs = DocumentStore()
    docs.open(URI, PATH, 1, text)
    docs.set_findings(PATH, FileFindings(tuple(m.finding(text.encode()) for m in models)))
    expected: list[Model | None] = list(models)
    for version, (burst, read) in enumerate(bursts, 2):
        events = []
        for change in burst:
            old = len(text.encode())
            text, event, a, b = change.apply(text)
            events.append(event)
            inserted = len(text.encode()) - (old - (b - a))
            expected = [m.through(a, b, inserted) if m else None for m in expected]
        docs.change(URI, version, events, "utf-16")
        doc = docs.get(URI)
        assert doc is not None and doc.text == text.encode()
        if read:  # read between bursts, or only at the end: pending edits pile up
            _check(docs, text.encode(), expected)
    # Hover and inlay hints read a few lines without moving the rest (``FindingView``):
    # what they see is what moving everything gives.
    view = docs.index(PATH)
    ranges = [m.finding(text.encode()).range for m in expected if m is not None]
    for line in range(1, text.count("\n") + 2):
        covering = [r for r in ranges if r.start.line <= line <= r.end.line]
        assert [f.range for f in view.on_line(line)] == covering
        ending = [r for r in ranges if r.end.line == line]
        assert [f.range for f in view.ending_on(line, line)] == ending
    _check(docs, text.encode(), expected)

"""What the editor shows: open documents' text, and the findings each file currently has.

Findings must follow the user's edits while a new analysis runs, instead of jumping or
vanishing. Each incremental change is turned into an ``Edit`` in byte coordinates against
the text it applied to, and every finding of the file is moved through it: findings
before the edit stay, findings after it shift, findings the edit cuts through are dropped
(the text they described is gone), and an edit inside a finding stretches it.

pygls keeps its own copy of each document for the protocol; this store keeps the bytes
the engine and the column conversions need, and the previous text an edit applies to.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

from lsprotocol import types

from ..model import Finding, FlowStep, Location, Position, Range
from ..positions import Encoding, line_offsets, units_to_byte


@dataclass(frozen=True)
class Edit:
    """A replacement: the text from ``start`` to ``old_end`` became text ending at
    ``new_end``. Positions are 1-based lines and 1-based byte columns."""

    start: Position
    old_end: Position
    new_end: Position

    def move(self, p: Position) -> Position:
        """Where a position at or after ``old_end`` ends up."""
        if p.line == self.old_end.line:
            return Position(self.new_end.line, self.new_end.column + p.column - self.old_end.column)
        return Position(p.line + self.new_end.line - self.old_end.line, p.column)

    def shift_range(self, r: Range) -> Range | None:
        if r.end <= self.start:
            return r
        if r.start >= self.old_end:
            return Range(self.move(r.start), self.move(r.end))
        if r.start <= self.start and self.old_end <= r.end:
            return Range(r.start, self.move(r.end))  # typed inside: stretch
        return None

    def shift_position(self, p: Position) -> Position:
        if p <= self.start:
            return p
        if p >= self.old_end:
            return self.move(p)
        return self.start


def _end_of(text: bytes, start: Position, inserted: bytes) -> Position:
    newlines = inserted.count(b"\n")
    if not newlines:
        return Position(start.line, start.column + len(inserted))
    return Position(start.line + newlines, len(inserted) - inserted.rfind(b"\n"))


def _position_at(offsets: list[int], offset: int) -> Position:
    import bisect

    index = bisect.bisect_right(offsets, offset) - 1
    return Position(index + 1, offset - offsets[index] + 1)


def apply_change(
    text: bytes, change: types.TextDocumentContentChangeEvent, encoding: Encoding
) -> tuple[bytes, Edit]:
    """Apply one content change; return the new text and the edit it amounts to."""
    new_text = change.text.encode("utf-8", "surrogatepass")
    offsets = line_offsets(text)
    rng = getattr(change, "range", None)
    if rng is None:
        # A whole-document change: find what really changed, so findings outside it stay.
        prefix = 0
        limit = min(len(text), len(new_text))
        while prefix < limit and text[prefix] == new_text[prefix]:
            prefix += 1
        suffix = 0
        while (
            suffix < limit - prefix
            and text[len(text) - 1 - suffix] == new_text[len(new_text) - 1 - suffix]
        ):
            suffix += 1
        start = _position_at(offsets, prefix)
        old_end = _position_at(offsets, len(text) - suffix)
        inserted = new_text[prefix : len(new_text) - suffix]
        return new_text, Edit(start, old_end, _end_of(text, start, inserted))

    def offset(pos: types.Position) -> int:
        if pos.line >= len(offsets):
            return len(text)
        line_start = offsets[pos.line]
        line_end = offsets[pos.line + 1] - 1 if pos.line + 1 < len(offsets) else len(text)
        line = text[line_start:line_end]
        if line.endswith(b"\r"):
            line = line[:-1]
        return line_start + units_to_byte(line, pos.character, encoding)

    s, e = offset(rng.start), offset(rng.end)
    if e < s:
        s, e = e, s
    start = _position_at(offsets, s)
    old_end = _position_at(offsets, e)
    updated = text[:s] + new_text + text[e:]
    return updated, Edit(start, old_end, _end_of(text, start, new_text))


def shift_finding(f: Finding, path: str, edit: Edit) -> Finding | None:
    rng = edit.shift_range(f.range)
    if rng is None:
        return None

    def loc(location: Location | None) -> Location | None:
        if location is None or location.file != path:
            return location
        return Location(location.file, edit.shift_position(location.position))

    flow = tuple(
        FlowStep(loc(s.location), s.what, s.why, s.dst, loc(s.inlined_from)) for s in f.flow
    )
    point = edit.shift_position(f.point) if f.point is not None else None
    return dataclasses.replace(f, range=rng, flow=flow, point=point)


def read_disk(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


@dataclass
class FileFindings:
    """The findings shown for one file. ``stale`` when they come from the last build that
    compiled, not from the text as it is now."""

    findings: tuple[Finding, ...] = ()
    stale: bool = False
    #: The reason the package does not build now, when stale.
    stale_reason: str = ""
    #: Why the file has no findings at all: the build leaves it out (``Excluded``).
    excluded: str = ""


@dataclass
class OpenDocument:
    uri: str
    path: str
    version: int
    text: bytes
    #: When the user last opened it, edited it or asked for its code actions: a counter
    #: shared by all documents, so the highest is the buffer they are working in.
    active: int = 0


class DocumentStore:
    """Open documents and per-file findings. Thread-safe: the engine's threads read it."""

    def __init__(self) -> None:
        self._docs: dict[str, OpenDocument] = {}
        self._findings: dict[str, FileFindings] = {}
        self._lock = threading.Lock()
        self._clock = 0

    def _tick(self) -> int:
        """The next value of ``OpenDocument.active``; the caller holds the lock."""
        self._clock += 1
        return self._clock

    # -- documents -------------------------------------------------------------------

    def open(self, uri: str, path: str, version: int, text: str) -> None:
        with self._lock:
            self._docs[uri] = OpenDocument(
                uri, path, version, text.encode("utf-8", "surrogatepass"), self._tick()
            )

    def mark_active(self, uri: str) -> None:
        """The user is looking at ``uri`` (it asked for code actions there)."""
        with self._lock:
            doc = self._docs.get(uri)
            if doc is not None:
                doc.active = self._tick()

    def close(self, uri: str) -> OpenDocument | None:
        with self._lock:
            return self._docs.pop(uri, None)

    def get(self, uri: str) -> OpenDocument | None:
        with self._lock:
            return self._docs.get(uri)

    def by_path(self, path: str) -> OpenDocument | None:
        with self._lock:
            return next((d for d in self._docs.values() if d.path == path), None)

    def text(self, path: str) -> bytes:
        """What the user sees of ``path``: the open buffer, else the file on disk."""
        doc = self.by_path(path)
        if doc is not None:
            return doc.text
        return read_disk(path)

    def all(self) -> list[OpenDocument]:
        with self._lock:
            return list(self._docs.values())

    def change(
        self,
        uri: str,
        version: int,
        changes: list[types.TextDocumentContentChangeEvent],
        encoding: Encoding,
    ) -> bool:
        """Apply changes; move the file's findings with them. True if findings moved."""
        with self._lock:
            doc = self._docs.get(uri)
            if doc is None:
                return False
            state = self._findings.get(doc.path)
            before = state.findings if state else ()
            text = doc.text
            findings = list(before)
            for change in changes:
                text, edit = apply_change(text, change, encoding)
                findings = [
                    g for g in (shift_finding(f, doc.path, edit) for f in findings) if g is not None
                ]
            doc.text = text
            doc.version = version
            doc.active = self._tick()
            if state is not None:
                state.findings = tuple(findings)
            return state is not None and tuple(findings) != before

    # -- findings --------------------------------------------------------------------

    def findings(self, path: str) -> FileFindings:
        with self._lock:
            return self._findings.get(path) or FileFindings()

    def set_findings(self, path: str, state: FileFindings) -> None:
        with self._lock:
            self._findings[path] = state

    def forget(self, path: str) -> None:
        with self._lock:
            self._findings.pop(path, None)

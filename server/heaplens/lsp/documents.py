"""What the editor shows: open documents' text, and the findings each file currently has.

Findings must follow the user's edits while a new analysis runs, instead of jumping or
vanishing. Each incremental change is turned into an ``Edit`` in byte coordinates against
the text it applied to, and the file's findings are moved through it: findings before
the edit stay, findings after it shift, findings the edit cuts through are dropped (the
text they described is gone), and an edit inside a finding stretches it. Only findings
on the lines an edit can move are looked at (a keystroke moves nothing below its own
line unless it adds or removes one), and every finding that did not move stays the same
object, so what the server computed from it can be kept.

pygls keeps its own copy of each document for the protocol; this store keeps the bytes
the engine and the column conversions need, and the previous text an edit applies to.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate

from lsprotocol import types

from ..model import Finding, FlowStep, Location, Position, Range
from ..positions import Encoding, LineIndex


@dataclass(frozen=True)
class Edit:
    """A replacement: the text from ``start`` to ``old_end`` became text ending at
    ``new_end``. Positions are 1-based lines and 1-based byte columns."""

    start: Position
    old_end: Position
    new_end: Position

    @property
    def last_line_moved(self) -> float:
        """The last line on which a position can move: an edit that keeps the number of
        lines moves nothing below its own lines."""
        if self.new_end.line == self.old_end.line:
            return self.old_end.line
        return float("inf")

    def move(self, p: Position) -> Position:
        """Where a position at or after ``old_end`` ends up (``p`` itself if nowhere)."""
        if p.line == self.old_end.line:
            return Position(self.new_end.line, self.new_end.column + p.column - self.old_end.column)
        if self.new_end.line == self.old_end.line:
            return p
        return Position(p.line + self.new_end.line - self.old_end.line, p.column)

    def shift_range(self, r: Range) -> Range | None:
        if r.end <= self.start:
            return r
        if r.start >= self.old_end:
            start, end = self.move(r.start), self.move(r.end)
            return r if start is r.start and end is r.end else Range(start, end)
        if r.start <= self.start and self.old_end <= r.end:
            return Range(r.start, self.move(r.end))  # typed inside: stretch
        return None

    def shift_position(self, p: Position) -> Position:
        if p <= self.start:
            return p
        if p >= self.old_end:
            return self.move(p)
        return self.start


def _end_of(start: Position, inserted: bytes) -> Position:
    newlines = inserted.count(b"\n")
    if not newlines:
        return Position(start.line, start.column + len(inserted))
    return Position(start.line + newlines, len(inserted) - inserted.rfind(b"\n"))


def _position_at(lines: LineIndex, offset: int) -> Position:
    index = bisect.bisect_right(lines.starts, offset) - 1
    return Position(index + 1, offset - lines.starts[index] + 1)


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the longest common prefix, by bisection on slices compared in C: a
    whole-document change of a 5 MB file must not walk it byte by byte in Python."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def apply_change(
    lines: LineIndex, change: types.TextDocumentContentChangeEvent, encoding: Encoding
) -> tuple[LineIndex, Edit]:
    """Apply one content change to the text ``lines`` indexes; return the new text's
    index and the edit it amounts to."""
    text = lines.text
    new_text = change.text.encode("utf-8", "surrogatepass")
    rng = getattr(change, "range", None)
    if rng is None:
        # A whole-document change: find what really changed, so findings outside it stay.
        prefix = _common_prefix(text, new_text)
        limit = min(len(text), len(new_text)) - prefix
        suffix = _common_prefix(text[::-1][:limit], new_text[::-1][:limit])
        start = _position_at(lines, prefix)
        old_end = _position_at(lines, len(text) - suffix)
        inserted = new_text[prefix : len(new_text) - suffix]
        return LineIndex(new_text), Edit(start, old_end, _end_of(start, inserted))

    def offset(pos: types.Position) -> int:
        if pos.line >= len(lines):
            return len(text)
        line_start, _ = lines.span(pos.line + 1)
        return line_start + lines.to_byte(pos.line + 1, pos.character, encoding)

    s, e = offset(rng.start), offset(rng.end)
    if e < s:
        s, e = e, s
    start = _position_at(lines, s)
    old_end = _position_at(lines, e)
    return lines.replaced(s, e, new_text), Edit(start, old_end, _end_of(start, new_text))


def _positions_in(f: Finding, path: str) -> Iterator[Position]:
    """Every position of ``f`` that an edit of ``path`` can move."""
    yield f.range.start
    yield f.range.end
    if f.point is not None:
        yield f.point
    for step in f.flow:
        for location in (step.location, step.inlined_from):
            if location is not None and location.file == path:
                yield location.position


def line_span(f: Finding, path: str) -> tuple[int, int]:
    """The first and last line of ``path`` that ``f`` has a position on."""
    lines = [p.line for p in _positions_in(f, path)]
    return min(lines), max(lines)


def shift_finding(f: Finding, path: str, edit: Edit) -> Finding | None:
    """``f`` moved through ``edit``: ``f`` itself when nothing of it moved, None when the
    edit cut through its range."""
    rng = edit.shift_range(f.range)
    if rng is None:
        return None

    def loc(location: Location | None) -> Location | None:
        if location is None or location.file != path:
            return location
        moved = edit.shift_position(location.position)
        return location if moved is location.position else Location(location.file, moved)

    def step(s: FlowStep) -> FlowStep:
        location, inlined_from = loc(s.location), loc(s.inlined_from)
        if location is s.location and inlined_from is s.inlined_from:
            return s
        return FlowStep(location, s.what, s.why, s.dst, inlined_from)

    flow = tuple(step(s) for s in f.flow)
    point = edit.shift_position(f.point) if f.point is not None else None
    same_flow = all(a is b for a, b in zip(flow, f.flow, strict=True))
    if rng is f.range and point is f.point and same_flow:
        return f
    return dataclasses.replace(f, range=rng, flow=flow, point=point)


def lines_down(f: Finding, path: str, delta: int) -> Finding:
    """``f`` with each of its positions in ``path`` ``delta`` lines down (up, if
    negative): what an edit that adds or removes lines above all of them does to it, and
    nothing to compare. Enter moves every finding below it this way."""

    def at(p: Position) -> Position:
        return Position(p.line + delta, p.column)

    def loc(location: Location | None) -> Location | None:
        if location is None or location.file != path:
            return location
        return Location(location.file, at(location.position))

    flow = tuple(
        FlowStep(loc(s.location), s.what, s.why, s.dst, loc(s.inlined_from)) for s in f.flow
    )
    point = at(f.point) if f.point is not None else None
    rng = Range(at(f.range.start), at(f.range.end))
    return dataclasses.replace(f, range=rng, flow=flow, point=point)


@dataclass(frozen=True)
class Shifted:
    """A file's findings after an edit, with the line span of each (``line_span``), in
    the same order."""

    findings: tuple[Finding, ...]
    spans: tuple[tuple[int, int], ...]
    #: How many findings the edit moved, stretched or dropped.
    touched: int

    @staticmethod
    def of(findings: tuple[Finding, ...], path: str) -> Shifted:
        return Shifted(findings, tuple(line_span(f, path) for f in findings), 0)

    @cached_property
    def reach(self) -> tuple[list[int], list[int]]:
        """The spans' first lines, in order, and for each the last line any span starting
        there or before reaches: whether an edit moves a finding is then a bisection, not
        a look at every span on every keystroke."""
        ordered = sorted(self.spans)
        return [low for low, _ in ordered], list(accumulate((h for _, h in ordered), max))

    def affected_by(self, edit: Edit) -> bool:
        """Whether ``edit`` can move any of the findings: whether a span starting on or
        before the last line it can move reaches its first line."""
        lows, reach = self.reach
        starting = bisect.bisect_right(lows, edit.last_line_moved)
        return starting > 0 and reach[starting - 1] >= edit.start.line

    def through(self, edits: Sequence[Edit], path: str) -> Shifted:
        """Move the findings through ``edits``, one after the other. Only findings with a
        position on a line an edit can move are looked at (by their spans); the rest stay
        the same objects, so what was computed from them (their diagnostics) stays valid.

        A finding below every line the edits touched is moved once, by the lines they
        added and removed in all: a burst of 200 keystrokes with a dozen Enters in it
        moves the thousands of findings below the cursor once, not a dozen times."""
        findings: list[Finding | None] = list(self.findings)
        spans = list(self.spans)
        bound, total = _below_all(edits)
        near = [i for i, (low, _high) in enumerate(spans) if low <= bound]
        touched = 0
        if total:
            for i, (low, high) in enumerate(self.spans):
                if low > bound:
                    f = findings[i]
                    assert f is not None
                    findings[i] = lines_down(f, path, total)
                    spans[i] = (low + total, high + total)
                    touched += 1
        for edit in edits:
            touched += _move(findings, spans, near, edit, path)
        if not touched:
            return self  # the same tuple: what was built on it (its index) still holds
        kept = [(f, span) for f, span in zip(findings, spans, strict=True) if f is not None]
        return Shifted(
            tuple(f for f, _ in kept), tuple(span for _, span in kept), self.touched + touched
        )


def _below_all(edits: Sequence[Edit]) -> tuple[float, int]:
    """A line such that a finding whose positions are all below it (counted before the
    edits) is below the lines of every one of ``edits`` when it comes, and so only moves
    by lines; and how many lines the edits add in all. The bound is conservative: each
    edit's last line, less the fewest lines the edits before it had added."""
    bound: float = float("-inf")
    added = fewest = 0
    for edit in edits:
        bound = max(bound, edit.old_end.line - fewest)
        added += edit.new_end.line - edit.old_end.line
        fewest = min(fewest, added)
    return bound, added


def _move(
    findings: list[Finding | None],
    spans: list[tuple[int, int]],
    indices: Iterable[int],
    edit: Edit,
    path: str,
) -> int:
    """Move ``findings[i]`` for each ``i`` of ``indices`` through ``edit``, in place (None
    for one the edit cut through); return how many it moved."""
    first, last = edit.start.line, edit.last_line_moved
    delta = edit.new_end.line - edit.old_end.line
    touched = 0
    for i in indices:
        f = findings[i]
        low, high = spans[i]
        if f is None or high < first or low > last:
            continue
        if low > edit.old_end.line:  # all below the edit's lines: only the line moves
            findings[i] = lines_down(f, path, delta)
            spans[i] = (low + delta, high + delta)
            touched += 1
            continue
        moved = shift_finding(f, path, edit)
        if moved is f:
            continue
        touched += 1
        findings[i] = moved
        if moved is not None:
            spans[i] = line_span(moved, path)
    return touched


class FindingIndex:
    """One version of a file's findings by line, for hover and inlay hints: a request
    looks at the findings on the lines it asks about, not at all 4,500 of them (which,
    compared position by position, took longer than the rest of the request)."""

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        self.findings = findings
        self._by_line: dict[int, list[int]] = {}
        for i, f in enumerate(findings):
            for line in range(f.range.start.line, f.range.end.line + 1):
                self._by_line.setdefault(line, []).append(i)
        self._by_end = sorted(range(len(findings)), key=lambda i: findings[i].range.end.line)
        self._end_lines = [findings[i].range.end.line for i in self._by_end]

    def on_line(self, line: int) -> list[Finding]:
        """The findings whose range covers some of ``line``, in file order."""
        return [self.findings[i] for i in self._by_line.get(line, ())]

    def covering(self, first: int, last: int) -> list[Finding]:
        """The findings whose range covers some line from ``first`` to ``last``, in file
        order."""
        hits = {i for line in range(first, last + 1) for i in self._by_line.get(line, ())}
        return [self.findings[i] for i in sorted(hits)]

    def ending_on(self, first: int, last: int) -> list[Finding]:
        """The findings whose range ends on a line from ``first`` to ``last``, in file
        order."""
        lo = bisect.bisect_left(self._end_lines, first)
        hi = bisect.bisect_right(self._end_lines, last)
        return [self.findings[i] for i in sorted(self._by_end[lo:hi])]


def _lines_before(first: int, last: int, edits: Sequence[Edit]) -> tuple[int, int]:
    """Lines of the text before ``edits`` that hold every position now on a line from
    ``first`` to ``last``: each edit undone in turn, last first. A line of text an edit
    put in stands for all the lines it replaced; the bounds are conservative."""
    for edit in reversed(edits):
        start, old_end, new_end = edit.start.line, edit.old_end.line, edit.new_end.line
        if first > new_end:
            first += old_end - new_end
        elif first >= start:
            first = start
        if last > new_end:
            last += old_end - new_end
        elif last >= start:
            last = old_end
    return first, last


@dataclass(frozen=True)
class FindingView:
    """A file's findings as they are now, for a request that reads a few lines of them
    (hover, inlay hints): the findings as last moved, by line, and the edits made since.
    Only the findings a request looks at are moved through those edits: after an Enter
    above thousands of findings, a hover moves the few on its line, not all of them
    (which took longer than the rest of the request; the publish that follows the edits
    moves them all, in a worker thread)."""

    index: FindingIndex
    edits: tuple[Edit, ...]
    path: str
    stale: bool = False

    def on_line(self, line: int) -> list[Finding]:
        """The findings whose range covers some of ``line``, in file order."""
        moved = self._moved(self.index.covering(*_lines_before(line, line, self.edits)))
        return [f for f in moved if f.range.start.line <= line <= f.range.end.line]

    def ending_on(self, first: int, last: int) -> list[Finding]:
        """The findings whose range ends on a line from ``first`` to ``last``, in file
        order."""
        moved = self._moved(self.index.ending_on(*_lines_before(first, last, self.edits)))
        return [f for f in moved if first <= f.range.end.line <= last]

    def _moved(self, findings: list[Finding]) -> Sequence[Finding]:
        if not self.edits:
            return findings
        return Shifted.of(tuple(findings), self.path).through(self.edits, self.path).findings


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
    _lines: LineIndex | None = field(default=None, repr=False, compare=False)

    @property
    def lines(self) -> LineIndex:
        """The line index of the current text, built once per version: every position
        converted in this version of the document goes through it."""
        lines = self._lines
        if lines is None or lines.text is not self.text:
            lines = self._lines = LineIndex(self.text)
        return lines


class DocumentStore:
    """Open documents and per-file findings. Thread-safe: the engine's threads read it."""

    def __init__(self) -> None:
        self._docs: dict[str, OpenDocument] = {}
        self._findings: dict[str, FileFindings] = {}
        #: Per file, its findings with their line spans, for the next edit.
        self._shifted: dict[str, Shifted] = {}
        #: Per file, its findings by line, for the findings it was built from.
        self._indexes: dict[str, FindingIndex] = {}
        #: Per file, the edits its findings are still to be moved through: they are moved
        #: when next read, through all of them at once (``Shifted.through``).
        self._pending: dict[str, list[Edit]] = {}
        self._lock = threading.Lock()
        #: Findings moved, stretched or dropped by edits so far, in all files.
        self.shifted_findings = 0
        self._clock = 0
        #: Told of each edited document's path (``on_edited``), outside the lock.
        self._edited_listeners: list[Callable[[str], None]] = []

    def on_edited(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` with the path of each open document an edit changes, before
        the edit is applied (what was computed from the old text is out of date)."""
        self._edited_listeners.append(listener)

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

    def lines(self, path: str) -> LineIndex:
        """The line index of what the user sees of ``path``: the open buffer's, kept for
        its version, else one of the file on disk."""
        doc = self.by_path(path)
        if doc is not None:
            return doc.lines
        return LineIndex(read_disk(path))

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
        """Apply changes. The file's findings move with them when next read. True if
        findings move (or may: edits before these are still to be applied)."""
        doc = self.get(uri)
        if doc is None:
            return False
        for listener in self._edited_listeners:
            listener(doc.path)
        with self._lock:
            doc = self._docs.get(uri)
            if doc is None:
                return False
            state = self._findings.get(doc.path)
            pending = self._pending.setdefault(doc.path, [])
            for change in changes:
                lines, edit = apply_change(doc.lines, change, encoding)
                doc.text, doc._lines = lines.text, lines
                if state is None:
                    continue
                if pending or self._shifted_of(doc.path, state).affected_by(edit):
                    pending.append(edit)
            doc.version = version
            doc.active = self._tick()
            return bool(pending)

    def _shifted_of(self, path: str, state: FileFindings) -> Shifted:
        """``state``'s findings with their spans; the caller holds the lock."""
        shifted = self._shifted.get(path)
        if shifted is None or shifted.findings is not state.findings:
            shifted = self._shifted[path] = Shifted.of(state.findings, path)
        return shifted

    # -- findings --------------------------------------------------------------------

    def findings(self, path: str) -> FileFindings:
        """``path``'s findings, moved through the edits made since they were last read.
        They are moved outside the lock, so a request reading them meanwhile
        (``index``) does not wait for a worker thread that moves thousands."""
        while True:
            with self._lock:
                state = self._findings.get(path)
                pending = self._pending.get(path)
                if state is None:
                    return FileFindings()
                if not pending:
                    return state
                shifted = self._shifted_of(path, state)
                edits = tuple(pending)
            moved = shifted.through(edits, path)
            index = FindingIndex(moved.findings)
            following = Shifted(moved.findings, moved.spans, 0)
            following.reach  # noqa: B018 -- worked out here, not by the next keystroke
            with self._lock:
                # Unless another thread moved them meanwhile, or a new analysis replaced
                # them (then the loop looks again).
                if (
                    self._findings.get(path) is state
                    and state.findings is shifted.findings
                    and self._pending.get(path) is pending
                ):
                    del pending[: len(edits)]
                    if not pending:
                        del self._pending[path]
                    state.findings = moved.findings
                    self._shifted[path] = following
                    self._indexes[path] = index
                    self.shifted_findings += moved.touched

    def paths_with_findings(self) -> list[str]:
        """Every file the store holds findings for (open or not), in no order."""
        with self._lock:
            return [path for path, state in self._findings.items() if state.findings]

    def moving(self, path: str) -> bool:
        """Whether ``path``'s findings are still to be moved through edits."""
        with self._lock:
            return bool(self._pending.get(path))

    def index(self, path: str) -> FindingView:
        """``path``'s current findings by line, without moving them through the edits
        still pending (see ``FindingView``)."""
        with self._lock:
            state = self._findings.get(path)
            findings = state.findings if state is not None else ()
            index = self._indexes.get(path)
            if index is None or index.findings is not findings:
                index = self._indexes[path] = FindingIndex(findings)
            edits = tuple(self._pending.get(path, ()))
            return FindingView(index, edits, path, state.stale if state is not None else False)

    def set_findings(self, path: str, state: FileFindings) -> None:
        """``state`` is for the text as it is now: no edit is pending for it."""
        with self._lock:
            self._findings[path] = state
            self._pending.pop(path, None)

    def forget(self, path: str) -> None:
        with self._lock:
            self._findings.pop(path, None)
            self._shifted.pop(path, None)
            self._indexes.pop(path, None)
            self._pending.pop(path, None)

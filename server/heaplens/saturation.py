"""Places the compiler could not record: byte columns from 255 on.

The compiler packs a position into 32 bits (``lico`` in cmd/internal/src/pos.go): 20 bits
of line, 8 of column. A larger column is stored as 255 "so we have some information", and
every output has only that. The ``-json`` log says ``"character":255`` for any place from
byte 255 of a line on: a record's own position, its flow steps and its ``inlineLoc``
entries alike. ``-m`` text is no help: it prints such a place with no column at all
(``format`` shows one only when ``0 < col < 255``). Measured with Go 1.26: a line with 40
verdicts past byte 255 logs 40 records at ``line:255``, and ``-m=2`` prints 40 lines at
``file:line:``. (Lines saturate too, at 1<<20 - 2 = 1,048,574, where the column becomes
0. Nothing is recovered there.)

The places come back from the source, as far as it settles them:

* A record says what it is about: ``new(int) escapes to heap``, ``parameter p leaks``. Its
  candidates are the expressions of that text on the line that reach byte 255. When there
  are as many as records, they are paired in order: the log is sorted by position with a
  stable sort, so records of one position stay in the order the compiler met them, which
  is the order of the source. One expression takes all the records about it.
* Otherwise (some of those expressions do not escape, or the text is not in the source,
  as for code inlined at a call) a record gets a ``span`` instead of a column: from the
  first candidate to the last, or the line from byte 255 to its end. That says where the
  value is and no more than is known. A record is never moved to a column it may not have.
* An empty verdict says nothing of its own. Verdicts go to the records that explain an
  expression escaping, not a variable moved, as they would had they kept their places.
* A flow step names an expression too (``from &v3 (address-of)``). It is looked for around
  the expression of the step before it, since a value flows outwards, and kept at 255
  when that does not settle it.

The work is linear in the line: its words are indexed once, and each record's text is
looked for only where the rarest of its words is written.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from .compiler_output import CHECK_CODES, ESCAPE_CODES, RawDiagnostic, inline_chain, path_of
from .model import Position, Range
from .syntax import WORD, SourceFile, subject_words

#: The largest column the compiler can record (``colMax``): it stands for "here or later".
COLUMN_MAX = 255

_ESCAPES = re.compile(r"^(?P<subject>.+) escapes to heap$")
_LEAK = re.compile(r"^parameter (?P<name>\S+) leaks to ")


@dataclass(frozen=True)
class _Candidate:
    """An expression the source has where a record may be about."""

    range: Range
    #: Where the compiler reports it (a call's ``(``, a literal's ``{``...).
    point: Position
    #: Whether it is a name being declared (a variable moved, a parameter).
    declares: bool


SourceLookup = Callable[[str], "SourceFile | None"]
#: Whether the compiler's text names a variable (``x``, ``#state1``) rather than an
#: expression: the caller's rule, which decides kinds the same way.
IsVariable = Callable[[str], bool]


@dataclass
class _Line:
    """One line with saturated places: its words, and what was found on it."""

    src: SourceFile
    number: int
    start: int
    end: int
    #: Columns of the records on the line that the compiler could place, by message.
    exact: dict[str, list[int]] = field(default_factory=dict)
    _words: dict[bytes, list[int]] | None = None
    _found: dict[tuple[str, bool], list[_Candidate]] = field(default_factory=dict)
    _by_range: dict[tuple[str, bool], dict[Range, _Candidate]] = field(default_factory=dict)
    _starts: dict[tuple[str, bool], list[Position]] = field(default_factory=dict)

    @property
    def saturated_from(self) -> int:
        return self.start + COLUMN_MAX - 1

    @property
    def rest(self) -> Range:
        """The line from byte 255 on: all that a saturated position says."""
        return Range(Position(self.number, COLUMN_MAX), self.src.position(self.end))

    def words(self) -> dict[bytes, list[int]]:
        if self._words is None:
            index: dict[bytes, list[int]] = {}
            text = self.src.source[self.start : self.end]
            for m in WORD.finditer(text):
                index.setdefault(m.group(), []).append(self.start + m.start())
            self._words = index
        return self._words

    def candidates(self, subject: str, variable: bool) -> list[_Candidate]:
        """Where ``subject`` is written on the line, reaching byte 255, in source order,
        each with whether it declares a name there."""
        key = (subject, variable)
        known = self._found.get(key)
        if known is not None:
            return known
        words = [b"func"] if subject == "func literal" else subject_words(subject)
        index = self.words()
        places = [index.get(w, []) for w in words]
        found: dict[Range, _Candidate] = {}
        if places and all(places):
            for offset in min(places, key=len):
                one: _Candidate | None = None
                if variable:
                    named = self.src.name_at(offset, subject)
                    if named is not None:
                        one = _Candidate(named[0], named[0].start, named[1])
                else:
                    matched = self.src.matching_expression(offset, subject)
                    if matched is not None:
                        one = _Candidate(matched[0], matched[1], False)
                if one is not None and one.range not in found and self._saturated(one, subject):
                    found[one.range] = one
        self._found[key] = out = sorted(found.values(), key=lambda c: c.range.start)
        return out

    def by_range(self, subject: str, variable: bool) -> dict[Range, _Candidate]:
        key = (subject, variable)
        known = self._by_range.get(key)
        if known is None:
            known = self._by_range[key] = {c.range: c for c in self.candidates(subject, variable)}
        return known

    def starts(self, subject: str, variable: bool) -> list[Position]:
        """Where each candidate starts, in order: for bisecting."""
        key = (subject, variable)
        known = self._starts.get(key)
        if known is None:
            known = self._starts[key] = [c.range.start for c in self.candidates(subject, variable)]
        return known

    def _saturated(self, one: _Candidate, subject: str) -> bool:
        """Whether the compiler could have reported ``one`` at 255: where it puts it is
        at byte 255 or later, or, if the expression starts earlier, no record of the
        line with a column is about it (the compiler's point may not be its start)."""
        rng = one.range
        if one.point.line == self.number and one.point.column >= COLUMN_MAX:
            return True
        if rng.end.line == self.number and rng.end.column <= COLUMN_MAX:
            return False
        said = self.exact.get(f"{subject} escapes to heap", [])
        return not any(rng.start.column <= c < COLUMN_MAX for c in said)


class _Lines:
    def __init__(self, source: SourceLookup) -> None:
        self.source = source
        self.known: dict[tuple[str, int], _Line | None] = {}

    def get(self, file: str, number: int) -> _Line | None:
        """The line, if a column 255 on it can be saturated: it is longer than that."""
        key = (file, number)
        if key in self.known:
            return self.known[key]
        line = None
        src = self.source(file)
        if src is not None and 1 <= number <= len(src.line_starts):
            start = src.line_starts[number - 1]
            end = src.line_starts[number] - 1 if number < len(src.line_starts) else len(src.source)
            if end - start >= COLUMN_MAX:
                line = _Line(src, number, start, end)
        self.known[key] = line
        return line


def recover(
    diagnostics: Sequence[RawDiagnostic], source: SourceLookup, is_variable: IsVariable
) -> list[RawDiagnostic]:
    """``diagnostics`` with every saturated place recovered from the source that it can
    be; see the module's documentation."""
    out = list(diagnostics)
    if not any(d.saturated for d in out):
        return out
    lines = _Lines(source)
    groups: dict[tuple[str, int, object], list[int]] = {}
    for i, d in enumerate(out):
        at = d.position
        if d.saturated and at.column == COLUMN_MAX and lines.get(d.file, at.line) is not None:
            groups.setdefault((d.file, at.line, inline_chain(d)), []).append(i)
    for d in out:
        line = lines.known.get((d.file, d.position.line))
        if line is not None and d.position.column != COLUMN_MAX:
            line.exact.setdefault(d.message, []).append(d.position.column)
    anchors: dict[int, Range] = {}
    for (file, number, _), members in groups.items():
        line = lines.get(file, number)
        if line is not None:
            _place(line, out, members, anchors, is_variable)
    for i, d in enumerate(out):
        if d.saturated:
            out[i] = _flow(d, anchors.get(i), lines, is_variable)
    return out


def _place(
    line: _Line,
    out: list[RawDiagnostic],
    members: list[int],
    anchors: dict[int, Range],
    is_variable: IsVariable,
) -> None:
    """Recover the places of the records ``members`` of ``out``, all at ``line``:255."""
    kinds = _sort_records(out, members)
    choices = _choose_candidates(line, kinds, is_variable)
    takers = _place_explained(line, out, kinds.explained, choices, anchors, is_variable)
    _place_verdicts(line, out, kinds.verdicts, takers)
    _place_leaks(line, out, kinds.leaks, anchors)
    _place_inlines(line, out, kinds.inlines)
    for i in kinds.checks:
        # A check names no expression, and one expression can have several (a slice's
        # bounds): where past byte 255 it is, is not known.
        out[i] = _at(out[i], None, line.rest)


@dataclass(frozen=True)
class _Kinds:
    """The records of one saturated place, by what they say (indices into the records)."""

    #: "S escapes to heap", by S.
    explained: dict[str, list[int]] = field(default_factory=dict)
    #: Escapes with no message: the verdict of some expression on the line.
    verdicts: list[int] = field(default_factory=list)
    #: "parameter p leaks to ...", by p.
    leaks: dict[str, list[int]] = field(default_factory=dict)
    #: Bounds and nil checks.
    checks: list[int] = field(default_factory=list)
    #: Everything else: notes of the inliner.
    inlines: list[int] = field(default_factory=list)


def _sort_records(out: list[RawDiagnostic], members: list[int]) -> _Kinds:
    """The records ``members`` of ``out``, by kind, each kind in the order of ``members``."""
    kinds = _Kinds()
    for i in members:
        d = out[i]
        if d.code == "leak":
            m = _LEAK.match(d.message)
            if m:
                kinds.leaks.setdefault(m.group("name"), []).append(i)
        elif d.code in ESCAPE_CODES:
            m = _ESCAPES.match(d.message)
            if m:
                kinds.explained.setdefault(m.group("subject"), []).append(i)
            elif not d.message:
                kinds.verdicts.append(i)
        elif d.code in CHECK_CODES:
            kinds.checks.append(i)
        else:
            kinds.inlines.append(i)
    return kinds


def _choose_candidates(
    line: _Line, kinds: _Kinds, is_variable: IsVariable
) -> dict[str, list[_Candidate]]:
    """The places each explained subject may be at.

    Variables get no verdict, expressions one each. A name written both where it is
    declared and where it is used is either; the verdicts left over once the expressions
    have theirs say which."""
    explained = kinds.explained
    left = len(kinds.verdicts) - sum(len(ids) for s, ids in explained.items() if not is_variable(s))
    choices: dict[str, list[_Candidate]] = {}
    undecided: list[str] = []
    for subject, ids in explained.items():
        found = line.candidates(subject, is_variable(subject))
        if is_variable(subject):
            declared = [c for c in found if c.declares]
            used = [c for c in found if not c.declares]
            if len(declared) == len(ids) and len(used) == len(ids):
                undecided.append(subject)
            elif len(declared) == len(ids):
                found = declared
            elif len(used) == len(ids):
                found, left = used, left - len(ids)
        choices[subject] = found
    wanted = sum(len(explained[s]) for s in undecided)
    for subject in undecided:
        if left <= 0 or left >= wanted:
            choices[subject] = [c for c in choices[subject] if c.declares == (left <= 0)]
    return choices


def _place_explained(
    line: _Line,
    out: list[RawDiagnostic],
    explained: dict[str, list[int]],
    choices: dict[str, list[_Candidate]],
    anchors: dict[int, Range],
    is_variable: IsVariable,
) -> list[int]:
    """Place the records that say what escapes. Returns them in the order verdicts go
    to them: expressions first, then names used, then names declared."""
    takers: list[tuple[int, int]] = []  # (expressions first, record)
    for subject, ids in explained.items():
        variable = is_variable(subject)
        found = choices[subject]
        for i, (exact, span) in zip(ids, _pair(len(ids), found, line), strict=True):
            out[i] = _at(out[i], exact, span)
            if exact is not None:
                anchors[i] = exact.range
            declares = exact.declares if exact is not None else all(c.declares for c in found)
            takers.append((0 if not variable else 2 if declares else 1, i))
    takers.sort(key=lambda t: t[0])
    return [i for _, i in takers]


def _place_verdicts(
    line: _Line, out: list[RawDiagnostic], verdicts: list[int], takers: list[int]
) -> None:
    """Each verdict goes where the next of ``takers`` is, or past byte 255 if none is left."""
    for n, v in enumerate(verdicts):
        if n < len(takers):
            taker = out[takers[n]]
            out[v] = replace(out[v], position=taker.position, span=taker.span)
        else:  # a verdict without an explanation: somewhere past byte 255
            out[v] = _at(out[v], None, line.rest)


def _place_leaks(
    line: _Line, out: list[RawDiagnostic], leaks: dict[str, list[int]], anchors: dict[int, Range]
) -> None:
    """A leaking parameter is at its declaration."""
    for name, ids in leaks.items():
        params = [c for c in line.candidates(name, True) if c.declares]
        for i, (exact, span) in zip(ids, _pair(len(ids), params, line), strict=True):
            out[i] = _at(out[i], exact, span)
            if exact is not None:
                anchors[i] = exact.range


def _place_inlines(line: _Line, out: list[RawDiagnostic], inlines: list[int]) -> None:
    if not inlines:
        return
    points = [
        _Candidate(p, p.start, False)
        for p in line.src.function_points(line.saturated_from, line.end)
    ]
    # The inliner logs functions in the order it visits them, not the source's: with
    # more than one function here, which note is whose is not known.
    for i, (exact, span) in zip(inlines, _pair(1, points, line) * len(inlines), strict=True):
        out[i] = _at(out[i], exact, span)


def _pair(
    count: int, found: list[_Candidate], line: _Line
) -> list[tuple[_Candidate | None, Range]]:
    """A place for each of ``count`` records about the expressions ``found`` (several
    records may be about one): the expression when the pairing is known, else None and a
    span that holds every candidate."""
    if len(found) == count:
        return [(c, c.range) for c in found]
    if len(found) == 1:
        return [(found[0], found[0].range)] * count
    if found:
        return [(None, Range(found[0].range.start, max(c.range.end for c in found)))] * count
    return [(None, line.rest)] * count


def _at(d: RawDiagnostic, exact: _Candidate | None, span: Range) -> RawDiagnostic:
    """``d`` where the compiler would have put ``exact``, or somewhere in ``span``."""
    if exact is not None:
        return replace(d, position=exact.point, span=None)
    return replace(d, position=span.start, span=span)


def _flow(
    d: RawDiagnostic, anchor: Range | None, lines: _Lines, is_variable: IsVariable
) -> RawDiagnostic:
    """``d`` with the saturated places of its flow steps recovered where they can be.

    Each step is looked for around the expression of the one before it (``anchor``): a
    value flows outwards, from ``&v`` to the ``... argument`` holding it to the call.
    A flow header is at the first step it introduces (the compiler's ``epos``), and an
    ``inlineLoc`` places the step before it inside the inlined function.
    """
    items = list(d.raw_related)
    m = _ESCAPES.match(d.message)
    what = m.group("subject") if m else ""
    where = (d.file, anchor)
    resolved: dict[int, Position] = {}
    for j, item in enumerate(items):
        place = _location(item)
        message = _message(item)
        inlined = message == "inlineLoc"  # the step before, inside the inlined function
        if message.startswith("escflow:"):
            body = message[len("escflow:") :].strip()
            if body.startswith("flow:"):
                continue  # placed with its first step, below
            cut = body.rfind(" (")
            what = body[len("from ") : cut].strip() if body.startswith("from ") and cut > 0 else ""
        elif not inlined:
            continue
        line = None
        if place is not None and place[3] == COLUMN_MAX:
            line = lines.get(place[1], place[2])
        if line is None or place is None:
            if not inlined:
                where = (place[1] if place is not None else d.file, None)
            continue
        near = where[1] if where[0] == place[1] and not inlined else None
        rng = _find(line, what, near, is_variable)
        if rng is None and near is not None and not line.candidates(what, is_variable(what)):
            # Text not written here is code inlined at a call (`fmt.a := ... argument`),
            # which the compiler reports at that call: the one around the value.
            rng = _find(line, "... argument", near, is_variable)
        if rng is not None:
            resolved[j] = rng.point
        if not inlined:
            where = (place[1], rng.range if rng is not None else None)
    if not resolved:
        return d
    # A header is where the first step it introduces is (inlineLoc entries aside).
    steps = [j for j, item in enumerate(items) if _message(item).startswith("escflow:")]
    for k, j in enumerate(steps):
        header = _message(items[j])[len("escflow:") :].strip().startswith("flow:")
        after = steps[k + 1] if k + 1 < len(steps) else None
        if header and after in resolved and _location(items[j]) == _location(items[after]):
            resolved[j] = resolved[after]
    for j, pos in resolved.items():
        items[j] = _moved_item(items[j], pos)
    return replace(d, raw_related=tuple(items))


def _find(line: _Line, what: str, near: Range | None, is_variable: IsVariable) -> _Candidate | None:
    """The expression ``what`` on ``line`` past byte 255: the smallest around ``near``,
    or the only one; None when that does not settle it."""
    if what == "... argument":
        if near is None:
            return None
        at = line.src.enclosing_call_arguments(near)
        return _Candidate(near, at, False) if at is not None else None
    variable = is_variable(what)
    found = line.candidates(what, variable)
    if near is not None:
        # The expressions around `near`, smallest first, looked up among the candidates:
        # as many lookups as the tree is deep, where a scan would make a line quadratic.
        by_range = line.by_range(what, variable)
        for rng in line.src.ranges_around(near.start):
            if near.end <= rng.end and rng in by_range:
                return by_range[rng]
        # A step elsewhere in the function (a parameter returned): the only one there.
        scope = line.src.declaration_range(near.start)
        if scope is not None:
            starts = line.starts(what, variable)
            lo = bisect.bisect_left(starts, scope.start)
            hi = bisect.bisect_left(starts, scope.end)
            found = [c for c in found[lo:hi] if c.range.end <= scope.end]
    return found[0] if len(found) == 1 else None


def _message(item: object) -> str:
    message = item.get("message") if isinstance(item, dict) else None
    return message if isinstance(message, str) else ""


def _location(item: object) -> tuple[str, str, int, int] | None:
    """(uri, path, line, column) of a related entry; None for one without a place."""
    try:
        loc = item["location"]  # type: ignore[index]
        uri = loc["uri"]
        start = loc["range"]["start"]
        line, column = start["line"], start["character"]
    except (KeyError, TypeError):
        return None
    if not isinstance(uri, str) or type(line) is not int or type(column) is not int:
        return None
    path = path_of(uri)
    return (uri, path, line, column) if path is not None else None


def _moved_item(item: object, pos: Position) -> object:
    assert isinstance(item, dict)
    point = {"line": pos.line, "character": pos.column}
    return {**item, "location": {**item["location"], "range": {"start": point, "end": point}}}

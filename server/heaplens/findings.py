"""Classify the compiler's raw log records into typed findings.

The ``-json`` log says less than ``-m`` text in a few places, and this module restores it:

* An escaping *expression* gets two records at its position: the explanation
  (``X escapes to heap`` with its flow) and an empty verdict. A *variable* moved to the
  heap gets the explanation only. So an explanation without a verdict is
  ``moved to heap: X``.
* The compiler's wrappers for ``go``/``defer`` statements are logged too, at the keyword;
  ``-m`` hides them and so do we.
* ``parameter p leaks to DST with derefs=N`` records become ``leaking param: p``
  (N = 0), ``leaking param content: p`` (N > 0) or ``leaking param: p to result ~r0
  level=N``, merged per parameter the way the compiler's own summary is. DST may be the
  heap, a heap object's storage or a variable that outlives the call: all count as the
  heap, as in the compiler's ``leakTo``. The log also has leaks ``-m`` never reports
  (parameters without pointers, of generic instantiations, of another package's inlined
  code): those are dropped.
* The log names no function; the enclosing function comes from the syntax tree.

Every finding gets a full source range, the source's name for its value, and a reason
code with its arguments (``reasons``); ``wording`` says them in words.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace

from . import reasons, saturation, suppress, wording
from .checks import check_findings
from .compiler_output import CHECK_CODES, RawDiagnostic, RawOutput, inline_chain, related_entries
from .model import (
    HEAP_KINDS,
    NO_REASON,
    Finding,
    FlowStep,
    Kind,
    Leak,
    Location,
    Position,
    Range,
    Reason,
    ReasonCode,
)
from .syntax import SourceFile

_ESCAPES = re.compile(r"^(?P<subject>.+) escapes to heap$")
_LEAK = re.compile(r"^parameter (?P<name>\S+) leaks to (?P<dst>.+?) with derefs=(?P<derefs>-?\d+)$")
_COST = re.compile(r"^cost: (?P<cost>\d+)")

SourceLookup = Callable[[str], "SourceFile | None"]


@dataclass(frozen=True)
class PackageScope:
    """What reasons need to know of a file's package: its package variables (to tell
    them from locals), the names of its methods and struct fields (to tell a method
    value from a field), and its types without pointers (which leak nothing)."""

    vars: frozenset[str] = frozenset()
    methods: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()
    #: Types defined as a number or a bool: values without pointers.
    scalars: frozenset[str] = frozenset()
    #: Types defined as a map or a slice: their literals allocate.
    storage: frozenset[str] = frozenset()

    @staticmethod
    def of(files: Iterable[SourceFile]) -> PackageScope:
        """The scope of the package made of ``files``."""
        members = list(files)
        return PackageScope(
            frozenset().union(*(s.package_vars() for s in members)),
            frozenset().union(*(s.declared_methods for s in members)),
            frozenset().union(*(s.declared_fields for s in members)),
            frozenset().union(*(s.scalar_types for s in members)),
            frozenset().union(*(s.storage_types for s in members)),
        )


ScopeLookup = Callable[[str], PackageScope]
ImportedScalar = Callable[[str, str], bool]
#: How many package-initialiser closures the compiler numbers before a file's own.
ClosuresBefore = Callable[[str], int]


def _none_before(_file: str) -> int:
    return 0


@dataclass
class Classified:
    findings: list[Finding] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


#: Flows already read, by record: the compiler output parser hands out the same record
#: for a log line it has read before (see ``compiler_output._seen``). Keyed by identity,
#: with the record kept in the entry, so an id can never stand for another record.
_flows: dict[int, tuple[RawDiagnostic, tuple[FlowStep, ...], tuple[str, ...]]] = {}


def parse_flow(diag: RawDiagnostic, unknown: list[str] | None = None) -> tuple[FlowStep, ...]:
    """The escape explanation attached to ``diag``, as steps; messages that are not part
    of it go to ``unknown``."""
    known = _flows.get(id(diag))
    if known is None or known[0] is not diag:
        odd: list[str] = []
        if len(_flows) >= 50_000:
            _flows.clear()
        known = _flows[id(diag)] = (diag, _parse_flow(diag, odd), tuple(odd))
    if unknown is not None:
        unknown.extend(known[2])
    return known[1]


def _parse_flow(diag: RawDiagnostic, unknown: list[str]) -> tuple[FlowStep, ...]:
    """String operations rather than regular expressions: a large package has thousands
    of these lines, and this runs while the user waits."""
    steps: list[FlowStep] = []
    dst = ""
    pending_header: tuple[Location | None, str, str] | None = None
    for location, message in related_entries(diag):
        if message.startswith("inlineLoc"):
            # One entry per level of inlining, outermost first: the last is where the
            # step's code is written.
            if steps and location is not None and pending_header is None:
                last = steps[-1]
                steps[-1] = FlowStep(last.location, last.what, last.why, last.dst, location)
            continue
        if not message.startswith("escflow:"):
            unknown.append(message)
            continue
        body = message[len("escflow:") :].strip()
        if body.startswith("flow:"):
            if pending_header is not None:
                steps.append(FlowStep(pending_header[0], pending_header[2], "", pending_header[1]))
            edge = body[len("flow:") :].strip()
            dst, src = _split_edge(edge[:-1] if edge.endswith(":") else edge)
            pending_header = (location, dst, src)
            continue
        if body.startswith("from ") and body.endswith(")"):
            cut = body.rfind(" (")
            why = body[cut + 2 : -1] if cut > 0 else ""
            if cut > 0 and "(" not in why and ")" not in why:
                pending_header = None
                steps.append(FlowStep(location, body[len("from ") : cut].strip(), why, dst))
                continue
        if body:
            steps.append(FlowStep(location, body, "", dst))
    if pending_header is not None:
        steps.append(FlowStep(pending_header[0], pending_header[2], "", pending_header[1]))
    return tuple(steps)


def _split_edge(edge: str) -> tuple[str, str]:
    """``~r0 ← &x`` (Go ≥ 1.22) or ``~r0 = &x`` (older) → ``("~r0", "&x")``."""
    for sep in (" ← ", " = "):
        if sep in edge:
            dst, src = edge.split(sep, 1)
            return dst.strip(), src.strip()
    return edge.strip(), ""


@dataclass
class _Leak:
    position: Position
    name: str
    # The strongest record per destination: (derefs, the record with its explanation).
    heap: tuple[int, RawDiagnostic] | None = None
    results: dict[str, tuple[int, RawDiagnostic]] = field(default_factory=dict)

    def add(self, dst: str, derefs: int, diag: RawDiagnostic, to_result: bool) -> None:
        """Merge one record the way the compiler's summary does: the fewest derefs per
        destination. The heap, the storage of a heap object (``{storage for &T{...}}``)
        and a variable that outlives the function all count as the heap."""
        if to_result:
            prev = self.results.get(dst)
            if prev is None or derefs < prev[0]:
                self.results[dst] = (derefs, diag)
        elif self.heap is None or derefs < self.heap[0]:
            self.heap = (derefs, diag)


def classify(
    raw: RawOutput,
    wanted: Collection[str],
    source: SourceLookup,
    scope: ScopeLookup,
    closures_before: ClosuresBefore = _none_before,
    imported_scalar: ImportedScalar = lambda _path, _name: False,
) -> Classified:
    """Findings for the files in ``wanted`` (absolute paths), from one compile's log.

    ``imported_scalar(import path, name)`` says whether another package's type holds no
    pointers (``time.Duration``): the compiler reports no leak of such parameters.

    Each record goes where the first of ``_RECORD_RULES`` puts it; each kind of record
    then makes its findings (``_heap_findings``, ``_leak_findings``, ``_inline_finding``,
    ``checks.check_findings``).
    """
    look = _Lookups(source, scope, closures_before, imported_scalar)
    out = Classified(unknown=list(raw.unknown))
    records = _Records(unknown=out.unknown)
    wanted_set = set(wanted)
    diagnostics = saturation.recover(
        [d for d in raw.diagnostics if d.file in wanted_set],
        source,
        lambda subject: _NAME.fullmatch(subject) is not None,
    )
    for diag in diagnostics:
        records.take(diag, source)
    heap = _heap_findings(records, look)
    # A parameter moved to the heap is reported as that, not as a leak.
    moved = {(f.file, f.point) for f in heap if f.kind is Kind.MOVED_TO_HEAP}
    leaks = _leak_findings(records, moved, look)
    # Leaks into a heap object's storage are explained by that object, once every heap
    # finding is known.
    found = _explained_by_holders(heap + _kept_by_objects(leaks, heap))
    found += [_inline_finding(diag, look) for diag in records.inline]
    found += check_findings(
        records.checks, source, closures_before, lambda at, file: _function_at(at, file, source)
    )
    out.findings = _finished(found, source)
    return out


@dataclass(frozen=True)
class _Lookups:
    """What ``classify`` was given to look things up in the source with."""

    source: SourceLookup
    scope: ScopeLookup
    closures_before: ClosuresBefore = _none_before
    imported_scalar: ImportedScalar = lambda _path, _name: False


@dataclass
class _Records:
    """The log's records about the wanted files, by what they say."""

    #: Lines in no shape the rules know, for ``-v``.
    unknown: list[str] = field(default_factory=list)
    # Escapes by place *and* origin: at a call, several values of the inlined callee are
    # reported at the same position, each with its own origin (``inlined_from``).
    explanations: dict[_Place, dict[str, RawDiagnostic]] = field(default_factory=dict)
    verdicts: Counter[_Place] = field(default_factory=Counter)
    leaks: dict[tuple[str, Position], _Leak] = field(default_factory=dict)
    inline: list[RawDiagnostic] = field(default_factory=list)
    #: Bounds and nil checks (``checks``).
    checks: list[RawDiagnostic] = field(default_factory=list)
    # Where a saturated column could not be recovered: the range that holds the value.
    spans: dict[tuple[str, Position] | _Place, Range] = field(default_factory=dict)

    def take(self, diag: RawDiagnostic, source: SourceLookup) -> None:
        """File ``diag`` where the first rule that recognises it says."""
        if diag.span is not None:
            self.spans[(diag.file, diag.position)] = diag.span
            if diag.code in _ESCAPE_CODES:
                self.spans[_place(diag)] = diag.span
        for rule in _RECORD_RULES:
            if rule(diag, self, source):
                return


#: A record rule files a record it recognises into the records and says True.
_RecordRule = Callable[[RawDiagnostic, _Records, SourceLookup], bool]

_ESCAPE_CODES = ("escape", "escapes")


def _place(diag: RawDiagnostic) -> _Place:
    return (diag.file, diag.position, inline_chain(diag))


def _explanation(diag: RawDiagnostic, into: _Records, _source: SourceLookup) -> bool:
    """``X escapes to heap`` with its flow: why X is on the heap. An expression's comes
    with an empty verdict, a moved variable's alone (``_explained``). A record read twice
    is one."""
    if diag.code not in _ESCAPE_CODES or not diag.message or not _ESCAPES.match(diag.message):
        return False
    into.explanations.setdefault(_place(diag), {}).setdefault(diag.message, diag)
    return True


def _verdict(diag: RawDiagnostic, into: _Records, _source: SourceLookup) -> bool:
    """An escape record with no message: the verdict that an expression escapes,
    counted per place (several values can escape at one)."""
    if diag.code not in _ESCAPE_CODES or diag.message:
        return False
    into.verdicts[_place(diag)] += 1
    return True


def _foreign_parameter(diag: RawDiagnostic, _into: _Records, _source: SourceLookup) -> bool:
    """``parameter zap.args leaks to ...``: a parameter of code inlined into another
    package, logged at the parameter by that package's compile. It is that function's
    variable there, not a parameter, and ``-m`` reports no leak for it: dropped. Before
    ``_parameter_leak``, which would take it."""
    m = _LEAK.match(diag.message) if diag.code == "leak" else None
    return m is not None and "." in m.group("name")


def _parameter_leak(diag: RawDiagnostic, into: _Records, source: SourceLookup) -> bool:
    """``parameter p leaks to DST with derefs=N``: merged per parameter (``_Leak.add``)
    into what ``-m`` says of it once."""
    m = _LEAK.match(diag.message) if diag.code == "leak" else None
    if m is None:
        return False
    key = (diag.file, diag.position)
    leak = into.leaks.setdefault(key, _Leak(diag.position, m.group("name")))
    dst = m.group("dst")
    leak.add(dst, int(m.group("derefs")), diag, _to_result(dst, diag, source))
    return True


def _check(diag: RawDiagnostic, into: _Records, _source: SourceLookup) -> bool:
    """A bounds or nil check the compiler keeps (``checks``)."""
    if diag.code not in CHECK_CODES:
        return False
    into.checks.append(diag)
    return True


def _not_understood(diag: RawDiagnostic, into: _Records, _source: SourceLookup) -> bool:
    """An escape or leak record in no shape above: kept for ``-v``, never guessed at."""
    if diag.code not in _ESCAPE_CODES and diag.code != "leak":
        return False
    into.unknown.append(f"{diag.file}: {diag.code}: {diag.message}")
    return True


def _inlining(diag: RawDiagnostic, into: _Records, _source: SourceLookup) -> bool:
    """Any other record is an inlining verdict (``canInlineFunction``, ...)."""
    into.inline.append(diag)
    return True


#: In order, the first that recognises a record takes it; the last takes anything.
_RECORD_RULES: tuple[_RecordRule, ...] = (
    _explanation,
    _verdict,
    _foreign_parameter,
    _parameter_leak,
    _check,
    _not_understood,
    _inlining,
)


def _heap_findings(records: _Records, look: _Lookups) -> list[Finding]:
    """Escapes and moves: each explanation with its kind, then each verdict that has no
    explanation, where the source shows them (``_place_of``)."""
    found: list[Finding] = []
    for place, diag, kind in _explained(records.explanations, records.verdicts):
        src = look.source(place[0])
        shown, at = (
            (True, records.spans[place]) if place in records.spans else _place_of(place, src)
        )
        if shown:
            found.append(_explained_finding(place, diag, kind, at, src, records.unknown, look))
    for place in sorted(records.verdicts.keys() - records.explanations.keys()):
        src = look.source(place[0])
        spanned = place in records.spans
        shown, at = (True, records.spans[place]) if spanned else _place_of(place, src)
        if shown:
            found.append(_bare_verdict_finding(place, at, spanned, src, look))
    return found


def _explained_finding(
    place: _Place,
    diag: RawDiagnostic,
    kind: Kind,
    at: Range | None,
    src: SourceFile | None,
    unknown: list[str],
    look: _Lookups,
) -> Finding:
    """``moved to heap: X`` or ``X escapes to heap``, from X's explanation."""
    file, pos, origin = place
    m = _ESCAPES.match(diag.message)
    assert m is not None
    said = m.group("subject")
    flow = parse_flow(diag, unknown)
    if kind is Kind.MOVED_TO_HEAP:
        rng = at
        if src is not None and rng is None:
            # At an inlined call the variable's name is not in the text: underline the
            # call. A compiler temporary (`new(expr)`'s) is the expression itself.
            rng = None if reasons.compiler_made(said) else src.identifier_range(pos, said)
            rng = rng or src.expression_range(pos, "")
        message = f"moved to heap: {said}"
    else:
        rng = at or (src.expression_range(pos, said) if src else None)
        message = f"{said} escapes to heap"
    return _finding(
        kind,
        file,
        pos,
        rng,
        message,
        said,
        flow,
        src,
        look.scope,
        look.closures_before,
        look.source,
        origin,
    )


def _bare_verdict_finding(
    place: _Place, at: Range | None, spanned: bool, src: SourceFile | None, look: _Lookups
) -> Finding:
    """A verdict without an explanation: the expression at the place escapes, and the
    source names it. A span holds more than the value: its text does not name it."""
    file, pos, origin = place
    rng = at or (src.expression_range(pos, "") if src else None)
    subject = src.text(rng) if src and rng and not spanned else "value"
    return _finding(
        Kind.ESCAPES_TO_HEAP,
        file,
        pos,
        rng,
        f"{subject} escapes to heap",
        subject,
        (),
        src,
        look.scope,
        look.closures_before,
        look.source,
        origin,
    )


@dataclass(frozen=True)
class _LeakSite:
    """A parameter some record says leaks: what the drop rules decide on."""

    file: str
    position: Position
    src: SourceFile | None
    moved: bool
    look: _Lookups


def _moved_parameter(site: _LeakSite) -> bool:
    """A parameter moved to the heap is reported as that, not as a leak."""
    return site.moved


def _at_wrapper(site: _LeakSite) -> bool:
    """At a ``go``/``defer`` keyword or an interface method: the parameter of a wrapper
    the compiler wrote, which ``-m`` hides."""
    return site.src is not None and site.src.is_wrapper_site(site.position)


def _pointer_free(site: _LeakSite) -> bool:
    """The compiler tags no parameter without pointers, whatever flows from it (an int
    captured by value into an escaping closure, say); its log has them."""
    if site.src is None:
        return False
    scalars = site.look.scope(site.file).scalars
    return site.src.pointer_free_param(site.position, scalars, site.look.imported_scalar)


def _generic(site: _LeakSite) -> bool:
    """Nor a parameter of a generic function's instantiations, which its log has too."""
    return site.src is not None and site.src.in_generic_function(site.position)


#: Leaks in the log that ``-m`` never reports; any one drops the leak.
_LEAK_DROPS: tuple[Callable[[_LeakSite], bool], ...] = (
    _moved_parameter,
    _at_wrapper,
    _pointer_free,
    _generic,
)


def _leak_findings(
    records: _Records, moved: Collection[tuple[str, Position | None]], look: _Lookups
) -> list[tuple[Finding, str]]:
    """``leaking param`` findings, each with the heap object whose storage the parameter
    flows into ("" when none)."""
    out: list[tuple[Finding, str]] = []
    for key, leak in records.leaks.items():
        src = look.source(key[0])
        site = _LeakSite(key[0], key[1], src, key in moved, look)
        if any(drop(site) for drop in _LEAK_DROPS):
            continue
        found = _leak_finding(site, leak, records)
        if found is not None:
            out.append(found)
    return out


def _leak_messages(leak: _Leak) -> tuple[list[str], list[tuple[str, int]], RawDiagnostic | None]:
    """What ``-m`` says of the parameter, the results it leaks to, and the record whose
    flow explains it."""
    messages: list[str] = []
    explained: RawDiagnostic | None = None
    results: list[tuple[str, int]] = []
    if leak.heap is not None:
        derefs, explained = leak.heap
        messages.append(
            f"leaking param: {leak.name}" if derefs == 0 else f"leaking param content: {leak.name}"
        )
    for dst, (derefs, rdiag) in sorted(leak.results.items()):
        # The compiler drops result leaks that the heap leak already covers.
        if leak.heap is not None and derefs >= leak.heap[0]:
            continue
        messages.append(f"leaking param: {leak.name} to result {dst} level={derefs}")
        results.append((dst, derefs))
        explained = explained or rdiag
    return messages, results, explained


def _leak_finding(site: _LeakSite, leak: _Leak, records: _Records) -> tuple[Finding, str] | None:
    messages, results, explained = _leak_messages(leak)
    if not messages or explained is None:
        return None
    leak_flow = parse_flow(explained, records.unknown)
    if any(s.location is not None and s.location.file == _GENERATED for s in leak_flow):
        # A wrapper the compiler wrote (a promoted or pointer-receiver method): its
        # parameters are reported at the wrapped method, which leaks nothing itself.
        return None
    src, pos = site.src, site.position
    rng = records.spans.get((site.file, pos)) or (
        src.identifier_range(pos, leak.name) if src else None
    )
    look = site.look
    found = _finding(
        Kind.LEAKING_PARAM,
        site.file,
        pos,
        rng,
        "; ".join(messages),
        leak.name,
        leak_flow,
        src,
        look.scope,
        look.closures_before,
        look.source,
        (),
    )
    summary = Leak(leak.heap[0] if leak.heap is not None else None, tuple(results))
    return replace(found, leak=summary), _storage_of(explained)


def _inline_finding(diag: RawDiagnostic, look: _Lookups) -> Finding:
    """``can inline F with cost N`` or ``cannot inline F: why``, at the function's name."""
    src = look.source(diag.file)
    name = src.function_at(diag.position, look.closures_before(diag.file)) if src else ""
    if diag.span is not None:
        # Functions past byte 255 of a line, and the log does not say which one.
        name = "a function declared here"
    if diag.code == "canInlineFunction":
        cost = _COST.match(diag.message)
        message = f"can inline {name}" + (f" with cost {cost.group('cost')}" if cost else "")
        kind = Kind.INLINING
    else:
        message = f"cannot inline {name}: {diag.message}"
        kind = Kind.CANNOT_INLINE
    rng = diag.span or (src.function_name_range(diag.position) if src else None)
    return Finding(
        kind=kind,
        file=diag.file,
        range=rng or _fallback_range(diag.position),
        message=message,
        reason=Reason(ReasonCode.INLINING, diag.message)
        if kind is Kind.CANNOT_INLINE
        else NO_REASON,
        function=name,
        point=diag.position,
        subject=name,
    )


def _finished(found: list[Finding], source: SourceLookup) -> list[Finding]:
    """The findings without the suppressed ones, one per verdict, in source order."""
    by_file: dict[str, list[Finding]] = {}
    for f in found:
        by_file.setdefault(f.file, []).append(f)
    kept = [f for file, fs in by_file.items() for f in suppress.apply(fs, source(file))]
    # Identical verdicts on one range (a callee inlined twice at one call, one
    # expression reported at two columns) are one finding that says how many.
    unique: dict[tuple[str, Range, Kind, str, Reason], Finding] = {}
    for f in kept:
        # Instantiations differ only in their shapes (`F[go.shape.int]`), which
        # nobody reads: one finding, counted.
        said = wording.tidy(f.message) if "go.shape." in f.message else f.message
        same = (f.file, f.range, f.kind, said, f.reason)
        first = unique.get(same)
        unique[same] = f if first is None else replace(first, count=first.count + f.count)
    # Plain tuples: comparing the ordered dataclasses builds tuples on every comparison.
    return sorted(
        unique.values(),
        key=lambda f: (
            f.file,
            f.range.start.line,
            f.range.start.column,
            f.range.end.line,
            f.range.end.column,
            f.kind.value,
        ),
    )


#: Where inlined code was written, outermost level first; () for code not inlined.
_Origin = tuple[Location, ...]
#: Where an escape is reported: file, position, and where its code was written.
_Place = tuple[str, Position, _Origin]


#: Where the compiler's own wrappers are "written".
_GENERATED = "<autogenerated>"


def _explained(
    explanations: dict[tuple[str, Position, _Origin], dict[str, RawDiagnostic]],
    verdicts: Counter[tuple[str, Position, _Origin]],
) -> Iterator[tuple[tuple[str, Position, _Origin], RawDiagnostic, Kind]]:
    """Each explanation with its kind. An expression that escapes gets an explanation
    and an empty verdict; a variable moved to the heap gets the explanation alone. Where
    both are reported at one place (a range-over-func loop: its body's `func literal`
    escapes and its `#state1` moves), the verdicts go to the expressions: explanations
    whose subject is a name are the variables."""
    for place, by_message in explanations.items():
        escaping = verdicts.get(place, 0)
        ranked = sorted(by_message.values(), key=lambda d: _names_variable(d.message))
        for i, diag in enumerate(ranked):
            kind = Kind.ESCAPES_TO_HEAP if i < escaping else Kind.MOVED_TO_HEAP
            yield place, diag, kind


def _names_variable(message: str) -> bool:
    """``x escapes to heap``, ``#state1 escapes to heap``: the subject is a name."""
    m = _ESCAPES.match(message)
    return bool(m and _NAME.fullmatch(m.group("subject")))


_KEYWORDS = frozenset(
    {"return", "go", "defer", "for", "range", "if", "switch", "select", "case", "var", "func"}
)

#: A variable as the compiler prints it: ``x``, ``net.addr`` (inlined), ``#state1``,
#: ``.autotmp_3``, ``~r0``.
_NAME = re.compile(r"[#.~]*[\w]+(?:\.[\w]+)?")


def _place_of(
    place: tuple[str, Position, _Origin], src: SourceFile | None
) -> tuple[bool, Range | None]:
    """Whether an escape reported at ``place`` is shown, and where when its position is
    not an expression's: (False, None) for what only compiler-written code has there;
    (True, None) for an ordinary position, whose range the caller works out.

    * A ``go``/``defer`` keyword or an interface method: the compiler's wrappers.
    * A generic function's name: each instantiation's wrapper inlines the body there, and
      its allocations count (``-m`` reports them): the name is underlined.
    * Elsewhere in a signature, but at a parameter's name, no value is written: not
      shown.
    * A function literal called where it is written (``func() { ... }()``) and inlined
      there: its code is reported again at the call, and this copy is the one that runs.
      The call's parentheses are underlined, not the whole literal.
    """
    file, pos, origin = place
    if src is None:
        return True, None
    if src.is_wrapper_site(pos):
        return False, None
    if src.in_signature(pos) and not src.at_identifier(pos):  # a parameter is shown
        if not src.in_generic_function(pos):
            return False, None
        return True, src.function_name_range(pos)
    # The literal is the function inlined at the call itself: the outermost level.
    if origin and origin[0].file == file and src.in_called_literal(pos, origin[0].position):
        return True, src.call_arguments_range(pos)
    return True, None


def _fallback_range(pos: Position) -> Range:
    return Range(pos, Position(pos.line, pos.column + 1))


def _origin_location(origin: _Origin) -> Location | None:
    """Where the code is written: the innermost level of inlining."""
    return origin[-1] if origin else None


def _function_at(origin: Location | None, file: str, source: SourceLookup) -> str:
    """The function whose code is at ``origin``, as the compiler names it from ``file``:
    ``must``, ``(*Arr).Int``, ``hex.EncodeToString`` for another package's."""
    written = source(origin.file) if origin is not None else None
    if written is None or origin is None:
        return ""
    name = written.enclosing_function(origin.position)
    if not name or os.path.dirname(origin.file) == os.path.dirname(file):
        return name
    pkg = written.package_name
    return f"(*{pkg}.{name[2:]}" if name.startswith("(*") else f"{pkg}.{name}"


def _to_result(dst: str, diag: RawDiagnostic, source: SourceLookup) -> bool:
    """Whether a leak's destination is one of the function's results: ``~r0``, or a
    named result (which the compiler calls by its name)."""
    if reasons.is_result(dst):
        # Not an inlined function's (`pool.~r0`): that is a variable of this function,
        # and what leaks there leaks to the heap as far as the compiler's summary goes.
        return "." not in dst
    if dst.startswith("{") or not dst.isidentifier():
        return False
    src = source(diag.file)
    return src is not None and dst in src.result_names(diag.position)


def _storage_of(diag: RawDiagnostic) -> str:
    """The heap object a leak record says the parameter flows into: ``&T{...}`` for
    ``parameter p leaks to {storage for &T{...}} with derefs=0``; "" for other leaks."""
    m = _LEAK.match(diag.message)
    dst = m.group("dst") if m else ""
    if dst.startswith("{storage for ") and dst.endswith("}"):
        return dst[len("{storage for ") : -1]
    return ""


def _kept_by_objects(
    leak_findings: list[tuple[Finding, str]], found: list[Finding]
) -> list[Finding]:
    """Leaks into a heap object's storage, explained by that object: "kept by the
    &Core{...} returned to the caller". The object is the heap finding whose range holds
    the step that stores the parameter, and says the same as the compiler."""
    out: list[Finding] = []
    for leak, storage in leak_findings:
        if not storage or leak.reason.code is ReasonCode.CAPTURED:
            out.append(leak)
            continue
        places = [
            s.location.position
            for s in leak.flow
            if s.location is not None and s.location.file == leak.file
        ]
        holder = next(
            (
                f
                for f in found
                if f.file == leak.file
                and f.kind in HEAP_KINDS
                and f.message.startswith(storage)
                and any(f.range.start <= p <= f.range.end for p in places)
            ),
            None,
        )
        name = holder.subject if holder is not None else storage
        if reasons.compiler_made(name) or name == "... argument":
            name = "a value"
        then = holder.reason if holder is not None else None
        out.append(replace(leak, reason=Reason(ReasonCode.KEPT_BY_OBJECT, name, then=then)))
    return out


def _explained_by_holders(found: list[Finding]) -> list[Finding]:
    """Findings whose flow stops short of the heap (``{temp} ← &body``, the receiver of
    the method value ``body.Read``), explained by the heap value that holds them: the
    one whose range the flow's last step lies in. "kept by body.Read, which is on the
    heap: a closure passed to run, which keeps it"."""
    out = []
    for f in found:
        last = next((s.location for s in reversed(f.flow) if s.location is not None), None)
        if f.reason.code is not ReasonCode.UNEXPLAINED or last is None or last.file != f.file:
            out.append(f)
            continue
        holder = next(
            (
                g
                for g in found
                if g is not f
                and g.file == f.file
                and g.kind in HEAP_KINDS
                and g.reason.code is not ReasonCode.UNEXPLAINED
                and g.range.start <= last.position < g.range.end
            ),
            None,
        )
        if holder is None:
            out.append(f)
            continue
        why = Reason(ReasonCode.KEPT_BY_OBJECT, holder.subject, then=holder.reason)
        out.append(replace(f, reason=why))
    return out


def _finding(
    kind: Kind,
    file: str,
    pos: Position,
    rng: Range | None,
    message: str,
    said: str,
    flow: tuple[FlowStep, ...],
    src: SourceFile | None,
    scope: ScopeLookup,
    closures_before: ClosuresBefore,
    source: SourceLookup,
    inline: _Origin,
) -> Finding:
    """A finding of ``kind`` at ``pos`` about what the compiler calls ``said``, in code
    inlined through ``inline`` (outermost first) when that is not empty."""
    origin = _origin_location(inline)
    at = _Site(file, pos, rng, said, src, scope, source, origin)
    reason = reasons.explain(
        kind,
        said,
        flow,
        # The lookups parse source; they run only when a rule needs them.
        is_package_var=at.is_package_var,
        call_at=at.call_at,
        in_go_statement=lambda: src is not None and src.in_go_statement(pos),
        package_var_of=lambda: src.package_var_at(pos) if src is not None else "",
        result_names=lambda: src.result_names(pos) if src is not None else frozenset(),
        value_kind=at.value_kind,
    )
    if kind in HEAP_KINDS and src is not None and rng is not None:
        # `NewT()` underlined for `&T{...} escapes to heap`: say whose code that is. The
        # compiler says where it was written; the function there is its name (the call's
        # text would be `NewArr().Int`, not `(*Arr).Int`).
        called = src.inlined_call(rng, said)
        if called:
            reason = replace(reason, inlined_from=_function_at(origin, file, source) or called)
    return Finding(
        kind=kind,
        file=file,
        range=rng or _fallback_range(pos),
        message=message,
        reason=reason,
        function=src.enclosing_function(pos, closures_before(file)) if src is not None else "",
        flow=flow,
        point=pos,
        subject=at.subject(),
        inline=inline,
    )


@dataclass(frozen=True)
class _Site:
    """Where one verdict was reported, and what the source there says about it: the
    lookups ``reasons.explain`` asks for, and the subject a person reads."""

    file: str
    pos: Position
    rng: Range | None
    said: str
    src: SourceFile | None
    scope: ScopeLookup
    source: SourceLookup
    origin: Location | None

    def subject(self) -> str:
        # What a person reads names the source, not the compiler: `hex.EncodeToString(b)`
        # for `~r0`, `new("a")` for `.autotmp_1`.
        # Only where the range is the value: code inlined at a call is reported there, and
        # the call's text is not the value.
        said, src, rng = self.said, self.src, self.rng
        if (
            src is not None
            and rng is not None
            and (reasons.compiler_made(said) or wording.has_internals(said))
            and ((self.origin is None and reasons.compiler_made(said)) or src.shows(rng, said))
            and not said.startswith("#")  # a loop's state: at its `for`, which says less
        ):
            written = src.compact_text(rng)
            # Only an expression names the value: not the `=` or `return` a result of a
            # call is reported at.
            if written and written not in _KEYWORDS and any(c.isalnum() for c in written):
                return wording.tidy(written)
        return wording.tidy(said)

    def call_at(self, loc: Location | None) -> str | None:
        src, rng = self.src, self.rng
        if src is None or rng is None or (loc is not None and loc.file != self.file):
            return None
        if not src.shows(rng, self.said):
            # Code inlined here from elsewhere is reported at the call: the source at
            # the finding is not the value, and the calls around it not the ones it meets.
            return None
        at = self.pos if loc is None else loc.position
        # At the value itself, the call must take all of it: not a conversion that is it.
        value = rng if rng.start <= at <= rng.end else None
        called = src.enclosing_call(at, value)
        # A method of a chain (".Interface"): the compiler's flow names it better,
        # with its type: `(*Array).Interface`.
        return None if called.startswith(".") else called

    def is_package_var(self, name: str, at: Location | None) -> bool:
        if name not in self.scope(self.file).vars:
            return False
        written = self.source(at.file) if at is not None and at.file != self.file else self.src
        return written is None or at is None or not written.declares_local(name, at.position)

    def value_kind(self) -> str:
        # The compiler's own words for a closure and a variadic call's slice.
        said, src, rng, origin = self.said, self.src, self.rng, self.origin
        if said == "func literal":
            return "func"
        if said == "... argument":
            return "alloc"
        if src is not None and rng is not None and src.shows(rng, said):
            names = self.scope(self.file)
            return src.value_kind(rng, names.methods, names.fields, names.storage)
        # Code inlined here: the value is written in the inlined function.
        written = self.source(origin.file) if origin is not None else None
        if written is None or origin is None:
            return ""
        there = written.expression_range(origin.position, said)
        if there is None or not written.shows(there, said):
            return ""
        names = self.scope(origin.file)
        return written.value_kind(there, names.methods, names.fields, names.storage)

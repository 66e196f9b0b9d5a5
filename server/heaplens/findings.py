"""Classify the compiler's raw log records into typed findings.

The ``-json`` log says less than ``-m`` text in a few places, and this module restores it:

* An escaping *expression* gets two records at its position: the explanation
  (``X escapes to heap`` with its flow) and an empty verdict. A *variable* moved to the
  heap gets the explanation only. So an explanation without a verdict is
  ``moved to heap: X``.
* The compiler's wrappers for ``go``/``defer`` statements are logged too, at the keyword;
  ``-m`` hides them and so do we.
* ``parameter p leaks to {heap} with derefs=N`` records become ``leaking param: p``
  (N = 0), ``leaking param content: p`` (N > 0) or ``leaking param: p to result ~r0
  level=N``, merged per parameter the way the compiler's own summary is.
* The log names no function; the enclosing function comes from the syntax tree.

Every finding gets a full source range and a plain-words reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from . import reasons, suppress
from .compiler_output import RawDiagnostic, RawOutput, inlined_from, related_entries
from .model import HEAP_KINDS, Finding, FlowStep, Kind, Location, Position, Range
from .syntax import SourceFile

_ESCAPES = re.compile(r"^(?P<subject>.+) escapes to heap$")
_LEAK = re.compile(r"^parameter (?P<name>\S+) leaks to (?P<dst>.+?) with derefs=(?P<derefs>-?\d+)$")
_COST = re.compile(r"^cost: (?P<cost>\d+)")

SourceLookup = Callable[[str], "SourceFile | None"]
PackageVars = Callable[[str], Collection[str]]
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
            if steps and location is not None:
                last = steps[-1]
                if last.inlined_from is None:
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


def classify(
    raw: RawOutput,
    wanted: Collection[str],
    source: SourceLookup,
    package_vars: PackageVars,
    closures_before: ClosuresBefore = _none_before,
) -> Classified:
    """Findings for the files in ``wanted`` (absolute paths), from one compile's log."""
    out = Classified(unknown=list(raw.unknown))
    # Escapes by place *and* origin: at a call, several values of the inlined callee are
    # reported at the same position, each with its own origin (``inlined_from``).
    explanations: dict[tuple[str, Position, _Origin], RawDiagnostic] = {}
    verdicts: set[tuple[str, Position, _Origin]] = set()
    leaks: dict[tuple[str, Position], _Leak] = {}
    inline: list[RawDiagnostic] = []
    wanted_set = set(wanted)

    for diag in raw.diagnostics:
        if diag.file not in wanted_set:
            continue
        key = (diag.file, diag.position)
        if diag.code in ("escape", "escapes"):
            place = (diag.file, diag.position, _origin(diag))
            if diag.message:
                if _ESCAPES.match(diag.message):
                    explanations.setdefault(place, diag)
                else:
                    out.unknown.append(f"{diag.file}: {diag.code}: {diag.message}")
            else:
                verdicts.add(place)
        elif diag.code == "leak":
            m = _LEAK.match(diag.message)
            if not m:
                out.unknown.append(f"{diag.file}: leak: {diag.message}")
                continue
            leak = leaks.setdefault(key, _Leak(diag.position, m.group("name")))
            derefs = int(m.group("derefs"))
            dst = m.group("dst")
            if dst == "{heap}":
                if leak.heap is None or derefs < leak.heap[0]:
                    leak.heap = (derefs, diag)
            elif reasons.is_result(dst):
                prev = leak.results.get(dst)
                if prev is None or derefs < prev[0]:
                    leak.results[dst] = (derefs, diag)
        else:
            inline.append(diag)

    moved: set[tuple[str, Position]] = set()
    for place, diag in explanations.items():
        file, pos, _ = place
        src = source(file)
        if src is not None and (src.is_wrapper_site(pos) or _inlined_in_place(place, src)):
            continue
        m = _ESCAPES.match(diag.message)
        assert m is not None
        subject = m.group("subject")
        flow = parse_flow(diag, out.unknown)
        kind = Kind.ESCAPES_TO_HEAP if place in verdicts else Kind.MOVED_TO_HEAP
        if kind is Kind.MOVED_TO_HEAP:
            moved.add((file, pos))
            rng = None
            if src is not None:
                # At an inlined call the variable's name is not in the text: underline the call.
                rng = src.identifier_range(pos, subject)
                if rng is None and src.in_signature(pos):
                    continue  # a generic function's dictionary wrapper, which has no text
                rng = rng or src.expression_range(pos, "")
            message = f"moved to heap: {_tidy(subject)}"
        else:
            if src is not None and src.in_signature(pos):
                continue  # (as above) no expression is written in a signature
            rng = src.expression_range(pos, subject) if src else None
            message = f"{_tidy(subject)} escapes to heap"
        out.findings.append(
            _finding(
                kind, file, pos, rng, message, subject, flow, src, package_vars, closures_before
            )
        )

    for place in sorted(verdicts - explanations.keys()):
        file, pos, _ = place
        src = source(file)
        if src is not None and (src.is_wrapper_site(pos) or _inlined_in_place(place, src)):
            continue
        if src is not None and src.in_signature(pos):
            continue
        rng = src.expression_range(pos, "") if src else None
        subject = src.text(rng) if src and rng else "value"
        out.findings.append(
            _finding(
                Kind.ESCAPES_TO_HEAP,
                file,
                pos,
                rng,
                f"{subject} escapes to heap",
                subject,
                (),
                src,
                package_vars,
                closures_before,
            )
        )

    for key, leak in leaks.items():
        if key in moved:
            continue  # a parameter moved to the heap is reported as that, not as a leak
        file, pos = key
        src = source(file)
        if src is not None and src.is_wrapper_site(pos):
            continue
        messages: list[str] = []
        explained: RawDiagnostic | None = None
        if leak.heap is not None:
            derefs, explained = leak.heap
            messages.append(
                f"leaking param: {leak.name}"
                if derefs == 0
                else f"leaking param content: {leak.name}"
            )
        for dst, (derefs, rdiag) in sorted(leak.results.items()):
            # The compiler drops result leaks that the heap leak already covers.
            if leak.heap is not None and derefs >= leak.heap[0]:
                continue
            messages.append(f"leaking param: {leak.name} to result {dst} level={derefs}")
            explained = explained or rdiag
        if not messages or explained is None:
            continue
        leak_flow = parse_flow(explained, out.unknown)
        if any(s.location is not None and s.location.file == _GENERATED for s in leak_flow):
            # A wrapper the compiler wrote (a promoted or pointer-receiver method): its
            # parameters are reported at the wrapped method, which leaks nothing itself.
            continue
        rng = src.identifier_range(pos, leak.name) if src else None
        out.findings.append(
            _finding(
                Kind.LEAKING_PARAM,
                file,
                pos,
                rng,
                "; ".join(messages),
                leak.name,
                leak_flow,
                src,
                package_vars,
                closures_before,
            )
        )

    for diag in inline:
        src = source(diag.file)
        name = src.function_at(diag.position, closures_before(diag.file)) if src else ""
        if diag.code == "canInlineFunction":
            cost = _COST.match(diag.message)
            message = f"can inline {name}" + (f" with cost {cost.group('cost')}" if cost else "")
            kind = Kind.INLINING
        else:
            message = f"cannot inline {name}: {diag.message}"
            kind = Kind.CANNOT_INLINE
        rng = src.function_name_range(diag.position) if src else None
        out.findings.append(
            Finding(
                kind=kind,
                file=diag.file,
                range=rng or _fallback_range(diag.position),
                message=message,
                reason=diag.message if kind is Kind.CANNOT_INLINE else "",
                function=name,
                point=diag.position,
                subject=name,
            )
        )
    by_file: dict[str, list[Finding]] = {}
    for f in out.findings:
        by_file.setdefault(f.file, []).append(f)
    out.findings = [
        f for file, found in by_file.items() for f in suppress.apply(found, source(file))
    ]
    # The compiler may report one expression at two columns, for the same reason: once.
    unique: dict[tuple[str, Range, Kind, str, str], Finding] = {}
    for f in out.findings:
        unique.setdefault((f.file, f.range, f.kind, f.message, f.reason), f)
    out.findings = list(unique.values())
    # Plain tuples: comparing the ordered dataclasses builds tuples on every comparison.
    out.findings.sort(
        key=lambda f: (
            f.file,
            f.range.start.line,
            f.range.start.column,
            f.range.end.line,
            f.range.end.column,
            f.kind.value,
        )
    )
    return out


#: Where inlined code was written, as a sortable key ("" for code that was not inlined).
_Origin = tuple[str, int, int]


def _origin(diag: RawDiagnostic) -> _Origin:
    where = inlined_from(diag)
    if where is None:
        return ("", 0, 0)
    return (where.file, where.position.line, where.position.column)


#: Where the compiler's own wrappers are "written".
_GENERATED = "<autogenerated>"


def _tidy(text: str) -> str:
    """The compiler's names for a generic function's instantiations, ``F[go.shape.int]``,
    read as ``F[...]``: a shape is an implementation detail nobody wrote."""
    out = text
    searched = 0
    while (at := out.find("go.shape.", searched)) >= 0:
        # The innermost bracket pair around this shape: its type arguments.
        depth = 0
        start = -1
        for i in range(at - 1, -1, -1):
            if out[i] == "]":
                depth += 1
            elif out[i] == "[":
                if depth == 0:
                    start = i
                    break
                depth -= 1
        end = -1
        if start >= 0:
            depth = 0
            for i in range(start, len(out)):
                depth += {"[": 1, "]": -1}.get(out[i], 0)
                if depth == 0:
                    end = i
                    break
        if start < 0 or end < 0:
            # Not within brackets: drop the prefix alone.
            out = out[:at] + out[at + len("go.shape.") :]
            searched = at
            continue
        out = out[:start] + "[...]" + out[end + 1 :]
        searched = start + len("[...]")
    return out


def _inlined_in_place(place: tuple[str, Position, _Origin], src: SourceFile) -> bool:
    """A function literal called where it is written (``func() { ... }()``) and inlined
    there: the compiler reports its code again at the call, which would underline the
    whole literal. The literal's own findings already show each value where it is."""
    file, pos, (origin_file, line, column) = place
    return origin_file == file and src.in_called_literal(pos, Position(line, column))


def _fallback_range(pos: Position) -> Range:
    return Range(pos, Position(pos.line, pos.column + 1))


def _finding(
    kind: Kind,
    file: str,
    pos: Position,
    rng: Range | None,
    message: str,
    subject: str,
    flow: tuple[FlowStep, ...],
    src: SourceFile | None,
    package_vars: PackageVars,
    closures_before: ClosuresBefore,
) -> Finding:

    def call_at(loc: Location | None) -> str:
        if src is None or rng is None or (loc is not None and loc.file != file):
            return ""
        if not src.shows(rng, subject):
            # Code inlined here from elsewhere is reported at the call: the source at
            # the finding is not the value, and the calls around it not the ones it meets.
            return ""
        at = pos if loc is None else loc.position
        # At the value itself, the call must take all of it: not a conversion that is it.
        value = rng if rng is not None and rng.start <= at <= rng.end else None
        return src.enclosing_call(at, value)

    reason = reasons.explain(
        kind,
        subject,
        flow,
        # Both lookups parse source; they run only when a rule needs them.
        is_package_var=lambda n: n in package_vars(file),
        call_at=call_at,
        in_go_statement=lambda: src is not None and src.in_go_statement(pos),
        package_var_of=lambda: src.package_var_at(pos) if src is not None else "",
        result_names=lambda: src.result_names(pos) if src is not None else frozenset(),
    )
    if kind in HEAP_KINDS and src is not None and rng is not None:
        # `NewT()` underlined for `&T{...} escapes to heap`: say where that code is.
        origin = src.inlined_call(rng, subject)
        if origin:
            reason = f"{reason}; from {origin}, inlined here"
    reason = _tidy(reason)
    return Finding(
        kind=kind,
        file=file,
        range=rng or _fallback_range(pos),
        message=message,
        reason=reason,
        function=src.enclosing_function(pos, closures_before(file)) if src is not None else "",
        flow=flow,
        point=pos,
        subject=subject,
    )

"""Bounds checks and nil checks the compiler keeps, as findings of kinds ``bounds-check``
and ``nil-check``.

They come from the same ``-json`` log as the escapes, at no extra compile: the SSA back
end logs ``isInBounds`` (an index) and ``isSliceInBounds`` (a slice expression, one record
per bound) for each bounds check it could not prove away, and ``nilcheck`` for each nil
check it had to emit. Their message is empty: the code and the position are all they say.

Measured with Go 1.26.8 (the fixtures of ``tests/test_bounds_nil.py`` hold each case):

* A bounds check is logged at the ``[`` of its index or slice expression; a nil check at
  the ``.`` of a selector (``p.B`` when ``&p.B`` is taken, ``p.Z`` past the first 4 KiB of
  ``*p``), the ``[`` of an index into a pointer to an array, the ``*`` of ``_ = *p`` or the
  ``range`` of a loop over a pointer to an array. A load that faults by itself needs no
  check: ``return p.A`` and ``return *p`` log nothing.
* ``s[3] + s[1]`` logs one check, at ``s[3]``; a ``for i := range s`` loop's ``s[i]``
  logs none.
* Code inlined at a call is logged at the call's ``(``, with ``inlineLoc`` entries that say
  where it is written. A generic function's instantiation wrapper logs its body's checks
  again at the function's name; the shaped body logs them in the body too, so the copy at
  the name is dropped.
* Columns are 1-based bytes, as everywhere in the log.

A finding's range is the whole checked expression (``s[i]`` with its operand, ``p.B``,
``*p``), so that a statement's checks are found by range. Every finding is made whatever
kinds the user shows: presentations filter by kind, and assertions about bounds checks
read them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .compiler_output import BOUNDS_CODES, RawDiagnostic, inline_chain
from .model import Finding, Kind, Location, Position, Range, Reason, ReasonCode
from .syntax import Checked, SourceFile

SourceLookup = Callable[[str], "SourceFile | None"]
#: The function whose code is at a location, named as from the file of the finding.
FunctionAt = Callable[[Location, str], str]
#: How many package-initialiser closures the compiler numbers before a file's own.
ClosuresBefore = Callable[[str], int]


def check_findings(
    records: Iterable[RawDiagnostic],
    source: SourceLookup,
    closures_before: ClosuresBefore,
    function_at: FunctionAt,
) -> list[Finding]:
    """One finding per record; identical ones (a slice's bounds) are merged, with their
    count, where all findings are (``findings._finished``)."""
    out: list[Finding] = []
    for diag in records:
        found = _check_finding(diag, source, closures_before, function_at)
        if found is not None:
            out.append(found)
    return out


def _check_finding(
    diag: RawDiagnostic,
    source: SourceLookup,
    closures_before: ClosuresBefore,
    function_at: FunctionAt,
) -> Finding | None:
    kind = Kind.BOUNDS_CHECK if diag.code in BOUNDS_CODES else Kind.NIL_CHECK
    src = source(diag.file)
    pos = diag.position
    if src is not None and (src.is_wrapper_site(pos) or src.in_signature(pos)):
        return None  # a wrapper's copy of checks the code it wraps logs itself
    origin = inline_chain(diag)
    rng, checked, inlined = _where(diag, src, origin, source, function_at)
    if diag.span is not None:
        rng, checked = diag.span, None  # past byte 255: the compiler kept no column
    code = ReasonCode.BOUNDS_CHECK if kind is Kind.BOUNDS_CHECK else ReasonCode.NIL_CHECK
    return Finding(
        kind=kind,
        file=diag.file,
        range=rng or Range(pos, Position(pos.line, pos.column + 1)),
        message=_message(kind, checked, inlined, diag.span is not None),
        reason=Reason(code, checked.operand if checked else "", inlined_from=inlined),
        function=src.enclosing_function(pos, closures_before(diag.file)) if src else "",
        point=pos,
        subject=checked.text if checked is not None else "",
        inline=origin,
    )


def _where(
    diag: RawDiagnostic,
    src: SourceFile | None,
    origin: tuple[Location, ...],
    source: SourceLookup,
    function_at: FunctionAt,
) -> tuple[Range | None, Checked | None, str]:
    """The range to underline, the checked expression where it is written, and the
    function it was inlined from ("" when it is not inlined)."""
    if src is None:
        return None, None, ""
    if not origin:
        checked = src.checked_at(diag.position)
        return (checked.range if checked else None), checked, ""
    written_at = origin[-1]
    written = source(written_at.file)
    checked = written.checked_at(written_at.position) if written is not None else None
    if (
        written_at.file == diag.file
        and checked is not None
        and src.in_called_literal(diag.position, origin[0].position)
    ):
        # `func() { ... }()` inlined where it is written: the check is right there.
        return checked.range, checked, ""
    # Code inlined at a call: the call is underlined, the expression named.
    return src.expression_range(diag.position, ""), checked, function_at(written_at, diag.file)


def _message(kind: Kind, checked: Checked | None, inlined: str, saturated: bool) -> str:
    """ "bounds check on s[i]: the compiler cannot prove i is within s", "nil check of p
    before p.A"; with "in F, inlined here" for code inlined at a call."""
    what = "bounds check" if kind is Kind.BOUNDS_CHECK else "nil check"
    if checked is None:
        if saturated:
            return f"{what} from byte 255 of this line on (the compiler records no column there)"
        return f"{what} in code inlined here from {inlined}" if inlined else what
    where = f" in {inlined}, inlined here" if inlined else ""
    if kind is Kind.NIL_CHECK:
        return f"nil check of {checked.operand} before {checked.text}{where}"
    if checked.form == "slice":
        why = f"the slice bounds [{checked.index}] are within {checked.operand}"
    elif checked.form == "index":
        why = f"{checked.index} is within {checked.operand}"
    else:
        why = f"{checked.text} is within bounds"
    return f"bounds check on {checked.text}{where}: the compiler cannot prove {why}"

"""Proving a fix with the compiler.

The candidate is applied to the current text (unsaved buffers included), formatted with
the toolchain's gofmt, and the package is recompiled with the engine (tests included, so
a fix that breaks a test file does not pass). The fix is kept only if everything builds,
and, for the fixes that promise fewer heap escapes, only if the compiler reports fewer.
A type parameter that the rewritten function still converts to an interface is refused
whatever the count: the allocation has only moved from the call sites into the function.
The engine caches by content, so verifying the same fix again costs no compile.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from ..engine import Engine
from ..model import HEAP_KINDS, Finding, Kind
from ..toolchain import CancelToken
from ..workspace import Query
from .edits import FormatError, apply, finish
from .model import PREALLOCATE, Candidate, VerifiedFix
from .type_param import TypeParameterCandidate, still_boxed


def _in_scope(f: Finding, candidate: Candidate) -> bool:
    if f.kind not in HEAP_KINDS:
        return False
    scope = candidate.scope_function
    if not scope:
        # The whole package, body of the rewritten function included, counted alike
        # before and after: callers may hand in findings without those the compiler
        # reports in other packages' inlined code, a recompile has them all.
        return os.path.dirname(f.file) == os.path.dirname(candidate.file)
    return f.function == scope or f.function.startswith(scope + ".func")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def verify(
    engine: Engine,
    query: Query,
    overlays: Mapping[str, bytes],
    candidate: Candidate,
    before: Sequence[Finding],
    cancel: CancelToken | None = None,
) -> VerifiedFix | None:
    """The candidate as a verified fix, or None if the compiler does not back it."""
    path = candidate.file
    original = overlays.get(path)
    if original is None:
        try:
            with open(path, "rb") as f:
                original = f.read()
        except OSError:
            return None
    goroot = engine.go_env(os.path.dirname(path)).goroot
    count_before = sum(1 for f in before if _in_scope(f, candidate))
    for alt in candidate.alternatives:
        summary = alt.summary
        try:
            fixed, minimal = finish(original, alt.edits, goroot, engine.deadline)
        except FormatError:
            continue
        probed = apply(original, [*alt.edits, *alt.probes]) if alt.probes else fixed
        result = engine.check_queries([query], {**overlays, path: probed}, cancel)
        if result.all_errors or not result.packages:
            continue
        if isinstance(candidate, TypeParameterCandidate) and (
            still_boxed(candidate, result.findings)
            or _callers_still_escape(candidate, before, result.findings)
        ):
            return None  # the boxing only moved, or the callers' values escape anyway
        count_after = sum(1 for f in result.findings if _in_scope(f, candidate))
        removed = count_before - count_after
        title = _title(candidate, summary, removed)
        if title is None:
            return None
        return VerifiedFix(
            kind=candidate.kind,
            file=path,
            title=title,
            anchors=candidate.anchors,
            scope_function=candidate.scope_function,
            edits=tuple(minimal),
            fixed=fixed,
            removed_escapes=removed,
            after=None if alt.probes else tuple(result.findings),
        )
    return None


def _callers_still_escape(
    candidate: Candidate, before: Sequence[Finding], after: Sequence[Finding]
) -> bool:
    """Whether a value the callers passed still goes to the heap after the rewrite: at
    its call site, or as the caller's variable moved to the heap. The count of findings
    can drop while no allocation goes away (an escape reported at each call becomes one
    variable moved to the heap), so the values that motivated the fix are checked one by
    one. Callers are on other lines than the rewritten signature: their positions hold."""
    anchors = set(candidate.anchors[1:])  # the first anchor is the parameter itself
    callers = [f for f in before if (f.file, f.range) in anchors and f.kind in HEAP_KINDS]
    for caller in callers:
        variable = re.fullmatch(r"&?([A-Za-z_]\w*)", caller.subject)
        for f in after:
            if f.kind not in HEAP_KINDS or f.file != caller.file:
                continue
            if f.range == caller.range:
                return True
            if (
                variable is not None
                and f.kind is Kind.MOVED_TO_HEAP
                and f.subject == variable.group(1)
                and f.function == caller.function
            ):
                return True
    return False


def _title(candidate: Candidate, summary: str, removed: int) -> str | None:
    note = f"; {candidate.note}" if candidate.note else ""
    if candidate.kind == PREALLOCATE:
        # The gain is growth: one allocation of the right size instead of log2(n) regrowths.
        # The new make may itself be reported as escaping where the slice does.
        if removed > 0 and candidate.constant_capacity:
            escapes = _plural(removed, "heap escape")
            gain = f"constant capacity keeps the backing array on the stack, {escapes} removed"
        elif removed > 0:
            gain = f"no regrowth in the loop, {_plural(removed, 'heap escape')} removed"
        else:
            gain = "no regrowth in the loop"
        return f"{summary} ({gain}{note}; verified)"
    if removed <= 0:
        return None  # verification shows it gains nothing
    where = f" from {candidate.scope_function}" if candidate.scope_function else ""
    return f"{summary}: {_plural(removed, 'heap escape')} removed{where} (verified{note})"

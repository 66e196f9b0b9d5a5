"""Proving a fix with the compiler.

The candidate is applied to the current text (unsaved buffers included), formatted with
the toolchain's gofmt, and its package is compiled again, tests included, so that a fix
that breaks a test file does not pass. A fix that changes an exported signature is
compiled with every package of its module, so that no importer in it breaks. The heap
verdicts of the same packages before and after are compared, by kind, function and
expression (lines move when a fix adds some). A fix is verified only when:

* everything builds;
* its fixer accepts what the compiler reports (``Fixer.accept``), for the built-ins: the
  compiler no longer reports the allocation its title names: the pooled value, or
  the callers' arguments a type parameter stops boxing (and, for a type parameter, no
  call site anywhere still boxes for the function, and the function does not box the
  parameter itself: the allocation would only have moved inside);
* no new heap verdict appears anywhere, but those the fix means to add: the ``make`` of a
  preallocation (one allocation of the right size instead of the regrowth ``append``
  does at run time, which the compiler does not report), and the pool's ``New``.

The fixer's title then says what the compiler showed. Where it declines, ``verify`` says
at which ``Stage`` and why (a ``Refusal``). The engine caches results by content, so
verifying the same fix again (after a restart too) costs no compile.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from ..analysis import CheckResult, Engine
from ..model import HEAP_KINDS, Finding, Range
from ..syntax import SourceFile
from ..toolchain import CancelToken
from ..workspace import Query, find_up, plan
from . import registry
from .edits import Edit, FormatError, apply, finish
from .fixer import NEW_ESCAPE, Refusal, Stage, Verdict, decline
from .model import Alternative, Candidate, VerifiedFix

_WS = re.compile(r"\s+")
#: Reasons for refusals at the stages before the fixer's own check; tests match on them.
DOES_NOT_BUILD_BEFORE = "the package does not build as it is"
NOT_FORMATTED = "gofmt rejects the rewrite"
DOES_NOT_BUILD = "does not build"
_Key = tuple[str, str, str, str]


def _generic(function: str) -> str:
    """``Show[go.shape.struct { n int }]`` → ``Show``: a function made generic by a fix
    is reported per shape, and is the same function."""
    out, depth = [], 0
    for ch in function:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _key(f: Finding) -> _Key:
    """A heap verdict, wherever its line has moved to."""
    return (f.kind.value, f.file, _generic(f.function), _WS.sub("", f.subject))


def _heap(findings: Iterable[Finding], directories: frozenset[str] | None) -> list[Finding]:
    """Heap verdicts in the packages compared (all of them when ``directories`` is None)."""
    return [
        f
        for f in findings
        if f.kind in HEAP_KINDS and (directories is None or os.path.dirname(f.file) in directories)
    ]


def _queries(engine: Engine, query: Query, candidate: Candidate) -> list[Query]:
    """What must compile: the package, or for a new exported signature its whole module."""
    if not candidate.changes_api:
        return [query]
    root = find_up(os.path.dirname(candidate.file), "go.mod")
    if root is None:
        return [query]
    return plan(["./..."], root, engine.base_env()) or [query]


def verify(
    engine: Engine,
    query: Query,
    overlays: Mapping[str, bytes],
    candidate: Candidate,
    before: Sequence[Finding],
    cancel: CancelToken | None = None,
) -> VerifiedFix | Refusal:
    """The candidate as a verified fix, or why the compiler does not back it (for a
    candidate with alternatives, the refusal of the one that got furthest). ``before``
    are the findings the candidate was proposed from (its anchors are ranges of them)."""
    path = candidate.file
    original = _text(path, overlays)
    if isinstance(original, Refusal):
        return original
    goroot = engine.go_env(os.path.dirname(path)).goroot
    queries = _queries(engine, query, candidate)
    # Compiled again rather than taken from ``before``: callers may hand in findings
    # without those in other packages' inlined code, and the comparison needs all. The
    # engine's cache answers it without a compile when nothing changed.
    base = engine.check_queries(queries, overlays, cancel, stop_after_escape=False)
    if base.all_errors or not base.packages:
        return decline(Stage.BASELINE, DOES_NOT_BUILD_BEFORE)
    directories = None if candidate.changes_api else frozenset({os.path.dirname(path)})
    anchors = _anchored(candidate, [*base.findings, *before])
    old = _heap(base.findings, directories)
    refusal = decline(Stage.EDIT, "no way to write it")
    for alt in candidate.alternatives:
        try:
            fixed, minimal = finish(original, alt.edits, goroot, engine.deadline)
        except FormatError as e:
            refusal = _further(refusal, decline(Stage.EDIT, f"{NOT_FORMATTED}: {e}"))
            continue
        probed = apply(original, [*alt.edits, *alt.probes]) if alt.probes else fixed
        result = engine.check_queries(
            queries, {**overlays, path: probed}, cancel, stop_after_escape=False
        )
        if result.all_errors or not result.packages:
            refusal = _further(refusal, decline(Stage.COMPILE, _build_error(result)))
            continue
        new = _heap(result.findings, directories)
        moved = _moved_lines(path, original, fixed)
        verdict = _verdict(candidate, alt, anchors, old, new, fixed, result.findings, moved)
        if isinstance(verdict, Refusal):
            return verdict
        return _accepted(candidate, alt, verdict, new, minimal, bool(alt.probes))
    return refusal


def _accepted(
    candidate: Candidate,
    alt: Alternative,
    verdict: Verdict,
    new: Sequence[Finding],
    minimal: Sequence[Edit],
    probed: bool,
) -> VerifiedFix | Refusal:
    """The fix, if its kind's own check accepts what the compiler showed."""
    fixer = registry.lookup(candidate.kind)
    refused = fixer.accept(candidate, verdict)
    if refused is not None:
        return refused
    anchors = verdict.anchors
    removed = sum(1 for f in anchors if f.kind in HEAP_KINDS) - _remaining(anchors, new)
    return VerifiedFix(
        kind=candidate.kind,
        file=candidate.file,
        title=fixer.title(candidate, alt, verdict),
        anchors=candidate.anchors,
        scope_function=candidate.scope_function,
        edits=tuple(minimal),
        fixed=verdict.fixed,
        removed_escapes=removed,
        changes_api=candidate.changes_api,
        # A probe's compile is not the fix's own, and an API change reaches other
        # packages: neither compile's findings stand for the fixed package.
        after=None if probed or candidate.changes_api else tuple(verdict.findings),
    )


def _text(path: str, overlays: Mapping[str, bytes]) -> bytes | Refusal:
    """The text the candidate rewrites: its overlay (an unsaved buffer), or as saved."""
    data = overlays.get(path)
    if data is not None:
        return data
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        return decline(Stage.EDIT, f"cannot read {path}: {e.strerror}")


def _further(a: Refusal, b: Refusal) -> Refusal:
    """Of two alternatives' refusals, the one that got further (the later on a tie)."""
    return a if a.stage.rank > b.stage.rank else b


def _build_error(result: CheckResult) -> str:
    """``does not build: p.go:3:2: undefined: x``, from the first error there is."""
    errors = result.all_errors
    if not errors:
        return DOES_NOT_BUILD
    first = errors[0]
    where = f"{os.path.basename(first.file)}:{first.line}:{first.column}: " if first.file else ""
    return f"{DOES_NOT_BUILD}: {where}{first.message}"


def _anchored(candidate: Candidate, findings: Iterable[Finding]) -> list[Finding]:
    """The findings the candidate answers, once each."""
    wanted = set(candidate.anchors)
    out: dict[tuple[str, Range], Finding] = {}
    for f in findings:
        if (f.file, f.range) in wanted and f.kind in HEAP_KINDS:
            out.setdefault((f.file, f.range), f)
    return list(out.values())


def _remaining(anchors: Sequence[Finding], after: Sequence[Finding]) -> int:
    """How many of the anchors' verdicts the compiler still reports."""
    have = Counter(_key(f) for f in after)
    want = Counter(_key(f) for f in anchors)
    return sum(min(n, have[k]) for k, n in want.items())


def _added(
    old: Sequence[Finding],
    new: Sequence[Finding],
    moved: Callable[[str, int], tuple[int, bool] | None],
) -> list[Finding]:
    """Verdicts in ``new`` beyond those ``old`` has: by key, then by place, for a verdict
    on an unchanged line whose expression the compiler now prints otherwise (a generic
    body's calls go through its dictionary: ``(func(...) string)(&.dict[0])(v)``)."""
    budget = Counter(_key(f) for f in old)
    unmatched = []
    for f in new:
        k = _key(f)
        if budget[k] > 0:
            budget[k] -= 1
        else:
            unmatched.append(f)
    if not unmatched:
        return []
    # Old verdicts not matched by key, by where they are now: (kind, file, function,
    # line, column or -1 when the line's text changed).
    places: Counter[tuple[str, str, str, int, int]] = Counter()
    for f in old:
        if budget[_key(f)] > 0:
            budget[_key(f)] -= 1
            where = moved(f.file, f.range.start.line)
            if where is not None:
                line, same = where
                column = f.range.start.column if same else -1
                places[(f.kind.value, f.file, _generic(f.function), line, column)] += 1
    out = []
    for f in unmatched:
        function = _generic(f.function)
        at = (f.kind.value, f.file, function, f.range.start.line)
        for place in ((*at, f.range.start.column), (*at, -1)):
            if places[place] > 0:
                places[place] -= 1
                break
        else:
            out.append(f)
    return out


def _moved_lines(
    path: str, original: bytes, fixed: bytes
) -> Callable[[str, int], tuple[int, bool] | None]:
    """Where a line is after the fix (1-based), and whether its text is unchanged (its
    columns hold): a line the fix rewrote in place (a signature given a type parameter)
    keeps its number only. None for a line the fix removed or split. The package's other
    files do not change."""
    matcher = difflib.SequenceMatcher(
        None, original.splitlines(), fixed.splitlines(), autojunk=False
    )
    lines: dict[int, tuple[int, bool]] = {}
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal" or (op == "replace" and a2 - a1 == b2 - b1):
            for i in range(a2 - a1):
                lines[a1 + i + 1] = (b1 + i + 1, op == "equal")

    def moved(file: str, line: int) -> tuple[int, bool] | None:
        return lines.get(line) if file == path else (line, True)

    return moved


def _variable_lines(fixed: bytes, path: str, name: str) -> tuple[int, int] | None:
    """The lines (1-based, inclusive) of the package variable ``name`` in ``fixed``."""
    src = SourceFile(path, fixed)
    for spec in src.nodes_of_type("var_spec"):
        names = spec.children_by_field_name("name")
        if any(c.text is not None and c.text.decode() == name for c in names):
            return spec.start_point.row + 1, spec.end_point.row + 1
    return None


def _expected(
    candidate: Candidate, alt: Alternative, f: Finding, pool: tuple[int, int] | None
) -> bool:
    """A new verdict the fix means to add."""
    if pool is not None and f.file == candidate.file and pool[0] <= f.range.start.line <= pool[1]:
        return True  # the pool's New: once per pooled value, not per call
    # Anywhere: where the function is inlined, its copy of the make is reported in the
    # caller. Only the fix added code, so a new verdict on the same text is one of them.
    return _WS.sub("", f.subject) in {_WS.sub("", e) for e in alt.expected_new}


def _verdict(
    candidate: Candidate,
    alt: Alternative,
    anchors: Sequence[Finding],
    old: Sequence[Finding],
    new: Sequence[Finding],
    fixed: bytes,
    everything: Sequence[Finding],
    moved: Callable[[str, int], tuple[int, bool] | None],
) -> Verdict | Refusal:
    """What the compiler's verdicts show for the fixer to judge, or the refusal every
    kind shares: something escapes that the fix does not mean to add."""
    pool = (
        _variable_lines(fixed, candidate.file, candidate.adds_variable)
        if candidate.adds_variable
        else None
    )
    added = _added(old, new, moved)
    unexpected = [f for f in added if not _expected(candidate, alt, f, pool)]
    if unexpected:
        # Not the trade the title offers.
        first = unexpected[0]
        where = f"{os.path.basename(first.file)}:{first.range.start.line}"
        return decline(Stage.ACCEPT, f"{NEW_ESCAPE}: {first.subject} at {where}")
    gone = _remaining(anchors, new) == 0 and bool(anchors)
    return Verdict(anchors=anchors, gone=gone, added=added, findings=everything, fixed=fixed)

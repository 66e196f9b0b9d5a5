"""Every candidate fix for a package's findings."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

from ..analysis.results import CheckResult, UnitFindings
from ..cache import ResultCache, UnitResult
from ..model import Finding, Fix, Range
from ..syntax import SourceFile
from . import registry
from .fixer import Proposal
from .model import Candidate

_GENERATED = re.compile(rb"^// Code generated .* DO NOT EDIT\.\r?$", re.M)


def is_generated(source: bytes) -> bool:
    """The file says it is generated, as Go's convention has it: a ``// Code generated
    ... DO NOT EDIT.`` line before the package clause."""
    package = re.search(rb"^package\s", source, re.M)
    head = source[: package.start()] if package else source
    return _GENERATED.search(head) is not None


def propose(
    findings: Sequence[Finding],
    source: Callable[[str], SourceFile | None],
    kinds: Collection[str] | None = None,
    editable: Collection[str] | None = None,
) -> list[Candidate]:
    """Candidates for ``findings`` from every registered fixer (of ``kinds``, when
    given), in the registry's order and, within a fixer, in file order.
    Only files in ``editable`` (the package's own files, when given) are ever rewritten:
    a finding reported in GOROOT, the module cache or another module through inlining is
    never edited, and nor is a generated file (its generator would undo the fix, or trip
    over it)."""
    found = [f for f in findings if editable is None or f.file in editable]
    files: list[SourceFile] = []
    generated: set[str] = set()
    for file in sorted({f.file for f in found}):
        src = source(file)
        if src is None:
            continue
        if is_generated(src.source):
            generated.add(file)
        else:
            files.append(src)
    proposal = Proposal(found, tuple(files), source)
    # The registry's order is the order `heaplens fix` tries them: a signature change
    # (type parameter) only after every body-local rewrite, as before the registry.
    return [
        c
        for fixer in registry.fixers()
        if kinds is None or fixer.kind in kinds
        for c in fixer.candidates(proposal)
        if c.file not in generated and (editable is None or c.file in editable)
    ]


def attach_candidates(
    findings: Sequence[Finding],
    source: Callable[[str], SourceFile | None],
    editable: Collection[str],
) -> list[Finding]:
    """The findings, each with the fixes that could apply to it (not yet verified)."""
    found = list(findings)
    attached: dict[tuple[str, Range], list[Fix]] = {}
    for cand in propose(found, source, editable=editable):
        title = cand.summary + (f" ({cand.note})" if cand.note else "")
        for anchor in cand.anchors:
            attached.setdefault(anchor, []).append(Fix(cand.kind, title, False))
    if not attached:
        return found
    return [
        replace(f, fixes=tuple(attached.get((f.file, f.range), ())))
        if (f.file, f.range) in attached
        else f
        for f in found
    ]


def with_candidates(
    result: CheckResult,
    source: Callable[[str], SourceFile | None] | None = None,
    cache: ResultCache | None = None,
) -> CheckResult:
    """``result`` with the fixes that could apply to each finding (not yet verified),
    proposed on each compile unit's findings together, as the unit reported them.
    ``source``: where the files are read, by default as the check read them. ``cache``:
    where the proposals of a unit are kept under its key, so a result answered from the
    cache is not parsed again to propose the same fixes."""
    get = source or result.sources
    if get is None:
        return result
    packages = []
    for pkg in result.packages:
        attached: dict[int, Finding] = {}
        units = []
        for unit in pkg.units:
            found = _unit_candidates(unit, get, None if source else cache)
            attached.update((id(old), new) for old, new in zip(unit.findings, found, strict=True))
            units.append(replace(unit, findings=tuple(found)))
        findings = tuple(attached.get(id(f), f) for f in pkg.findings)
        packages.append(replace(pkg, findings=findings, units=tuple(units)))
    return replace(result, packages=packages)


def _unit_candidates(
    unit: UnitFindings, get: Callable[[str], SourceFile | None], cache: ResultCache | None
) -> list[Finding]:
    if cache is None or not unit.key:
        return attach_candidates(unit.findings, get, editable=unit.editable)
    # The unit's key covers its files' text, the toolchain and heaplens's own code: the
    # same key, the same proposals. The editable files are keyed too (a query of files).
    key = hashlib.sha256(
        "\0".join(("candidates", unit.key, *sorted(unit.editable))).encode()
    ).hexdigest()
    hit = cache.get(key)
    if hit is not None:
        # Only the findings that have candidates are kept: most have none.
        fixes = {_place(h): h.fixes for h in hit.findings}
        if len(fixes) == len(hit.findings) and fixes.keys() <= {_place(f) for f in unit.findings}:
            return [
                replace(f, fixes=fixes[_place(f)]) if _place(f) in fixes else f
                for f in unit.findings
            ]
    found = attach_candidates(unit.findings, get, editable=unit.editable)
    cache.put(key, UnitResult(tuple(f for f in found if f.fixes), ()))
    return found


def _place(f: Finding) -> tuple[str, Range, str]:
    return (f.file, f.range, f.kind.value)

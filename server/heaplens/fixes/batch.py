"""Applying fixes across packages, one verified fix at a time (``heaplens fix``).

Fixes are verified against the text as it is after the fixes already taken, so two fixes
that touch the same file (both adding ``import "sync"``, say) never conflict: the second
is proposed and verified on the result of the first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from ..analysis import Engine
from ..model import Finding
from ..syntax import SourceFile
from ..toolchain import CancelToken
from ..workspace import Query, plan
from .model import FIX_KINDS, Candidate, VerifiedFix
from .propose import propose
from .verify import verify


@dataclass
class FixRun:
    applied: list[VerifiedFix] = field(default_factory=list)
    #: Every file a fix changed: its text on disk, and after all fixes.
    files: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    #: Packages that did not build, so nothing was tried there.
    skipped: list[str] = field(default_factory=list)
    #: Fixes the compiler verified but the judge refused, with its reason.
    dropped: list[tuple[VerifiedFix, str]] = field(default_factory=list)
    #: Candidates not tried because they would change an exported API.
    api_changes: list[Candidate] = field(default_factory=list)
    #: Candidates the compiler did not back: they did not build, kept the allocation
    #: they were for, or made something else escape.
    unverified: list[Candidate] = field(default_factory=list)


#: Decides, after the compiler has verified a fix, whether to take it: given the
#: package's directory, the overlays before and with the fix, and the fix, it returns
#: None to take it or the reason it is dropped (``measure``: tests, benchmarks).
Judge = Callable[[str, Mapping[str, bytes], Mapping[str, bytes], VerifiedFix], "str | None"]


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def fix_all(
    engine: Engine,
    args: Iterable[str],
    cwd: str,
    kinds: Collection[str] = FIX_KINDS,
    cancel: CancelToken | None = None,
    *,
    tests: bool = False,
    allow_api_change: bool = False,
    judge: Judge | None = None,
) -> FixRun:
    """Verify and take fixes package by package. Test files are not rewritten unless
    ``tests``: a fix there can move lines the tests themselves assert on. A candidate
    that changes an exported signature is only tried with ``allow_api_change``. ``judge``
    (tests, benchmarks) has the last word on each verified fix."""
    run = FixRun()
    overlays: dict[str, bytes] = {}
    # Each file as first read: what its fixes were computed on, so that writing them can
    # tell whether the user saved something else meanwhile.
    snapshot: dict[str, bytes] = {}

    def source(path: str) -> SourceFile | None:
        data = overlays.get(path)
        if data is None:
            data = snapshot.get(path)
        if data is None:
            data = _read(path)
            if data is not None:
                snapshot[path] = data
        return SourceFile(path, data) if data is not None else None

    result = engine.check(list(args) or ["./..."], cwd, cancel=cancel)
    for pkg in result.packages:
        if pkg.errors:
            run.skipped.append(pkg.import_path)
            continue
        query = _package_query(engine, pkg.dir)
        if query is None:
            continue
        findings: list[Finding] = list(pkg.findings)
        editable = {p for p in pkg.files if tests or not p.endswith("_test.go")}
        tried: set[tuple[str, str, str, str]] = set()
        while True:
            fresh = [
                c
                for c in propose(findings, source, kinds, editable=editable)
                if (c.kind, c.file, c.function, c.summary) not in tried
            ]
            if not fresh:
                break
            candidate = fresh[0]
            tried.add((candidate.kind, candidate.file, candidate.function, candidate.summary))
            if candidate.changes_api and not allow_api_change:
                run.api_changes.append(candidate)
                continue
            fix = verify(engine, query, overlays, candidate, findings, cancel)
            if fix is None:
                run.unverified.append(candidate)
                continue
            if judge is not None:
                refused = judge(pkg.dir, overlays, {**overlays, fix.file: fix.fixed}, fix)
                if refused is not None:
                    run.dropped.append((fix, refused))
                    continue
            known = run.files.get(fix.file)
            if known is not None:
                original = known[0]
            else:
                original = snapshot.get(fix.file) or _read(fix.file) or b""
            overlays[fix.file] = fix.fixed
            run.files[fix.file] = (original, fix.fixed)
            run.applied.append(fix)
            if fix.after is not None:
                findings = [f for f in fix.after if os.path.dirname(f.file) == pkg.dir]
            else:
                again = engine.check_queries([query], overlays, cancel)
                findings = [f for f in again.findings if os.path.dirname(f.file) == pkg.dir]
    return run


def _package_query(engine: Engine, directory: str) -> Query | None:
    queries = plan([directory], directory, engine.base_env())
    return queries[0] if queries else None

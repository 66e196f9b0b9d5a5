"""Applying fixes across packages, one verified fix at a time (``heaplens fix``).

Fixes are verified against the text as it is after the fixes already taken, so two fixes
that touch the same file (both adding ``import "sync"``, say) never conflict: the second
is proposed and verified on the result of the first.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from ..engine import Engine
from ..model import Finding
from ..syntax import SourceFile
from ..toolchain import CancelToken
from ..workspace import Query, plan
from .model import FIX_KINDS, VerifiedFix
from .propose import propose
from .verify import verify


@dataclass
class FixRun:
    applied: list[VerifiedFix] = field(default_factory=list)
    #: Every file a fix changed: its text on disk, and after all fixes.
    files: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    #: Packages that did not build, so nothing was tried there.
    skipped: list[str] = field(default_factory=list)


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
) -> FixRun:
    run = FixRun()
    overlays: dict[str, bytes] = {}

    def source(path: str) -> SourceFile | None:
        data = overlays.get(path) or _read(path)
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
        tried: set[tuple[str, str, str, str]] = set()
        while True:
            fresh = [
                c
                for c in propose(findings, source, kinds, editable=set(pkg.files))
                if (c.kind, c.file, c.function, c.summary) not in tried
            ]
            if not fresh:
                break
            candidate = fresh[0]
            tried.add((candidate.kind, candidate.file, candidate.function, candidate.summary))
            fix = verify(engine, query, overlays, candidate, findings, cancel)
            if fix is None:
                continue
            known = run.files.get(fix.file)
            original = known[0] if known is not None else (_read(fix.file) or b"")
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

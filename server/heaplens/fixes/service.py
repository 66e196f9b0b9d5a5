"""The one propose → verify → attach service: ``FixService``.

Every caller goes through it: ``heaplens check --verify-fixes`` (``with_verified``),
``heaplens fix`` (``fix_all``), the server's background verification (``propose`` and
``verify``, one candidate at a time, as it schedules them) and the fix tests (``first``).
A candidate the compiler does not back comes back as a ``Refusal`` saying at which stage
and why, never as a bare None.

``fix_all`` verifies fixes against the text as it is after the fixes already taken, so
two fixes that touch the same file (both adding ``import "sync"``, say) never conflict:
the second is proposed and verified on the result of the first.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from ..analysis import CheckResult, Engine
from ..model import Finding, Fix, Range
from ..syntax import SourceFile
from ..toolchain import CancelToken
from ..workspace import Query, plan
from .fixer import NO_CANDIDATE, Refusal, Stage, decline
from .model import Candidate, VerifiedFix
from .propose import propose
from .verify import verify

#: Decides, after the compiler has verified a fix, whether to take it: given the
#: package's directory, the overlays before and with the fix, and the fix, it returns
#: None to take it or the reason it is dropped (``measure``: tests, benchmarks).
Judge = Callable[[str, Mapping[str, bytes], Mapping[str, bytes], VerifiedFix], "str | None"]
Source = Callable[[str], SourceFile | None]
#: What the service made of one candidate.
Outcome = tuple[Candidate, VerifiedFix | Refusal]
#: The reason a candidate that changes an exported API is not tried.
CHANGES_API = "it changes the exported API"


@dataclass
class FixRun:
    """What ``fix_all`` did."""

    applied: list[VerifiedFix] = field(default_factory=list)
    #: Every file a fix changed: its text on disk, and after all fixes.
    files: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    #: Packages that did not build, so nothing was tried there.
    skipped: list[str] = field(default_factory=list)
    #: Fixes the compiler verified but the judge refused, with its reason.
    dropped: list[tuple[VerifiedFix, str]] = field(default_factory=list)
    #: Candidates not tried because they would change an exported API.
    api_changes: list[Candidate] = field(default_factory=list)
    #: Candidates the compiler did not back, with why: they did not build, kept the
    #: allocation they were for, or made something else escape.
    unverified: list[tuple[Candidate, Refusal]] = field(default_factory=list)


def read_file(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def disk_source(path: str) -> SourceFile | None:
    """A file as saved."""
    data = read_file(path)
    return SourceFile(path, data) if data is not None else None


def furthest(refusals: Iterable[Refusal]) -> Refusal:
    """The refusal that got furthest (the first on a tie): it says most about why no fix
    holds. ``no candidate`` when there is none."""
    best = decline(Stage.PROPOSE, NO_CANDIDATE)
    for r in refusals:
        if r.stage.rank > best.stage.rank:
            best = r
    return best


def attach(findings: Iterable[Finding], verified: Iterable[VerifiedFix]) -> list[Finding]:
    """The findings, each with the verified fixes that answer it (and no others)."""
    attached: dict[tuple[str, Range], list[Fix]] = {}
    for fix in verified:
        for anchor in fix.anchors:
            attached.setdefault(anchor, []).append(Fix(fix.kind, fix.title, True))
    return [
        dataclasses.replace(f, fixes=tuple(attached.get((f.file, f.range), ()))) for f in findings
    ]


class FixService:
    """Proposes, verifies and attaches fixes with one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def query_for(self, directory: str) -> Query | None:
        """The query that compiles the package in ``directory``."""
        queries = plan([directory], directory, self.engine.base_env())
        return queries[0] if queries else None

    def propose(
        self,
        findings: Sequence[Finding],
        source: Source,
        kinds: Collection[str] | None = None,
        editable: Collection[str] | None = None,
    ) -> list[Candidate]:
        """Every registered fixer's candidates (``propose.propose``)."""
        return propose(findings, source, kinds, editable)

    def verify(
        self,
        query: Query,
        overlays: Mapping[str, bytes],
        candidate: Candidate,
        before: Sequence[Finding],
        cancel: CancelToken | None = None,
    ) -> VerifiedFix | Refusal:
        """The candidate, compiled: a verified fix, or why not (``verify.verify``)."""
        return verify(self.engine, query, overlays, candidate, before, cancel)

    def outcomes(
        self,
        query: Query,
        findings: Sequence[Finding],
        source: Source,
        *,
        kinds: Collection[str] | None = None,
        editable: Collection[str] | None = None,
        overlays: Mapping[str, bytes] | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[Outcome]:
        """Each candidate for ``findings`` with what verification made of it, one
        compile at a time (lazily: stop iterating to stop compiling)."""
        for candidate in self.propose(findings, source, kinds, editable):
            yield candidate, self.verify(query, overlays or {}, candidate, findings, cancel)

    def first(
        self,
        query: Query,
        findings: Sequence[Finding],
        source: Source,
        kinds: Collection[str] | None = None,
    ) -> VerifiedFix | Refusal:
        """The first candidate the compiler backs, or the refusal that got furthest."""
        refusals = []
        for _candidate, result in self.outcomes(query, findings, source, kinds=kinds):
            if isinstance(result, VerifiedFix):
                return result
            refusals.append(result)
        return furthest(refusals)

    def with_verified(self, result: CheckResult, source: Source = disk_source) -> CheckResult:
        """``result`` with each finding's candidate fixes replaced by those the compiler
        verifies. As ``fix`` does by default: test files are compiled, never rewritten."""
        packages = []
        for pkg in result.packages:
            if pkg.errors or not any(f.fixes for f in pkg.findings):
                packages.append(pkg)
                continue
            query = self.query_for(pkg.dir)
            editable = {p for p in pkg.files if not p.endswith("_test.go")}
            outcomes = (
                self.outcomes(query, pkg.findings, source, editable=editable) if query else ()
            )
            verified = [r for _c, r in outcomes if isinstance(r, VerifiedFix)]
            found = tuple(attach(pkg.findings, verified))
            packages.append(dataclasses.replace(pkg, findings=found))
        result.packages = packages
        return result

    def fix_all(
        self,
        args: Iterable[str],
        cwd: str,
        kinds: Collection[str] | None = None,
        cancel: CancelToken | None = None,
        *,
        tests: bool = False,
        allow_api_change: bool = False,
        judge: Judge | None = None,
    ) -> FixRun:
        """Verify and take fixes package by package. Test files are not rewritten unless
        ``tests``: a fix there can move lines the tests themselves assert on. A candidate
        that changes an exported signature is only tried with ``allow_api_change``.
        ``judge`` (tests, benchmarks) has the last word on each verified fix."""
        batch = _Batch(self, kinds, cancel, allow_api_change, judge)
        result = self.engine.check(list(args) or ["./..."], cwd, cancel=cancel)
        for pkg in result.packages:
            if pkg.errors:
                batch.run.skipped.append(pkg.import_path)
                continue
            query = self.query_for(pkg.dir)
            if query is not None:
                editable = {p for p in pkg.files if tests or not p.endswith("_test.go")}
                batch.package(pkg.dir, query, list(pkg.findings), editable)
        return batch.run


class _Batch:
    """One ``fix_all``: the overlays the fixes taken so far make, and what was done."""

    def __init__(
        self,
        service: FixService,
        kinds: Collection[str] | None,
        cancel: CancelToken | None,
        allow_api_change: bool,
        judge: Judge | None,
    ) -> None:
        self.service = service
        self.kinds = kinds
        self.cancel = cancel
        self.allow_api_change = allow_api_change
        self.judge = judge
        self.run = FixRun()
        self.overlays: dict[str, bytes] = {}
        # Each file as first read: what its fixes were computed on, so that writing them
        # can tell whether the user saved something else meanwhile.
        self.snapshot: dict[str, bytes] = {}

    def source(self, path: str) -> SourceFile | None:
        data = self.overlays.get(path)
        if data is None:
            data = self.snapshot.get(path)
        if data is None:
            data = read_file(path)
            if data is not None:
                self.snapshot[path] = data
        return SourceFile(path, data) if data is not None else None

    def package(
        self, directory: str, query: Query, findings: list[Finding], editable: set[str]
    ) -> None:
        """Take the package's fixes one at a time, proposing again after each."""
        tried: set[tuple[str, str, str, str]] = set()
        while True:
            fresh = [
                c
                for c in self.service.propose(findings, self.source, self.kinds, editable)
                if (c.kind, c.file, c.function, c.summary) not in tried
            ]
            if not fresh:
                return
            candidate = fresh[0]
            tried.add((candidate.kind, candidate.file, candidate.function, candidate.summary))
            if candidate.changes_api and not self.allow_api_change:
                self.run.api_changes.append(candidate)
                continue
            fix = self.service.verify(query, self.overlays, candidate, findings, self.cancel)
            if isinstance(fix, Refusal):
                self.run.unverified.append((candidate, fix))
            elif self._judged(directory, fix):
                findings = self._take(directory, query, fix)

    def _judged(self, directory: str, fix: VerifiedFix) -> bool:
        """The judge, if any, takes the fix; else it is dropped with the judge's reason."""
        if self.judge is None:
            return True
        refused = self.judge(directory, self.overlays, {**self.overlays, fix.file: fix.fixed}, fix)
        if refused is not None:
            self.run.dropped.append((fix, refused))
        return refused is None

    def _take(self, directory: str, query: Query, fix: VerifiedFix) -> list[Finding]:
        """Apply the fix to the overlays; the package's findings with it."""
        known = self.run.files.get(fix.file)
        if known is not None:
            original = known[0]
        else:
            original = self.snapshot.get(fix.file) or read_file(fix.file) or b""
        self.overlays[fix.file] = fix.fixed
        self.run.files[fix.file] = (original, fix.fixed)
        self.run.applied.append(fix)
        if fix.after is not None:
            return [f for f in fix.after if os.path.dirname(f.file) == directory]
        again = self.service.engine.check_queries(
            [query], self.overlays, self.cancel, stop_after_escape=False
        )
        return [f for f in again.findings if os.path.dirname(f.file) == directory]

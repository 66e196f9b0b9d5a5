"""Compiling the units the cache missed: which strategy compiles each (the compiler
alone where it can, else the go command), in which order and on how many threads, and
the units compiled again because another file's log replaced one of theirs
(``collisions``). Each compile is a ``CompileJob`` run by ``run_job``.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor

from .. import compiler_output, test_functions
from ..cache import UnitResult
from ..model import Finding
from ..packages import Listing, Package
from ..workspace import Query
from . import collisions, compile_direct, flags, strategies
from .jobs import JobResult, Status, run_job
from .listing import ExportData
from .run import Check
from .sources import Sources
from .units import Unit


class Compiler:
    """Compiles units for one engine: ``jobs`` at a time, with what it learnt of
    export data and of files that must be compiled under another name."""

    def __init__(self, jobs: int, exports: ExportData) -> None:
        self.jobs = max(1, jobs)
        self.exports = exports
        #: Files whose log another file's replaced once: compiled under another name
        #: from then on (``collisions``).
        self._renames: set[str] = set()
        self._renames_lock = threading.Lock()

    def compile_misses(
        self,
        query: Query,
        listing: Listing,
        misses: list[Unit],
        check: Check,
        plain_done: Callable[[], None],
    ) -> None:
        """Compile ``misses``: the plain units first, then (after ``plain_done``, for
        whoever waits for the non-test files' findings) the tests."""
        plain = [u for u in misses if u.variant == "plain"]
        tests = [u for u in misses if u.variant == "test"]
        report = _Reporter(check, len(misses))
        if check.progress is not None:
            check.progress(0, len(misses), "compiling")
        if plain:
            plain = self.compile_directly(query, listing, plain, check)
            report("compiled directly", len(misses) - len(tests) - len(plain))
        if plain:
            self._compile_with_go(query, listing, plain, check)
            report(plain[-1].package.import_path, len(plain))
        if tests and len(tests) < len(misses):
            # Tests take the longest (the package again, with its tests, and more):
            # whoever waits can have the non-test files' findings now.
            plain_done()
        if tests:
            with ThreadPoolExecutor(self.jobs) as pool:
                futures = [
                    pool.submit(self._compile_test_unit, query, listing, i, unit, check)
                    for i, unit in enumerate(tests)
                ]
                for unit, future in zip(tests, futures, strict=True):
                    future.result()
                    report(unit.package.import_path + " (tests)")
            self.exports.find_for_tests(query, listing, tests, check)

    def _compile_with_go(
        self, query: Query, listing: Listing, plain: list[Unit], check: Check
    ) -> None:
        patterns = query.patterns if query.adhoc else tuple(u.package.import_path for u in plain)
        expected = [f for u in plain for f in u.package.go_files]
        refreshed, results = self.compile_plain(query, patterns, check, expected)
        listing.merge(refreshed)
        listing.errors.extend(refreshed.errors)
        for unit in plain:
            unit.result = results.get(unit.package.import_path)
            if unit.result is None and refreshed.errors:
                unit.result = UnitResult((), tuple(refreshed.errors))
                unit.cacheable = False

    def _compile_test_unit(
        self, query: Query, listing: Listing, index: int, unit: Unit, check: Check
    ) -> None:
        p = self._direct_plan(query, listing, unit, check)
        if p is not None:
            concurrency = max(1, (os.cpu_count() or 1) // self.jobs)
            env = compile_direct.env({**check.env, **dict(query.env)}, check.go)
            job = strategies.direct_test(query, index, unit, p, check, env, concurrency)
            done = run_job(job, check)
            if done.status is Status.DONE:
                unit.result = _unit_result(done)
                with check.clock.lock:
                    check.result.stats.direct_units += 1
                return
        done = run_job(strategies.test(query, index, unit, check), check)
        if done.status is Status.FAILED:
            # Not a compile error of the sources: report it, do not cache.
            unit.result = UnitResult((), done.errors)
            unit.cacheable = False
        else:
            unit.result = _unit_result(done)

    def compile_directly(
        self, query: Query, listing: Listing, units: list[Unit], check: Check
    ) -> list[Unit]:
        """Compile what can be compiled without the go command (see ``compile_direct``).

        Returns the units left for the go command."""
        plans: list[tuple[Unit, compile_direct.Plan]] = []
        left: list[Unit] = []
        for unit in units:
            p = self._direct_plan(query, listing, unit, check)
            if p is None:
                left.append(unit)
            else:
                plans.append((unit, p))
        if not plans:
            return left
        jobs = max(1, min(self.jobs, len(plans)))
        concurrency = max(1, (os.cpu_count() or 1) // jobs)
        env = compile_direct.env({**check.env, **dict(query.env)}, check.go)

        def compile_one(unit: Unit, p: compile_direct.Plan) -> bool:
            return self._compile_direct(query, unit, p, check, env, concurrency)

        if jobs == 1:
            done = [compile_one(u, p) for u, p in plans]
        else:
            with ThreadPoolExecutor(jobs) as pool:
                done = list(pool.map(lambda up: compile_one(*up), plans))
        for (unit, _p), ok in zip(plans, done, strict=True):
            if ok:
                check.result.stats.direct_units += 1
            else:
                left.append(unit)
        return left

    def _compile_direct(
        self,
        query: Query,
        unit: Unit,
        p: compile_direct.Plan,
        check: Check,
        env: dict[str, str],
        concurrency: int,
    ) -> bool:
        """Run the compiler on one package. False when the failure was not the sources'
        (stale or missing export data): the go command should try instead."""
        pkg = unit.package
        renames = self._renamed(pkg.go_files)
        stopped = check.stopped_compiler
        job = strategies.direct(query, unit, p, check, env, concurrency, renames, stopped)
        done = run_job(job, check)
        if done.status is not Status.DONE:
            return False
        if not done.errors and self._lost_logs(done.log, p.pkgpath, pkg, renames, check.sources):
            # Another file's log replaced one of ours: again, with ours renamed.
            with check.clock.lock:
                check.result.stats.recompiled_units += 1
            return self._compile_direct(query, unit, p, check, env, concurrency)
        unit.result = _unit_result(done)
        if stopped is not None:
            unit.stopped_early, unit.cacheable = True, False
            with check.clock.lock:
                check.result.stats.stopped_units += 1
        return True

    def _direct_plan(
        self, query: Query, listing: Listing, unit: Unit, check: Check
    ) -> compile_direct.Plan | None:
        """How to compile ``unit`` without the go command; None (with the reason in the
        stats) when the go command must do it."""
        if query.adhoc:
            return None
        if any(not path.endswith(".go") for path in check.overlays):
            # An unsaved go.mod or go.work changes the module graph the listing recorded.
            p: compile_direct.Plan | str = "an unsaved file that is not Go source"
        else:
            fresh = self.exports.fresh(check, listing)
            p = compile_direct.plan(
                unit.package, listing, check.go, fresh=fresh, flags_neutral=_neutral(query, check)
            )
            if not isinstance(p, str) and unit.variant == "test":
                p = compile_direct.plan_test(p, listing, fresh=fresh)
                if not isinstance(p, str):
                    # Compiled directly, such tests would build; go test stops before that
                    # and says why.
                    tests = unit.package.test_files + unit.package.xtest_files
                    p = test_functions.refusal(tests, check.sources.get) or p
        if not isinstance(p, str):
            return p
        what = unit.package.import_path + (" (tests)" if unit.variant == "test" else "")
        check.result.stats.direct_refusals.append(f"{what}: {p}")
        return None

    def compile_plain(
        self,
        query: Query,
        patterns: tuple[str, ...],
        check: Check,
        expected_files: Iterable[str] = (),
        renames: Collection[str] | None = None,
    ) -> tuple[Listing, dict[str, UnitResult]]:
        """List and compile ``patterns`` in one ``go list -deps -export`` run.

        Returns the fresh listing and a result for each target it compiled. With
        ``renames``, a package compiled again on its own (``_recover_lost_logs``): those
        files are compiled under another name, and nothing is recovered after."""
        overlay = None
        if renames:
            overlay = self._renaming_overlay(renames, check)
            if query.adhoc:  # files named on the command line: name them as go sees them
                patterns = tuple(
                    p + collisions.SUFFIX if os.path.join(query.root, p) in renames else p
                    for p in patterns
                )
        job = strategies.plain(
            query, patterns, check, tuple(expected_files), renames or (), overlay
        )
        done = run_job(job, check)
        assert done.listing is not None  # a go list step always lists
        listing = done.listing
        if not renames:
            self.exports.record(listing, check)
        results = _per_package(listing, done)
        if renames is None:
            self._recover_lost_logs(query, listing, done.log, results, check)
        return listing, results

    def _recover_lost_logs(
        self,
        query: Query,
        listing: Listing,
        log: compiler_output.RawLog,
        results: dict[str, UnitResult],
        check: Check,
    ) -> None:
        """After a ``go list -export`` run: compile again, each on its own, the targets
        whose logs are not theirs alone (``collisions``), and take those results.

        A main package that shares a file name with another is also taken for one whose
        file lost its log, and that file renamed from then on: needless, harmless, and
        right for a package that has both troubles."""
        mains = {p.import_path: p.go_files for p in listing.targets if p.name == "main"}
        apart = collisions.main_clashes(mains)
        for pkg in listing.targets:
            if pkg.import_path in results and not pkg.errors:
                subdir = collisions.log_subdir(pkg.import_path, pkg.name)
                if self._lost_logs(log, subdir, pkg, (), check.sources):
                    apart.add(pkg.import_path)
        units = [
            Unit("plain", pkg, "")
            for pkg in listing.targets
            if pkg.import_path in apart and not pkg.errors
        ]
        if not units:
            return
        check.result.stats.recompiled_units += len(units)
        left = self.compile_directly(query, listing, units, check)
        for unit in units:
            if unit not in left and unit.result is not None:
                results[unit.package.import_path] = unit.result
        for unit in left:
            pkg = unit.package
            patterns = query.patterns if query.adhoc else (pkg.import_path,)
            renames = self._renamed(pkg.go_files)
            _, again = self.compile_plain(query, patterns, check, pkg.go_files, renames=renames)
            if pkg.import_path in again:
                results[pkg.import_path] = again[pkg.import_path]

    # -- files whose log another file's replaced (``collisions``) ----------------------

    def _renamed(self, files: Iterable[str]) -> frozenset[str]:
        """Those of ``files`` that are compiled under another name."""
        with self._renames_lock:
            return frozenset(f for f in files if f in self._renames)

    def _lost_logs(
        self,
        log: compiler_output.RawLog,
        subdir: str,
        pkg: Package,
        renames: Collection[str],
        sources: Sources,
    ) -> list[str]:
        """Files of ``pkg`` whose log another file's replaced in ``log`` (written in the
        directory ``subdir``, the compile's ``-p``). They are remembered, to be compiled
        under another name from now on.

        A file that imports "C" is never renamed: the compiler sees cgo's output for it,
        whose log has a name of its own (``x.cgo1.json``) and cannot be lost so."""
        candidates = [f for f in pkg.go_files if f not in renames]
        if not pkg.go_only:
            candidates = [f for f in candidates if not _imports_c(sources, f)]
        lost = collisions.lost_files(log, subdir, candidates)
        if lost:
            with self._renames_lock:
                self._renames.update(lost)
        return lost

    def _renaming_overlay(self, renames: Collection[str], check: Check) -> str:
        """An ``-overlay`` file with the check's buffers and ``renames`` moved."""
        fd, path = tempfile.mkstemp(prefix="overlay-renamed-", suffix=".json", dir=check.tmp)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"Replace": collisions.overlay(renames, check.buffers)}, f)
        return path


def _per_package(listing: Listing, done: JobResult) -> dict[str, UnitResult]:
    """A ``go list -export`` run's findings, split between its targets."""
    by_file: dict[str, list[Finding]] = {}
    for f in done.findings:
        by_file.setdefault(f.file, []).append(f)
    # Each package keeps the lines about its own files; the first, any others.
    unknown_of: dict[str, list[str]] = {}
    for line in done.unknown:
        owner = next(
            (p for p in listing.targets if line.startswith(p.dir + os.sep)),
            listing.targets[0] if listing.targets else None,
        )
        if owner is not None:
            unknown_of.setdefault(owner.import_path, []).append(line)
    results = {}
    for pkg in listing.targets:
        found = [f for path in pkg.go_files for f in by_file.get(path, ())]
        results[pkg.import_path] = UnitResult(
            tuple(found), pkg.errors, tuple(unknown_of.get(pkg.import_path, ()))
        )
    return results


def _unit_result(done: JobResult) -> UnitResult:
    return UnitResult(done.findings, done.errors, done.unknown)


def _neutral(query: Query, check: Check) -> bool:
    """Whether the build flags leave compilation as ``compile_direct`` does it."""
    run_env = {**check.env, **dict(query.env)}
    return not any(f.startswith("-gcflags") for f in check.build_flags) and all(
        compile_direct.neutral_flags(flags_)
        for flags_ in (
            flags.non_gc_flags(check.build_flags),
            dict(check.go.build_env).get("GOFLAGS", "").split(),
            run_env.get("GOFLAGS", "").split(),
        )
    )


def _imports_c(sources: Sources, path: str) -> bool:
    """True for a file that uses cgo (or that cannot be read, to be safe)."""
    src = sources.get(path)
    return src is None or "C" in src.imported_names


class _Reporter:
    """Progress through a check's compiles."""

    def __init__(self, check: Check, total: int) -> None:
        self._check = check
        self._total = total
        self._done = 0

    def __call__(self, label: str, n: int = 1) -> None:
        self._done += n
        if self._check.progress is not None:
            self._check.progress(self._done, self._total, label)

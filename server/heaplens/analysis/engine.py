"""The ``Engine``: options, the toolchain, and a check's plan: queries → listing → units
→ the cache's answers → compiles of what changed → results.

The listing comes the cheapest of four ways:

1. A stored listing whose directories have not changed: cache keys are computed without
   running ``go`` at all; only packages whose key changed are compiled.
2. A listing that went stale (files added or removed): ``go list -deps`` (no compile)
   first, then compile what the keys say changed.
3. Nothing stored for the query, but a fresh listing of its whole module (``./...``)
   that has its directories: taken from there, as in 1. (``listing.from_module``).
4. Nothing stored: list and compile in one ``go`` invocation.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .. import keys, packages, toolchain
from ..cache import ResultCache, UnitResult
from ..packages import Listing, Package
from ..workspace import Query, TargetError, plan
from . import listing as listings
from .classification import Classifier
from .compiling import Compiler
from .results import CheckResult, SourceReader, assemble
from .run import Check, Progress, unmoved, write_overlay
from .sources import READ_ONLY, Sources
from .stopped_compiler import Compilers, for_directory
from .stopped_compiler import default_directory as compilers_directory
from .units import Unit

# Errors that depend on the module cache or the network, not on the sources: never cache.
_ENVIRONMENTAL = re.compile(
    r"module|go\.sum|GOPROXY|GOFLAGS|cannot find package|is not in std|toolchain|GOROOT"
)


@dataclass(frozen=True)
class Options:
    go_binary: str | None = None
    build_flags: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    tests: bool = True
    #: Seconds for a whole check; ``None`` waits forever.
    timeout: float | None = 300.0
    allow_network: bool = False
    jobs: int = 2
    #: Packages compiled directly use the compiler that stops after escape analysis
    #: (``stopped_compiler``): no bounds or nil checks, no object code. For
    #: ``heaplens check --fast``; the server asks for it per check, on edits
    #: (``check_queries(stop_after_escape=...)``).
    stop_after_escape: bool = False
    #: Wait for the stopped compiler's first build instead of compiling fully meanwhile.
    wait_for_stopped: bool = False
    #: Where stopped compilers are kept; None: in heaplens's cache directory.
    compilers_dir: str | None = None

    def __post_init__(self) -> None:  # no -mod=mod, whoever reads build_flags
        flags = toolchain.sanitize_build_flags(self.build_flags)
        object.__setattr__(self, "build_flags", (*flags, *toolchain.FORCED_BUILD_FLAGS))


class Engine:
    def __init__(
        self,
        options: Options | None = None,
        cache: ResultCache | None = None,
        deadline: toolchain.Deadline | None = None,
    ) -> None:
        """``deadline`` bounds everything the engine ever runs: a command line's engine
        lives for one command, and ``--timeout`` is for all of it, however many checks
        the command makes (``heaplens fix`` makes one per fix it tries). Without it
        (the server) each check gets ``options.timeout`` of its own."""
        self.options = options or Options()
        self.cache = cache or ResultCache(None)
        self.deadline = deadline
        self._read_only = READ_ONLY
        self._go: toolchain.GoEnv | None = None
        self._go_lock = threading.Lock()
        self._hasher = keys.FileHasher()
        self._classifier = Classifier(self.cache)
        self._compiler = Compiler(self.options.jobs, listings.ExportData(self._hasher))
        #: The compilers that stop after escape analysis (shared by the process's engines).
        self.stopped: Compilers = for_directory(self.options.compilers_dir or compilers_directory())

    # -- toolchain ---------------------------------------------------------------------

    def base_env(self) -> dict[str, str]:
        return toolchain.safe_env(
            extra=dict(self.options.env), allow_network=self.options.allow_network
        )

    def go_env(
        self,
        cwd: str | None = None,
        deadline: toolchain.Deadline | None = None,
        cancel: toolchain.CancelToken | None = None,
    ) -> toolchain.GoEnv:
        """The Go toolchain, found and version-checked once per engine, within
        ``deadline`` (by default the engine's, or ``options.timeout``)."""
        with self._go_lock:
            if self._go is None:
                env = self.base_env()
                binary = toolchain.find_go(self.options.go_binary, env)
                self._go = toolchain.go_env(
                    binary, env, cwd or os.getcwd(), deadline or self._deadline(), cancel
                )
            return self._go

    def _deadline(self) -> toolchain.Deadline:
        """The engine's deadline, or a fresh one for one check."""
        if self.deadline is not None:
            return self.deadline
        return toolchain.Deadline(self.options.timeout)

    # -- the pipeline ------------------------------------------------------------------

    def check(
        self,
        args: Iterable[str],
        cwd: str,
        overlays: Mapping[str, bytes] | None = None,
        cancel: toolchain.CancelToken | None = None,
        progress: Progress | None = None,
    ) -> CheckResult:
        """Analyse the packages named by ``args`` (as on the command line, from ``cwd``).

        Raises ``workspace.TargetError`` when they name nothing that can be analysed: a
        path that does not exist, a pattern that matches no packages."""
        named = list(args) or ["./..."]
        queries = plan(named, cwd, self.base_env())
        result = self.check_queries(queries, overlays, cancel, progress)
        if not result.packages and not result.errors:
            if result.left_out:
                raise TargetError("; ".join(e.message for e in result.left_out))
            # go itself only warns, and a typo in CI would pass as a clean run.
            raise TargetError(f"{' '.join(named)} matched no packages")
        return result

    def check_queries(
        self,
        queries: Sequence[Query],
        overlays: Mapping[str, bytes] | None = None,
        cancel: toolchain.CancelToken | None = None,
        progress: Progress | None = None,
        early: Callable[[CheckResult], None] | None = None,
        stop_after_escape: bool | None = None,
    ) -> CheckResult:
        """Analyse ``queries``. ``early``, if given, may be called (from this thread) with
        a partial result while test binaries compile: see ``CheckResult.partial``.
        ``stop_after_escape`` overrides ``Options.stop_after_escape`` for this check."""
        stop = self.options.stop_after_escape if stop_after_escape is None else stop_after_escape
        started = time.monotonic()
        deadline = self._deadline()
        deadline.check()
        go = self.go_env(queries[0].root if queries else None, deadline, cancel)
        self._read_only.add_roots(
            os.path.join(go.goroot, "src") if go.goroot else "", go.gomodcache
        )
        data = dict(overlays or {})
        sources = Sources(data, self._read_only)
        result = CheckResult(
            go.version, platform=f"{go.goos}/{go.goarch}", sources=SourceReader(sources.get)
        )
        with tempfile.TemporaryDirectory(prefix="heaplens-") as tmp:
            os.chmod(tmp, 0o700)
            go_tmp = os.path.join(tmp, "go")
            os.mkdir(go_tmp, 0o700)
            env = self.base_env()
            env["TMPDIR"] = go_tmp
            overlay_file, buffers = write_overlay(tmp, data) if data else (None, {})
            check = Check(
                go=go,
                env=env,
                overlays=data,
                overlay_file=overlay_file,
                buffers=buffers,
                tmp=tmp,
                deadline=deadline,
                cancel=cancel,
                progress=progress,
                early=early,
                result=result,
                sources=sources,
                classifier=self._classifier,
                build_flags=self.options.build_flags,
                go_tmp=go_tmp,
                started_ns=time.time_ns() - 1_000_000,
                stopped_compiler=self._stopped_compiler(go, stop, result),
            )
            for query in queries:
                self._check_query(query, check)
        result.stats.engine_seconds = time.monotonic() - started - result.stats.go_seconds
        return result

    def _stopped_compiler(self, go: toolchain.GoEnv, stop: bool, result: CheckResult) -> str | None:
        """The compiler that stops after escape analysis, when this check is to use it
        and it is built; why not, in ``stats.stopped_note``."""
        if not stop:
            return None
        path = self.stopped.get(go, self.base_env(), wait=self.options.wait_for_stopped)
        if path is None:
            result.stats.stopped_note = self.stopped.note(go) or (
                "the compiler that stops after escape analysis is being built: "
                "the full compile is used until it is ready"
            )
        return path

    def _check_query(self, query: Query, check: Check) -> None:
        go = check.go
        run_env = dict(check.env)
        run_env.update(dict(query.env))
        toolchain_id = keys.toolchain_identity(go, self.options.build_flags, run_env)
        listing_key = listings.listing_key(query, toolchain_id, self.options.tests, check.overlays)

        listing, compiled = self._listing(query, listing_key, toolchain_id, check)
        check.sources.know_packages(listing.graph)
        check.result.errors.extend(listing.errors)
        if self.options.tests and not query.adhoc:
            listings.add_test_only_imports(query, listing, check)

        def key(variant: str, pkg: Package) -> str:
            return keys.unit_key(
                variant, pkg, listing, toolchain_id, self._hasher, check.overlays, go.gomodcache
            )

        units = self._plan_units(query, listing, key)
        misses = self._answer_from_cache(units, compiled, check)

        def plain_done() -> None:
            if check.early is None:
                return
            partial = CheckResult(
                check.result.go_version,
                partial=True,
                platform=check.result.platform,
                sources=check.result.sources,
            )
            assemble(query, listing, units, partial, check.overlays, plain_only=True)
            check.early(partial)

        if misses:
            self._compiler.compile_misses(query, listing, misses, check, plain_done)
            self._store_compiled(listing, misses, key, check)
        if not listing.errors:
            fp = packages.fingerprint(query, listing, go.gomodcache, check.started_ns)
            if fp is not None:
                self.cache.put_listing(listing_key, fp, listing.to_json())
        assemble(query, listing, units, check.result, check.overlays)

    def _plan_units(
        self, query: Query, listing: Listing, key: Callable[[str, Package], str]
    ) -> list[Unit]:
        """The units of the listing's targets: each package, and its tests."""
        units: list[Unit] = []
        for pkg in listing.targets:
            if not pkg.go_files and not pkg.has_tests and not pkg.errors:
                continue
            units.append(Unit("plain", pkg, key("plain", pkg)))
            if self.options.tests and pkg.has_tests and not query.adhoc:
                units.append(Unit("test", pkg, key("test", pkg)))
        return units

    def _answer_from_cache(
        self, units: list[Unit], compiled: Mapping[str, UnitResult], check: Check
    ) -> list[Unit]:
        """Give units their results from the listing's compile or the cache; returns
        those left to compile."""
        misses: list[Unit] = []
        for unit in units:
            if unit.variant == "plain" and unit.package.import_path in compiled:
                unit.result = compiled[unit.package.import_path]
                self._store(unit.key, unit.result, unit.package.all_files, check.started_ns)
                continue
            unit.result = self.cache.get(unit.key)
            if unit.result is not None:
                unit.cached = True
                check.result.stats.cached_units += 1
            elif unit.package.errors:
                unit.result = UnitResult((), unit.package.errors)  # it cannot compile
            else:
                misses.append(unit)
        check.result.stats.compiled_units += len(compiled)
        return misses

    def _store_compiled(
        self,
        listing: Listing,
        misses: list[Unit],
        key: Callable[[str, Package], str],
        check: Check,
    ) -> None:
        for unit in misses:
            if unit.result is None:
                continue
            check.result.stats.compiled_units += 1
            if unit.cacheable:
                # The compile refreshed the package's metadata: key it by that.
                fresh = listing.graph.get(unit.package.import_path, unit.package)
                unit.key = key(unit.variant, fresh)
                self._store(unit.key, unit.result, unit.package.all_files, check.started_ns)

    def _listing(
        self, query: Query, listing_key: str, toolchain_id: str, check: Check
    ) -> tuple[Listing, dict[str, UnitResult]]:
        """The query's listing, by the cheapest of the four ways (see the module doc).

        Returns it with the plain results already compiled on the way, by import path.
        """
        stored = listings.stored(self.cache, listing_key, query, check)
        if isinstance(stored, Listing):
            return stored, {}
        if stored is False:
            return listings.go_list(query, query.patterns, check), {}
        whole = listings.from_module(self.cache, query, toolchain_id, self.options.tests, check)
        if whole is not None:
            return whole, {}
        if check.progress is not None:
            check.progress(0, 0, "compiling " + " ".join(query.patterns))
        return self._compiler.compile_plain(query, query.patterns, check)

    def _store(self, key: str, result: UnitResult, files: Sequence[str], since_ns: int) -> None:
        """Cache a result, unless its inputs moved while it was computed: a key read from
        the new text must not name what the compiler made of the old one."""
        if not unmoved(files, since_ns):
            return
        if any(_ENVIRONMENTAL.search(e.message) for e in result.errors):
            return  # it may be fixed by `go mod download`, which changes no key
        self.cache.put(key, result)

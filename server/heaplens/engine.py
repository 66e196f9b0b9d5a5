"""The analysis pipeline: packages → cache keys → compile what changed → findings.

One ``Engine`` serves the CLI and the language server alike. It never imports anything
from the LSP layer; the server hands it overlays (unsaved buffers) and a cancel token.

How the compiler is run, and why
--------------------------------
heaplens reads the compiler's ``-json`` optimisation log, not ``-m=2`` text. Measured on
this project's benchmark packages (compress/flate, encoding/xml, go/printer,
regexp/syntax; 2 cores): a fresh ``-json`` compile costs what a plain build costs, about
0.7x of a fresh ``-m=2`` build, because any ``-m`` switches off the compiler's
concurrent back end and ``-json`` does not. ``-m`` output is replayed from the build
cache and ``-json`` is not, but heaplens keys its own cache by content (``keys``), so a
replay would only save work heaplens no longer does. The ``-json`` log also carries flow
steps inside inlined code (``inlineLoc``) that ``-m=2`` folds into the call site. What it
lacks, the enclosing function and the "moved to heap" wording, ``findings`` recovers.

Each compile writes its log to a fresh directory: with a directory the build cache had
seen, it would treat the compile as done and write no log at all.

Packages are compiled by ``go list -e -deps -export`` (no link step, structured errors
per package, fresh metadata in the same breath, one batch for all of them). Test files
need the test variants, which share their log file names with the package itself
(``p`` and ``p [p.test]`` both write ``p/file.json``), so they get a run of their own per
package, ``go list -test -export``, of which only the test files' logs are read. Nothing
is ever linked: heaplens needs no binary, and a link can fail on inputs the compiler
never reads (a ``.syso``).

Three ways through a query
--------------------------
1. A stored listing whose directories have not changed: cache keys are computed without
   running ``go`` at all; only packages whose key changed are compiled.
2. A listing that went stale (files added or removed): ``go list -deps`` (no compile)
   first, then compile what the keys say changed.
3. Nothing stored: list and compile in one ``go`` invocation.

A package compiled in the first two ways is, where it can be, compiled by the compiler
alone with the export data the listing recorded (``compile_direct``): that is every edit
of an ordinary package, at about half the cost of going through the go command. Its
tests too, once the export data of what they import is known (``_export_test_imports``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from . import (
    cgo_positions,
    collisions,
    compile_direct,
    compiler_output,
    findings,
    keys,
    packages,
    test_functions,
    toolchain,
)
from .cache import ResultCache, UnitResult
from .compile_errors import name_real_files, parse_error_text
from .fixes.propose import attach_candidates
from .model import CompileError, Excluded, Finding
from .packages import Listing, Package
from .syntax import SourceFile, build_constraint
from .workspace import Query, TargetError, plan

Progress = Callable[[int, int, str], None]

# Errors that depend on the module cache or the network, not on the sources: never cache.
_ENVIRONMENTAL = re.compile(
    r"module|go\.sum|GOPROXY|GOFLAGS|cannot find package|is not in std|toolchain|GOROOT"
)


class BlindSpot(toolchain.ToolchainError):
    """A compile succeeded and its log cannot be used: it is not where the compiler was
    told to write it, or it names heaplens's temporary copies instead of the files. The
    findings would silently be missing, so the check stops instead."""


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

    def __post_init__(self) -> None:  # no -mod=mod, whoever reads build_flags
        flags = toolchain.sanitize_build_flags(self.build_flags)
        object.__setattr__(self, "build_flags", (*flags, *toolchain.FORCED_BUILD_FLAGS))


@dataclass(frozen=True)
class PackageResult:
    import_path: str
    dir: str
    files: tuple[str, ...]
    findings: tuple[Finding, ...]
    errors: tuple[CompileError, ...]
    #: True when every unit of the package came from the cache.
    cached: bool
    #: Go files of its directory that build constraints leave out (``left_out`` says
    #: why, for the few anyone asks about: x/sys/unix leaves out hundreds).
    excluded: tuple[str, ...] = ()


@dataclass
class Stats:
    compiled_units: int = 0
    cached_units: int = 0
    #: Wall time spent waiting for ``go``.
    go_seconds: float = 0.0
    #: Wall time of heaplens's own work: everything but waiting for ``go``.
    engine_seconds: float = 0.0
    go_runs: int = 0
    #: Of ``engine_seconds``: reading the compiler's log and turning it into findings
    #: with their ranges and reasons (parse + model + ranges), summed over compiles.
    parse_seconds: float = 0.0
    #: Files whose findings were those of an earlier compile (text and log unchanged).
    reused_files: int = 0
    #: Units compiled by running the compiler without the go command.
    direct_units: int = 0
    #: Why units that could have been compiled directly were not ("pkg: reason").
    direct_refusals: list[str] = field(default_factory=list)
    #: Units compiled again, on their own, because another file's log had replaced the
    #: log of one of their files (``collisions``).
    recompiled_units: int = 0


@dataclass
class CheckResult:
    go_version: str
    packages: list[PackageResult] = field(default_factory=list)
    #: Errors that belong to no package: a toolchain line asking for a newer Go, say.
    errors: list[CompileError] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    #: True for the early result of a check still compiling tests: packages then cover
    #: their non-test files only.
    partial: bool = False
    #: Files named on the command line that build constraints leave out.
    left_out: list[Excluded] = field(default_factory=list)
    #: What the packages were built for, as ``GOOS/GOARCH``.
    platform: str = ""

    @property
    def findings(self) -> list[Finding]:
        return [f for p in self.packages for f in p.findings]

    @property
    def all_errors(self) -> list[CompileError]:
        seen: dict[CompileError, None] = dict.fromkeys(self.errors)
        for p in self.packages:
            seen.update(dict.fromkeys(p.errors))
        return list(seen)


@dataclass
class _Unit:
    variant: str  # "plain" or "test"
    package: Package
    key: str
    result: UnitResult | None = None
    cached: bool = False
    #: False when the run failed for reasons outside the sources (a crashed ``go``).
    cacheable: bool = True

    @property
    def wanted(self) -> tuple[str, ...]:
        if self.variant == "test":
            return self.package.test_files + self.package.xtest_files
        return self.package.go_files


def _log_digest(logs: Sequence[bytes]) -> str:
    """What the compiler logged about one file (``Engine._file_key``)."""
    h = hashlib.blake2b(digest_size=32)
    for data in logs:
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


class _ReadOnlyFiles:
    """Source files that never change under a running engine: the toolchain's GOROOT and
    the module cache (which the go command keeps read-only). Reasons read them for code
    inlined from there (whose function is it? what is the value?) and for other
    packages' types; kept parsed across checks, so an edit does not parse them again."""

    _LIMIT = 512

    def __init__(self) -> None:
        self._files: OrderedDict[str, SourceFile | None] = OrderedDict()
        self.scalars: dict[str, frozenset[str]] = {}
        self.roots: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add_roots(self, *roots: str) -> None:
        """Directories whose files never change: a toolchain's GOROOT/src, a module
        cache. Roots are only added: every engine of the process shares these files."""
        with self._lock:
            self.roots = tuple(
                dict.fromkeys((*self.roots, *(os.path.join(r, "") for r in roots if r)))
            )

    def holds(self, path: str) -> bool:
        return bool(self.roots) and path.startswith(self.roots)

    def get(self, path: str) -> SourceFile | None:
        with self._lock:
            if path in self._files:
                self._files.move_to_end(path)
                return self._files[path]
        src = _read_source(path, None)
        with self._lock:
            self._files[path] = src
            while len(self._files) > self._LIMIT:
                self._files.popitem(last=False)
        return src


#: One for the process: the files never change, whichever engine reads them.
_READ_ONLY = _ReadOnlyFiles()


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _read_source(path: str, data: bytes | None) -> SourceFile | None:
    """``path``'s source: ``data`` (an unsaved buffer), else the disk's."""
    if data is None:
        data = _read_bytes(path)
    return SourceFile(path, data) if data is not None else None


class _Sources:
    """Source files for one check, with unsaved buffers in place of the disk."""

    def __init__(
        self, overlays: Mapping[str, bytes], read_only: _ReadOnlyFiles | None = None
    ) -> None:
        self._overlays = overlays
        self._read_only = read_only or _ReadOnlyFiles()
        self._files: dict[str, SourceFile | None] = {}
        self._scopes: dict[tuple[str, ...], findings.PackageScope] = {}
        self._package_files: dict[str, tuple[str, ...]] = {}
        self._scalars: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def get(self, path: str) -> SourceFile | None:
        with self._lock:
            if path in self._files:
                return self._files[path]
        data = self._overlays.get(path)
        if data is None and self._read_only.holds(path):
            return self._read_only.get(path)
        src = _read_source(path, data)
        with self._lock:
            self._files[path] = src
        return src

    def parse(self, paths: Sequence[str]) -> None:
        """Read and parse ``paths`` now, so that later lookups find them ready."""
        for path in paths:
            src = self.get(path)
            if src is not None:
                src.index_nodes()
                src.line_starts  # noqa: B018 - computing it is the point

    def scope_for(self, files: Sequence[str]) -> Callable[[str], findings.PackageScope]:
        """What reasons need of each file's package (``findings.PackageScope``), for the
        package made of ``files``.

        The same directory can hold a package with or without its test files, so the
        answer is remembered per set of files, not per directory.
        """

        by_dir: dict[str, tuple[str, ...]] = {}
        for f in sorted(files):
            by_dir.setdefault(os.path.dirname(f), ())
            by_dir[os.path.dirname(f)] += (f,)

        def lookup(path: str) -> findings.PackageScope:
            members = by_dir.get(os.path.dirname(path), ())
            with self._lock:
                known = self._scopes.get(members)
            if known is not None:
                return known
            scope = findings.PackageScope.of(
                src for src in (self.get(p) for p in members) if src is not None
            )
            with self._lock:
                self._scopes[members] = scope
            return scope

        return lookup

    def know_packages(self, graph: Mapping[str, Package]) -> None:
        """Remember where the packages of a listing are, for ``imported_scalar``."""
        with self._lock:
            for path, pkg in graph.items():
                self._package_files.setdefault(path, pkg.go_files)

    def imported_scalar(self, path: str, name: str) -> bool:
        """Whether the type ``name`` of the package ``path`` is defined as a number or a
        bool. Only packages the check listed are read; others are not known.

        Only files whose text could declare it so are parsed: ``reflect.Value`` must not
        cost a parse of all of reflect.
        """
        key = f"{path}\0{name}"
        with self._lock:
            files = self._package_files.get(path, ())
            stable = bool(files) and all(map(self._read_only.holds, files))
            known = (self._read_only.scalars if stable else self._scalars).get(key)
        if known is None:
            # `Duration int64` ending its line, as a type declaration of a number would.
            maybe = re.compile(
                rb"\b"
                + re.escape(name.encode())
                + rb"\s+(?!struct\b|interface\b|func\b|map\b|chan\b)[A-Za-z_][\w.]*[ \t]*(?:\n|//)"
            )
            found = False
            for file in files:
                data = self._overlays.get(file) or _read_bytes(file)
                if data is not None and maybe.search(data):
                    src = self.get(file)
                    if src is not None and name in src.scalar_types:
                        found = True
                        break
            known = frozenset({name}) if found else frozenset()
            with self._lock:
                (self._read_only.scalars if stable else self._scalars)[key] = known
        return name in known

    def init_closures_before_for(self, files: Sequence[str]) -> Callable[[str], int]:
        """For each file, how many closures in package variables' initial values the
        compiler numbers before that file's own: it calls them ``init.func1``, ``2``...
        across the package, in the order its files are compiled, which is ``files``'."""
        known: dict[str, int] = {}

        def lookup(path: str) -> int:
            if path in known:
                return known[path]
            src = self.get(path)
            count = 0
            if src is not None:
                for other in files:
                    if other == path:
                        break
                    before = self.get(other)
                    if (
                        before is not None
                        and os.path.dirname(other) == os.path.dirname(path)
                        and before.package_name == src.package_name
                    ):
                        count += before.init_closures
            known[path] = count
            return count

        return lookup


@dataclass
class _Check:
    """Everything one check shares between its queries."""

    go: toolchain.GoEnv
    env: dict[str, str]
    overlays: dict[str, bytes]
    overlay_file: str | None
    #: Each unsaved buffer's temporary copy, by the real path it stands for.
    buffers: dict[str, str]
    tmp: str
    deadline: toolchain.Deadline
    cancel: toolchain.CancelToken | None
    progress: Progress | None
    #: Called with the plain units' results while test binaries are still compiling.
    early: Callable[[CheckResult], None] | None
    result: CheckResult
    sources: _Sources
    #: TMPDIR of the go runs: their kept work directories (cgo output) land here.
    go_tmp: str = ""
    #: When the check began (time.time_ns, less a millisecond): inputs modified after it
    #: are not trusted to match the results.
    started_ns: int = 0
    clock: _GoClock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = _GoClock(self.result.stats)

    def timed_go(self) -> AbstractContextManager[None]:
        return self.clock.running()

    def run(
        self, argv: Sequence[str], cwd: str, env: Mapping[str, str], prefetch: _Prefetch
    ) -> toolchain.RunResult:
        """Run a compile within the check's time and cancellation, starting ``prefetch``
        once the compiler runs (wait for it with ``join``)."""
        with self.timed_go():
            return toolchain.run(
                argv,
                cwd=cwd,
                env=env,
                deadline=self.deadline,
                cancel=self.cancel,
                started=prefetch.start,
            )

    def join(self, prefetch: _Prefetch) -> None:
        """Wait for a prefetch (``Engine._prefetch``): time spent waiting for it once the
        compiler is done is parsing, as if it had not been started early."""
        with self.timed_parse():
            prefetch.join()

    @contextmanager
    def timed_parse(self) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            with self.clock.lock:
                self.result.stats.parse_seconds += time.monotonic() - start


class _Prefetch:
    """Work in a thread of its own while a compiler runs (``Engine._prefetch``)."""

    def __init__(self, work: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=work, name="heaplens-prefetch", daemon=True)

    def start(self) -> None:
        if self._thread.ident is None:  # a second compile of the same unit: already going
            self._thread.start()

    def join(self) -> None:
        # Never started when the compiler could not be: then there is nothing to wait for.
        if self._thread.ident is not None:
            self._thread.join()


class _GoClock:
    """Wall time during which at least one ``go`` or compiler process runs: runs in
    parallel threads overlap, and overlapping time is counted once."""

    def __init__(self, stats: Stats) -> None:
        self._stats = stats
        self.lock = threading.Lock()
        self._active = 0
        self._since = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        with self.lock:
            if self._active == 0:
                self._since = time.monotonic()
            self._active += 1
            self._stats.go_runs += 1
        try:
            yield
        finally:
            with self.lock:
                self._active -= 1
                if self._active == 0:
                    self._stats.go_seconds += time.monotonic() - self._since


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
        self._read_only = _READ_ONLY
        self._go: toolchain.GoEnv | None = None
        self._go_lock = threading.Lock()
        self._hasher = keys.FileHasher()
        self._export_attempts: set[tuple[str, tuple[str, ...]]] = set()
        #: Files whose log another file's replaced once: compiled under another name
        #: from then on (``collisions``).
        self._renames: set[str] = set()
        self._renames_lock = threading.Lock()

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
    ) -> CheckResult:
        """Analyse ``queries``. ``early``, if given, may be called (from this thread) with
        a partial result while test binaries compile: see ``CheckResult.partial``."""
        started = time.monotonic()
        deadline = self._deadline()
        deadline.check()
        go = self.go_env(queries[0].root if queries else None, deadline, cancel)
        self._read_only.add_roots(
            os.path.join(go.goroot, "src") if go.goroot else "", go.gomodcache
        )
        result = CheckResult(go.version, platform=f"{go.goos}/{go.goarch}")
        with tempfile.TemporaryDirectory(prefix="heaplens-") as tmp:
            os.chmod(tmp, 0o700)
            data = dict(overlays or {})
            go_tmp = os.path.join(tmp, "go")
            os.mkdir(go_tmp, 0o700)
            env = self.base_env()
            env["TMPDIR"] = go_tmp
            overlay_file, buffers = _write_overlay(tmp, data) if data else (None, {})
            check = _Check(
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
                sources=_Sources(data, self._read_only),
                go_tmp=go_tmp,
                started_ns=time.time_ns() - 1_000_000,
            )
            for query in queries:
                self._check_query(query, check)
        result.stats.engine_seconds = time.monotonic() - started - result.stats.go_seconds
        return result

    def _check_query(self, query: Query, check: _Check) -> None:
        go = check.go
        run_env = dict(check.env)
        run_env.update(dict(query.env))
        toolchain_id = keys.toolchain_identity(go, self.options.build_flags, run_env)
        listing_key = self._listing_key(query, toolchain_id, check.overlays)

        listing, compiled = self._listing(query, listing_key, check)
        check.sources.know_packages(listing.graph)
        check.result.errors.extend(listing.errors)
        if self.options.tests and not query.adhoc:
            self._add_test_only_imports(query, listing, check)

        def key(variant: str, pkg: Package) -> str:
            return keys.unit_key(
                variant, pkg, listing, toolchain_id, self._hasher, check.overlays, go.gomodcache
            )

        units: list[_Unit] = []
        for pkg in listing.targets:
            if not pkg.go_files and not pkg.has_tests and not pkg.errors:
                continue
            units.append(_Unit("plain", pkg, key("plain", pkg)))
            if self.options.tests and pkg.has_tests and not query.adhoc:
                units.append(_Unit("test", pkg, key("test", pkg)))

        misses: list[_Unit] = []
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

        def plain_done() -> None:
            if check.early is None:
                return
            partial = CheckResult(
                check.result.go_version, partial=True, platform=check.result.platform
            )
            self._assemble(query, listing, units, partial, check, plain_only=True)
            check.early(partial)

        if misses:
            self._compile_misses(query, listing, misses, check, plain_done)
            for unit in misses:
                if unit.result is None:
                    continue
                check.result.stats.compiled_units += 1
                if unit.cacheable:
                    # The compile refreshed the package's metadata: key it by that.
                    fresh = listing.graph.get(unit.package.import_path, unit.package)
                    unit.key = key(unit.variant, fresh)
                    self._store(unit.key, unit.result, unit.package.all_files, check.started_ns)

        if not listing.errors:
            fp = packages.fingerprint(query, listing, go.gomodcache, check.started_ns)
            if fp is not None:
                self.cache.put_listing(listing_key, fp, listing.to_json())
        self._assemble(query, listing, units, check.result, check)

    def _listing_key(self, query: Query, toolchain_id: str, overlays: Mapping[str, bytes]) -> str:
        # Buffers that exist only in the editor add files the disk does not show.
        unsaved_only = sorted(p for p in overlays if not os.path.exists(p))
        text = json.dumps(
            [
                query.root,
                query.patterns,
                query.env,
                query.adhoc,
                toolchain_id,
                self.options.tests,
                unsaved_only,
            ]
        )
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()

    def _listing(
        self, query: Query, listing_key: str, check: _Check
    ) -> tuple[Listing, dict[str, UnitResult]]:
        """The query's listing, by the cheapest of the three ways (see the module doc).

        Returns it with the plain results already compiled on the way, by import path.
        """
        stored = self.cache.get_listing(listing_key)
        if stored is not None:
            fp, data = stored
            try:
                listing = Listing.from_json(data)
            except (KeyError, TypeError, ValueError):
                listing = None
            if (
                listing is not None
                and packages.fingerprint(query, listing, check.go.gomodcache) == fp
            ):
                return listing, {}
            return self._list(query, query.patterns, check), {}
        if check.progress is not None:
            check.progress(0, 0, "compiling " + " ".join(query.patterns))
        return self._compile_plain(query, query.patterns, check)

    def _list(
        self,
        query: Query,
        patterns: tuple[str, ...],
        check: _Check,
        log_dir: str | None = None,
        export: bool = False,
        started: Callable[[], None] | None = None,
        overlay: str | None = None,
    ) -> Listing:
        """``go list``: the package graph; with ``log_dir``, the targets are compiled too
        and the compiler's log is written there; with ``export``, where every package's
        export data is (built as ``go build`` would, so from the build cache). ``overlay``
        replaces the check's own ``-overlay`` file."""
        compile_flags = (*self._gcflags(log_dir), "-work") if log_dir is not None else ()
        with check.timed_go():
            listing = packages.list_packages(
                query,
                patterns,
                check.go,
                check.env,
                overlay=overlay or check.overlay_file,
                build_flags=self._non_gc_flags(),
                gcflags=compile_flags,
                compile_targets=log_dir is not None or export,
                deadline=check.deadline,
                cancel=check.cancel,
                started=started,
            )
        listing.name_real_files(check.buffers)
        check.sources.know_packages(listing.graph)
        return listing

    def _add_test_only_imports(self, query: Query, listing: Listing, check: _Check) -> None:
        """List local packages that only tests import, so their changes reach test keys."""
        missing = sorted(
            {
                imp
                for pkg in listing.targets
                if pkg.has_tests
                for imp in pkg.test_imports
                if imp not in listing.graph and "." in imp.split("/", 1)[0]
            }
        )
        if not missing:
            return
        extra = self._list(query, tuple(missing), check)
        for path, pkg in extra.graph.items():
            listing.graph.setdefault(path, pkg)

    def _store(self, key: str, result: UnitResult, files: Sequence[str], since_ns: int) -> None:
        """Cache a result, unless its inputs moved while it was computed: a key read from
        the new text must not name what the compiler made of the old one."""
        if _unmoved(files, since_ns):
            self._store_result(key, result)

    def _store_result(self, key: str, result: UnitResult) -> None:
        if any(_ENVIRONMENTAL.search(e.message) for e in result.errors):
            return  # it may be fixed by `go mod download`, which changes no key
        self.cache.put(key, result)

    def _compile_misses(
        self,
        query: Query,
        listing: Listing,
        misses: list[_Unit],
        check: _Check,
        plain_done: Callable[[], None],
    ) -> None:
        plain = [u for u in misses if u.variant == "plain"]
        tests = [u for u in misses if u.variant == "test"]
        total = len(misses)
        done = 0

        def report(label: str, n: int = 1) -> None:
            nonlocal done
            done += n
            if check.progress is not None:
                check.progress(done, total, label)

        if check.progress is not None:
            check.progress(0, total, "compiling")
        if plain:
            plain = self._compile_directly(query, listing, plain, check)
            report("compiled directly", len(misses) - len(tests) - len(plain))
        if plain:
            patterns = (
                query.patterns if query.adhoc else tuple(u.package.import_path for u in plain)
            )
            expected = [f for u in plain for f in u.package.go_files]
            refreshed, results = self._compile_plain(query, patterns, check, expected)
            listing.merge(refreshed)
            listing.errors.extend(refreshed.errors)
            for unit in plain:
                unit.result = results.get(unit.package.import_path)
                if unit.result is None and refreshed.errors:
                    unit.result = UnitResult((), tuple(refreshed.errors))
                    unit.cacheable = False
            report(plain[-1].package.import_path, len(plain))
        if tests and len(tests) < len(misses):
            # Tests take the longest (the package again, with its tests, and more):
            # whoever waits can have the non-test files' findings now.
            plain_done()
        if tests:
            from concurrent.futures import ThreadPoolExecutor

            jobs = max(1, self.options.jobs)
            with ThreadPoolExecutor(jobs) as pool:
                futures = [
                    pool.submit(self._compile_test_unit, query, listing, i, unit, check, jobs)
                    for i, unit in enumerate(tests)
                ]
                for unit, future in zip(tests, futures, strict=True):
                    future.result()
                    report(unit.package.import_path + " (tests)")
            self._export_test_imports(query, listing, tests, check)

    def _compile_test_unit(
        self, query: Query, listing: Listing, index: int, unit: _Unit, check: _Check, jobs: int
    ) -> None:
        p = self._direct_plan(query, listing, unit, check)
        if p is not None:
            concurrency = max(1, (os.cpu_count() or 1) // jobs)
            if self._compile_test_direct(query, index, unit, p, check, concurrency):
                with check.clock.lock:
                    check.result.stats.direct_units += 1
                return
        self._compile_test(query, index, unit, check)

    def _export_test_imports(
        self, query: Query, listing: Listing, tests: list[_Unit], check: _Check
    ) -> None:
        """Find the export data of what the tests import (the test binaries just built
        it, so this is the build cache answering): the next change to these packages
        compiles their tests without the go command."""
        missing = sorted(
            {
                path
                for unit in tests
                if unit.result is not None and unit.cacheable and not unit.result.errors
                for path in listing.test_deps(unit.package)
                if path not in ("unsafe", unit.package.import_path)
                and not (path in listing.graph and listing.graph[path].export)
            }
        )
        attempt = (query.root, tuple(missing))
        if not missing or query.adhoc or attempt in self._export_attempts:
            return
        # Once per engine: when go cannot say (a module missing offline, say), asking again
        # on every edit would only slow every edit down.
        self._export_attempts.add(attempt)
        extra = self._list(query, tuple(missing), check, export=True)
        if extra.errors or any(p.errors for p in extra.graph.values()):
            return  # not worth a message: the tests just keep using the go command
        self._record_exports(extra, check)
        for path, pkg in extra.graph.items():
            if path not in listing.graph or not listing.graph[path].export:
                listing.graph[path] = pkg
                if path in extra.export_state:
                    listing.export_state[path] = extra.export_state[path]

    def _compile_test_direct(
        self,
        query: Query,
        index: int,
        unit: _Unit,
        p: compile_direct.Plan,
        check: _Check,
        concurrency: int,
    ) -> bool:
        """Compile a package's tests with the compiler alone (``compile_direct.plan_test``).
        False when a failure was not the sources': the go command should try instead."""
        pkg = unit.package
        work = tempfile.mkdtemp(prefix=f"test-direct{index}-", dir=check.tmp)
        archive = os.path.join(work, "internal.a")
        test_binary = f"{pkg.import_path}.test"
        # (label for errors, -p, files, importcfg, output, archive?, files whose log we read)
        steps = [
            (
                f"{pkg.import_path} [{test_binary}]",
                pkg.import_path,  # a main package's test variant is a library
                pkg.go_files + pkg.test_files,
                p.importcfg,
                archive,
                True,
                set(pkg.test_files),
            )
        ]
        if pkg.xtest_files:
            steps.append(
                (
                    f"{pkg.import_path}_test [{test_binary}]",
                    pkg.import_path + "_test",
                    pkg.xtest_files,
                    p.importcfg + f"packagefile {pkg.import_path}={archive}\n",
                    os.path.join(work, "external.o"),
                    False,
                    set(pkg.xtest_files),
                )
            )
        env = self._direct_env(query, check)
        logs = compiler_output.RawLog()
        errors: list[CompileError] = []
        prefetch = self._prefetch(check, unit.wanted, pkg.all_files)
        try:
            for i, (label, pkgpath, files, importcfg, out, pack, wanted) in enumerate(steps):
                log_dir = os.path.join(work, f"log{i}")  # the compiler creates it
                importcfg_file = os.path.join(work, f"importcfg{i}")
                with open(importcfg_file, "w", encoding="utf-8") as f:
                    f.write(importcfg)
                argv = compile_direct.argv(
                    check.go,
                    pkgpath=pkgpath,
                    lang=p.lang,
                    files=files,
                    importcfg_file=importcfg_file,
                    object_file=out,
                    log_dir=log_dir,
                    buffers=check.buffers,
                    concurrency=concurrency,
                    pack=pack,
                )
                run = check.run(argv, query.root, env, prefetch)
                log = self._read_log(log_dir, check, only=wanted)
                if run.returncode == 0:
                    _expect_log(log, log_dir, label)
                logs.files.extend(log.files)
                logs.unreadable.extend(log.unreadable)
                if run.returncode != 0:
                    text = (run.stderr + run.stdout).decode("utf-8", "replace")
                    found_errors = name_real_files(
                        dict.fromkeys(parse_error_text(text, query.root, label)), check.buffers
                    )
                    if not any(e.file for e in found_errors) or compile_direct.environmental(
                        [e.message for e in found_errors]
                    ):
                        return False
                    errors.extend(found_errors)
                    break  # what depends on a package that failed is not compiled either
        finally:
            check.join(prefetch)
            shutil.rmtree(work, ignore_errors=True)
        files = pkg.all_files
        found, unknown = self._classify(logs, unit.wanted, files, check)
        found = attach_candidates(found, check.sources.get, editable=set(files))
        unit.result = UnitResult(tuple(found), tuple(dict.fromkeys(errors)), tuple(unknown))
        return True

    def _compile_directly(
        self, query: Query, listing: Listing, units: list[_Unit], check: _Check
    ) -> list[_Unit]:
        """Compile what can be compiled without the go command (see ``compile_direct``).

        Returns the units left for the go command."""
        plans: list[tuple[_Unit, compile_direct.Plan]] = []
        left: list[_Unit] = []
        for unit in units:
            p = self._direct_plan(query, listing, unit, check)
            if p is None:
                left.append(unit)
            else:
                plans.append((unit, p))
        if not plans:
            return left
        jobs = max(1, min(self.options.jobs, len(plans)))
        concurrency = max(1, (os.cpu_count() or 1) // jobs)
        env = self._direct_env(query, check)

        def compile_one(unit: _Unit, p: compile_direct.Plan) -> bool:
            return self._compile_direct(query, unit, p, check, env, concurrency)

        if jobs == 1:
            done = [compile_one(u, p) for u, p in plans]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(jobs) as pool:
                done = list(pool.map(lambda up: compile_one(*up), plans))
        for (unit, _p), ok in zip(plans, done, strict=True):
            if ok:
                check.result.stats.direct_units += 1
            else:
                left.append(unit)
        return left

    def _direct_plan(
        self, query: Query, listing: Listing, unit: _Unit, check: _Check
    ) -> compile_direct.Plan | None:
        """How to compile ``unit`` without the go command; None (with the reason in the
        stats) when the go command must do it."""
        why: str | None = None
        if query.adhoc:
            return None
        if any(not path.endswith(".go") for path in check.overlays):
            # An unsaved go.mod or go.work changes the module graph the listing recorded.
            why = "an unsaved file that is not Go source"
        else:
            run_env = {**check.env, **dict(query.env)}
            flags_neutral = not any(
                f.startswith("-gcflags") for f in self.options.build_flags
            ) and all(
                compile_direct.neutral_flags(flags)
                for flags in (
                    self._non_gc_flags(),
                    dict(check.go.build_env).get("GOFLAGS", "").split(),
                    run_env.get("GOFLAGS", "").split(),
                )
            )

            def fresh(dep: Package) -> bool:
                if not dep.is_local(check.go.gomodcache):
                    return True  # the toolchain or a module version pins it; both are keyed
                digest = keys.source_digest(dep, self._hasher, check.overlays)
                return listing.export_state.get(dep.import_path) == digest

            p = compile_direct.plan(
                unit.package, listing, check.go, fresh=fresh, flags_neutral=flags_neutral
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
            why = p
        what = unit.package.import_path + (" (tests)" if unit.variant == "test" else "")
        check.result.stats.direct_refusals.append(f"{what}: {why}")
        return None

    def _direct_env(self, query: Query, check: _Check) -> dict[str, str]:
        return compile_direct.env({**check.env, **dict(query.env)}, check.go)

    def _compile_direct(
        self,
        query: Query,
        unit: _Unit,
        p: compile_direct.Plan,
        check: _Check,
        env: dict[str, str],
        concurrency: int,
    ) -> bool:
        """Run the compiler on one package. False when the failure was not the sources'
        (stale or missing export data): the go command should try instead."""
        pkg = unit.package
        renames = self._renamed(pkg.go_files)
        work = tempfile.mkdtemp(prefix="direct-", dir=check.tmp)
        log_dir = os.path.join(work, "log")  # the compiler creates it
        importcfg = os.path.join(work, "importcfg")
        with open(importcfg, "w", encoding="utf-8") as f:
            f.write(p.importcfg)
        argv = compile_direct.argv(
            check.go,
            pkgpath=p.pkgpath,
            lang=p.lang,
            files=pkg.go_files,
            importcfg_file=importcfg,
            object_file=os.path.join(work, "out.o"),
            log_dir=log_dir,
            buffers=check.buffers,
            concurrency=concurrency,
            renames=renames,
        )
        prefetch = self._prefetch(check, pkg.go_files, pkg.go_files)
        run = check.run(argv, query.root, env, prefetch)
        check.join(prefetch)
        log = self._read_log(log_dir, check, only=set(pkg.go_files), renamed=bool(renames))
        shutil.rmtree(work, ignore_errors=True)
        errors: tuple[CompileError, ...] = ()
        if run.returncode != 0:
            text = (run.stderr + run.stdout).decode("utf-8", "replace")
            errors = name_real_files(
                dict.fromkeys(parse_error_text(text, query.root, pkg.import_path)), check.buffers
            )
            if renames:
                errors = collisions.restore_errors(errors)
            if not any(e.file for e in errors) or compile_direct.environmental(
                [e.message for e in errors]
            ):
                return False
        else:
            _expect_log(log, log_dir, pkg.import_path)
            if self._lost_logs(log, p.pkgpath, pkg, renames, check):
                # Another file's log replaced one of ours: again, with ours renamed.
                with check.clock.lock:
                    check.result.stats.recompiled_units += 1
                return self._compile_direct(query, unit, p, check, env, concurrency)
        found, unknown = self._classify(log, pkg.go_files, pkg.go_files, check)
        found = attach_candidates(found, check.sources.get, editable=set(pkg.go_files))
        unit.result = UnitResult(tuple(found), errors, tuple(unknown))
        return True

    def _read_log(
        self, log_dir: str, check: _Check, only: Collection[str] | None, renamed: bool = False
    ) -> compiler_output.RawLog:
        """The log of a compile; ``renamed`` when files were compiled under another name
        (``collisions``), which the log then gets back."""
        restore = collisions.restore if renamed else None
        with check.timed_parse():
            log = compiler_output.read_log_files(log_dir, only=only, restore=restore)
        copies = {copy: real for real, copy in check.buffers.items()}
        for one in (*log.files, *log.skipped) if copies else ():
            if one.header in copies:
                # The -trimpath rewrite that names the real file (the go command's, for
                # an -overlay, or compile_direct's) is a ';'-separated list of
                # "from=>to": a path holding ';' or '=>' breaks it.
                raise BlindSpot(
                    f"the compiler named heaplens's temporary copy of "
                    f"{os.path.basename(copies[one.header])} ({one.header}) instead of the "
                    "file, as a path holding ';' or '=>' makes it do; its findings would "
                    "be missing, so heaplens stopped. Try a TMPDIR without them."
                )
        return log

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
        check: _Check,
    ) -> list[str]:
        """Files of ``pkg`` whose log another file's replaced in ``log`` (written in the
        directory ``subdir``, the compile's ``-p``). They are remembered, to be compiled
        under another name from now on.

        A file that imports "C" is never renamed: the compiler sees cgo's output for it,
        whose log has a name of its own (``x.cgo1.json``) and cannot be lost so."""
        candidates = [f for f in pkg.go_files if f not in renames]
        if not pkg.go_only:
            candidates = [f for f in candidates if not _imports_c(check.sources.get(f))]
        lost = collisions.lost_files(log, subdir, candidates)
        if lost:
            with self._renames_lock:
                self._renames.update(lost)
        return lost

    def _recover_lost_logs(
        self,
        query: Query,
        listing: Listing,
        log: compiler_output.RawLog,
        results: dict[str, UnitResult],
        check: _Check,
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
                if self._lost_logs(log, subdir, pkg, (), check):
                    apart.add(pkg.import_path)
        units = [
            _Unit("plain", pkg, "")
            for pkg in listing.targets
            if pkg.import_path in apart and not pkg.errors
        ]
        if not units:
            return
        check.result.stats.recompiled_units += len(units)
        left = self._compile_directly(query, listing, units, check)
        for unit in units:
            if unit not in left and unit.result is not None:
                results[unit.package.import_path] = unit.result
        for unit in left:
            pkg = unit.package
            patterns = query.patterns if query.adhoc else (pkg.import_path,)
            renames = self._renamed(pkg.go_files)
            _, again = self._compile_plain(query, patterns, check, pkg.go_files, renames=renames)
            if pkg.import_path in again:
                results[pkg.import_path] = again[pkg.import_path]

    def _renaming_overlay(self, renames: Collection[str], check: _Check) -> str:
        """An ``-overlay`` file with the check's buffers and ``renames`` moved."""
        fd, path = tempfile.mkstemp(prefix="overlay-renamed-", suffix=".json", dir=check.tmp)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"Replace": collisions.overlay(renames, check.buffers)}, f)
        return path

    def _classify(
        self,
        log: compiler_output.RawLog,
        wanted: Sequence[str],
        files: Sequence[str],
        check: _Check,
        remap: Callable[[compiler_output.RawOutput], None] | None = None,
    ) -> tuple[list[Finding], list[str]]:
        """Findings in ``wanted`` from a compile of the package made of ``files``, and
        the compiler's lines that were not understood (kept with the unit's result, so
        that a cached answer still counts them).

        ``remap`` fixes positions in cgo's generated files. Without it, a file whose text
        and log are those of an earlier compile gets that compile's findings again from
        the cache, unparsed: an edit changes one file, and the others log the same again.
        """
        fresh: list[tuple[str, str, UnitResult]] = []
        unknown = list(log.unreadable)
        with check.timed_parse():
            scope = check.sources.scope_for(files)
            before = check.sources.init_closures_before_for(files)
            if remap is not None:
                raw = log.parse()
                remap(raw)
                classified = findings.classify(
                    raw, wanted, check.sources.get, scope, before, check.sources.imported_scalar
                )
                return list(classified.findings), unknown + classified.unknown
            logs_of: dict[str, list[bytes]] = {}
            for one in log.files:
                if one.header is not None:
                    logs_of.setdefault(one.header, []).append(one.data)
            out: list[Finding] = []
            for file in wanted:
                if file not in logs_of:
                    continue  # the compiler had nothing to say about it
                src = check.sources.get(file)
                key = self._file_key(file, src, scope(file), before(file))
                tag = _log_digest(logs_of[file])
                known = self.cache.get(key, tag)
                if known is not None:
                    check.result.stats.reused_files += 1
                else:
                    raw = log.parse(only_about={file})
                    classified = findings.classify(
                        raw, [file], check.sources.get, scope, before, check.sources.imported_scalar
                    )
                    known = UnitResult(tuple(classified.findings), (), tuple(classified.unknown))
                    fresh.append((key, tag, known))
                out.extend(known.findings)
                unknown.extend(known.unknown)
        # Storing is the cache's work, not the parse's; it is counted with the engine's.
        for key, tag, result in fresh:
            self.cache.put(key, result, tag)
        return out, unknown

    def _file_key(
        self,
        file: str,
        src: SourceFile | None,
        scope: findings.PackageScope,
        init_closures_before: int,
    ) -> str:
        """Where a file's findings are filed: its text, the package's scope (reasons
        name its variables and tell its methods from fields), how its package numbers
        its initialisers' closures, and heaplens.
        The entry's tag says what the compiler logged about the file (``_log_digest``);
        findings are reused only when that matches too.

        Everything but the log is known before the compiler runs, so the findings of the
        last compile can be loaded while it runs (``_prefetch``).
        """
        h = hashlib.blake2b(digest_size=32)
        h.update(b"classification\0" + keys.CODE.encode() + b"\0")
        h.update(file.encode("utf-8", "surrogateescape") + b"\0")
        # The text the findings' ranges were computed on, as read for this check.
        source = src.source if src is not None else b""
        h.update(len(source).to_bytes(8, "little") + source)
        for names in (scope.vars, scope.methods, scope.fields, scope.scalars, scope.storage):
            h.update("\0".join(sorted(names)).encode("utf-8", "surrogateescape") + b"\1")
        h.update(init_closures_before.to_bytes(8, "little"))
        return h.hexdigest()

    def _prefetch(self, check: _Check, wanted: Sequence[str], files: Sequence[str]) -> _Prefetch:
        """While the compiler runs: parse the package's files, and load the findings of
        ``wanted`` files from their last compile. After an edit most files log the same
        again, and their findings are then ready, decoded, when the compiler is done.
        Start it when the compiler has started; wait for it with ``check.join``.
        """

        def work() -> None:
            check.sources.parse(files)
            scope = check.sources.scope_for(files)
            before = check.sources.init_closures_before_for(files)
            for file in wanted:
                src = check.sources.get(file)
                if src is not None:
                    key = self._file_key(file, src, scope(file), before(file))
                    self.cache.get(key, tag=None)

        return _Prefetch(work)

    def _record_exports(self, listing: Listing, check: _Check) -> None:
        """Remember what local packages' sources were when their export data was built,
        so a later direct compile can tell whether that data is still theirs."""
        for pkg in listing.graph.values():
            if (
                pkg.export
                and pkg.is_local(check.go.gomodcache)
                and _unmoved(pkg.go_files, check.started_ns)
            ):
                digest = keys.source_digest(pkg, self._hasher, check.overlays)
                listing.export_state[pkg.import_path] = digest

    def _gcflags(self, log_dir: str) -> tuple[str, ...]:
        """Our ``-gcflags``: the user's own compiler flags, plus the log destination."""
        user: list[str] = []
        flags = self.options.build_flags
        i = 0
        while i < len(flags):
            value = None
            if flags[i].startswith("-gcflags="):
                value = flags[i][len("-gcflags=") :]
            elif flags[i] == "-gcflags" and i + 1 < len(flags):
                value = flags[i + 1]
                i += 1
            if value is not None:
                value = value.strip()
                if value and not value.startswith("-") and "=" in value:
                    value = value.split("=", 1)[1]  # "pattern=flags": keep the flags
                # Split as the go command splits it, to be joined again with ours.
                user.extend(toolchain.split_goflags(value) or value.split())
            i += 1
        # -dwarf=false: debug information is back-end work the findings do not need
        # (measured: about 6% off a compile of encoding/xml). It comes first, so that the
        # value starts with a flag even when the user's first one must be quoted.
        return (toolchain.gcflags(["-dwarf=false", *user, toolchain.json_log_flag(log_dir)]),)

    def _non_gc_flags(self) -> tuple[str, ...]:
        out: list[str] = []
        flags = self.options.build_flags
        i = 0
        while i < len(flags):
            if flags[i].startswith("-gcflags="):
                i += 1
            elif flags[i] == "-gcflags":
                i += 2
            else:
                out.append(flags[i])
                i += 1
        return tuple(out)

    def _compile_plain(
        self,
        query: Query,
        patterns: tuple[str, ...],
        check: _Check,
        expected_files: Sequence[str] = (),
        renames: Collection[str] | None = None,
    ) -> tuple[Listing, dict[str, UnitResult]]:
        """List and compile ``patterns`` in one ``go list -deps -export`` run.

        Returns the fresh listing and a result for each target it compiled.
        ``expected_files`` are parsed while the compiler runs: we wait for it anyway.
        With ``renames``, a package compiled again on its own (``_recover_lost_logs``):
        those files are compiled under another name, and nothing is recovered after.
        """
        work = tempfile.mkdtemp(prefix="log-", dir=check.tmp)
        log_dir = os.path.join(work, "log")  # the compiler creates it
        prefetch = self._prefetch(check, expected_files, expected_files)
        overlay = None
        if renames:
            overlay = self._renaming_overlay(renames, check)
            if query.adhoc:  # files named on the command line: name them as go sees them
                patterns = tuple(
                    p + collisions.SUFFIX if os.path.join(query.root, p) in renames else p
                    for p in patterns
                )
        listing = self._list(
            query, patterns, check, log_dir, started=prefetch.start, overlay=overlay
        )
        if renames:
            collisions.restore_listing(listing)
        else:
            self._record_exports(listing, check)
        check.join(prefetch)
        files = [f for p in listing.targets for f in p.go_files]
        # cgo's generated files are renamed to the real ones below: read their logs too.
        only = set(files) if all(p.go_only for p in listing.targets) else None
        log = self._read_log(log_dir, check, only=only, renamed=bool(renames))
        shutil.rmtree(work, ignore_errors=True)
        compiled = [p.import_path for p in listing.targets if p.go_files and not p.errors]
        if compiled:
            _expect_log(log, log_dir, compiled[0])
        dirs = {p.dir: p.import_path for p in listing.targets}

        def remap(raw: compiler_output.RawOutput) -> None:
            cgo_positions.remap(raw, check.go_tmp, dirs.get)

        by_file: dict[str, list[Finding]] = {}
        found_all, unknown = self._classify(
            log, files, files, check, remap if only is None else None
        )
        for f in found_all:
            by_file.setdefault(f.file, []).append(f)
        # Each package keeps the lines about its own files; the first, any others.
        unknown_of: dict[str, list[str]] = {}
        for line in unknown:
            owner = next(
                (p for p in listing.targets if line.startswith(p.dir + os.sep)),
                listing.targets[0] if listing.targets else None,
            )
            if owner is not None:
                unknown_of.setdefault(owner.import_path, []).append(line)
        results = {}
        for pkg in listing.targets:
            found = [f for path in pkg.go_files for f in by_file.get(path, ())]
            found = attach_candidates(found, check.sources.get, editable=set(pkg.go_files))
            results[pkg.import_path] = UnitResult(
                tuple(found), pkg.errors, tuple(unknown_of.get(pkg.import_path, ()))
            )
        if renames is None:
            self._recover_lost_logs(query, listing, log, results, check)
        return listing, results

    def _compile_test(self, query: Query, index: int, unit: _Unit, check: _Check) -> None:
        """Compile a package's tests with the go command: ``go list -test -export``
        compiles the package with its test files and the external test package, as
        ``go test`` would, and links nothing. A test binary is never needed, and linking
        one fails on what only the linker reads (a ``.syso`` for another platform).

        The package itself is compiled again in the same run and logs into the same
        directory; only the test files' logs are read, and it writes none of those."""
        pkg = unit.package
        work = tempfile.mkdtemp(prefix=f"log-test{index}-", dir=check.tmp)
        log_dir = os.path.join(work, "log")  # the compiler creates it
        prefetch = self._prefetch(check, unit.wanted, pkg.all_files)
        with check.timed_go():
            listing = packages.list_packages(
                query,
                (pkg.import_path,),
                check.go,
                check.env,
                overlay=check.overlay_file,
                build_flags=("-test", *self._non_gc_flags()),
                gcflags=(*self._gcflags(log_dir), "-work"),
                compile_targets=True,
                deadline=check.deadline,
                cancel=check.cancel,
                started=prefetch.start,
            )
        check.join(prefetch)
        # Test files cannot use cgo: no generated file stands for one, so the logs of
        # other files (the package itself, compiled again) can go unread. Flow steps of
        # test files can still pass through cgo's generated code: remap those.
        log = self._read_log(log_dir, check, only=set(unit.wanted))
        shutil.rmtree(work, ignore_errors=True)
        if listing.errors:
            # Not a compile error: the command itself failed. Report it, do not cache.
            unit.result = UnitResult((), tuple(listing.errors))
            unit.cacheable = False
            return
        # The test variants' errors, named after the package. The test binary's package
        # repeats them, and has its own when go test would not even compile (a test
        # function's signature it rejects): then those alone, as go test says them.
        variants: dict[CompileError, None] = {}
        main: dict[CompileError, None] = {}
        for target in listing.targets:
            if target.import_path != pkg.import_path:
                side = main if target.import_path == pkg.import_path + ".test" else variants
                side.update(dict.fromkeys(target.errors))
        own = [e for e in main if e not in variants]
        errors = name_real_files(
            dict.fromkeys(
                dataclasses.replace(e, package=pkg.import_path) for e in own or [*variants, *main]
            ),
            check.buffers,
        )
        if not errors:
            _expect_log(log, log_dir, pkg.import_path + " (tests)")
        elif not any(e.file for e in errors):
            unit.result = UnitResult((), errors)
            unit.cacheable = False
            return
        dirs = {pkg.dir: pkg.import_path}

        def remap(raw: compiler_output.RawOutput) -> None:
            cgo_positions.remap(raw, check.go_tmp, dirs.get)

        files = pkg.all_files
        found, unknown = self._classify(
            log, unit.wanted, files, check, None if pkg.go_only else remap
        )
        found = attach_candidates(found, check.sources.get, editable=set(files))
        unit.result = UnitResult(tuple(found), errors, tuple(unknown))

    def _assemble(
        self,
        query: Query,
        listing: Listing,
        units: list[_Unit],
        result: CheckResult,
        check: _Check,
        plain_only: bool = False,
    ) -> None:
        """Package results from units. ``plain_only``: from the plain units alone, each
        package covering its non-test files only."""
        by_package: dict[str, list[_Unit]] = {}
        for unit in units:
            if plain_only and unit.variant != "plain":
                continue
            by_package.setdefault(unit.package.import_path, []).append(unit)
        for pkg in listing.targets:
            pkg_units = by_package.get(pkg.import_path, [])
            found: list[Finding] = []
            errors: dict[CompileError, None] = {}
            for unit in pkg_units:
                if unit.result is not None:
                    found.extend(unit.result.findings)
                    errors.update(dict.fromkeys(unit.result.errors))
                    result.unknown.extend(unit.result.unknown)
            if query.files is not None:
                for path in pkg.ignored_files:
                    if path in query.files:
                        data = check.overlays.get(path)
                        source = (_read_bytes(path) or b"") if data is None else data
                        result.left_out.append(left_out(path, source, result.platform))
                if not any(f in query.files for f in pkg.all_files):
                    continue
                found = [f for f in found if f.file in query.files]
            found.sort(key=lambda f: (f.file, f.range, f.kind.value))
            result.packages.append(
                PackageResult(
                    import_path=pkg.import_path,
                    dir=pkg.dir,
                    files=pkg.go_files if plain_only else pkg.all_files,
                    findings=tuple(found),
                    errors=tuple(errors),
                    cached=bool(pkg_units) and all(u.cached for u in pkg_units),
                    excluded=pkg.ignored_files,
                )
            )


def left_out(path: str, source: bytes, platform: str) -> Excluded:
    """Why the build leaves out ``path`` (one of a ``PackageResult``'s ``excluded``),
    whose text is ``source``, when building for ``platform``."""
    return Excluded(path, build_constraint(source), platform)


def _expect_log(log: compiler_output.RawLog, log_dir: str, what: str) -> None:
    """Stop the check when a compile that succeeded left no log (``RawLog.written``):
    reporting no findings for it would pass a blind spot off as a clean result."""
    if not log.written:
        raise BlindSpot(
            f"the compiler wrote no escape-analysis log for {what} into {log_dir}, where "
            "it was told to; its findings would be missing, so heaplens stopped. If "
            "TMPDIR or the go command's flags are unusual, try another TMPDIR."
        )


def _unmoved(paths: Iterable[str], since_ns: int) -> bool:
    """True when none of ``paths`` was modified at or after ``since_ns``."""
    for path in paths:
        try:
            if os.stat(path).st_mtime_ns >= since_ns:
                return False
        except OSError:
            continue
    return True


def _write_overlay(tmp: str, overlays: Mapping[str, bytes]) -> tuple[str, dict[str, str]]:
    """Write unsaved buffers and the ``-overlay`` map, readable by the user only.

    Returns the map's file, and the map itself."""
    directory = os.path.join(tmp, "overlay")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    replace: dict[str, str] = {}
    for i, (path, data) in enumerate(sorted(overlays.items())):
        target = os.path.join(directory, f"{i}-{os.path.basename(path)}")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        replace[path] = target
    overlay = os.path.join(tmp, "overlay.json")
    fd = os.open(overlay, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"Replace": replace}, f)
    return overlay, replace


def _imports_c(src: SourceFile | None) -> bool:
    """True for a file that uses cgo (or that cannot be read, to be safe)."""
    return src is None or "C" in src.imported_names

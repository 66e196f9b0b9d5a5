"""What a check answers: ``CheckResult`` with one ``PackageResult`` per package, and
``Stats`` on how it was computed. ``assemble`` builds package results from units.

Results carry what work after the analysis needs (the fixes' candidates,
``fixes.propose.with_candidates``): each unit's findings as it reported them, the files a
fix may rewrite, and the check's source lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..model import CompileError, Excluded, Finding
from ..packages import Listing
from ..syntax import SourceFile, build_constraint
from ..workspace import Query
from .sources import read_bytes
from .units import Unit


class SourceReader:
    """The sources as one check read them. Shared by copies of a result, never copied:
    a copy (``copy.deepcopy``) reads the same files, and parsed trees cannot be copied."""

    def __init__(self, get: Callable[[str], SourceFile | None]) -> None:
        self._get = get

    def __call__(self, path: str) -> SourceFile | None:
        return self._get(path)

    def __deepcopy__(self, memo: dict[int, object]) -> SourceReader:
        return self


@dataclass(frozen=True)
class UnitFindings:
    """One compile unit's findings, in the order it reported them and before a query's
    files left any out: a fix may rest on several of them (a leaking parameter and the
    calls that box its arguments). ``editable``: the files a fix may rewrite."""

    findings: tuple[Finding, ...]
    editable: frozenset[str]
    #: The unit's cache key: it determines the findings and the files' text ("" when the
    #: unit was not keyed).
    key: str = ""


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
    #: The units ``findings`` came from, for the fixes proposed on them.
    units: tuple[UnitFindings, ...] = ()
    #: True when a unit was compiled by the compiler that stops after escape analysis
    #: (``stopped_compiler``): no bounds or nil checks, and a full compile replaces it.
    stopped_early: bool = False


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
    #: Units compiled by the compiler that stops after escape analysis.
    stopped_units: int = 0
    #: Why the stopped compiler was not used, when it was asked for ("" otherwise).
    stopped_note: str = ""


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
    #: The sources as the check read them (unsaved buffers in place of the disk): what
    #: the findings' ranges were computed on, and what fixes are proposed on.
    sources: SourceReader | None = field(default=None, compare=False, repr=False)

    @property
    def findings(self) -> list[Finding]:
        return [f for p in self.packages for f in p.findings]

    @property
    def all_errors(self) -> list[CompileError]:
        seen: dict[CompileError, None] = dict.fromkeys(self.errors)
        for p in self.packages:
            seen.update(dict.fromkeys(p.errors))
        return list(seen)


def left_out(path: str, source: bytes, platform: str) -> Excluded:
    """Why the build leaves out ``path`` (one of a ``PackageResult``'s ``excluded``),
    whose text is ``source``, when building for ``platform``."""
    return Excluded(path, build_constraint(source), platform)


def assemble(
    query: Query,
    listing: Listing,
    units: Sequence[Unit],
    result: CheckResult,
    overlays: dict[str, bytes],
    plain_only: bool = False,
) -> None:
    """Package results from units, added to ``result``. ``plain_only``: from the plain
    units alone, each package covering its non-test files only."""
    by_package: dict[str, list[Unit]] = {}
    for unit in units:
        if plain_only and unit.variant != "plain":
            continue
        by_package.setdefault(unit.package.import_path, []).append(unit)
    for pkg in listing.targets:
        pkg_units = by_package.get(pkg.import_path, [])
        found: list[Finding] = []
        errors: dict[CompileError, None] = {}
        reported: list[UnitFindings] = []
        for unit in pkg_units:
            if unit.result is not None:
                found.extend(unit.result.findings)
                errors.update(dict.fromkeys(unit.result.errors))
                result.unknown.extend(unit.result.unknown)
                reported.append(
                    UnitFindings(unit.result.findings, frozenset(unit.editable), unit.key)
                )
        if query.files is not None:
            for path in pkg.ignored_files:
                if path in query.files:
                    data = overlays.get(path)
                    source = (read_bytes(path) or b"") if data is None else data
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
                units=tuple(reported),
                stopped_early=any(u.stopped_early for u in pkg_units),
            )
        )

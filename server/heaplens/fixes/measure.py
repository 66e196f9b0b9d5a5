"""Measuring a fix by running the package's own tests and benchmarks (``heaplens fix
--test`` and ``--bench``).

This module owns the judges ``fix_all`` consults after the compiler has verified a fix
(``service.Judge``): each runs ``go test`` in the fix's package before and with the fix, and
keeps the fix or says why it is dropped. Unlike everything else in heaplens, this runs
code from the workspace (test and benchmark functions), so it only ever happens when the
user asks for it with a flag.

Nothing is written to the workspace: "with the fix" is the same ``go test`` run with
``-overlay``, pointing the changed files at copies in a private temporary directory that
is removed after each run. Results are cached per package directory and content of the
overlays, so the measurement "before" a fix is the one "with" the fix taken before it
(or the first baseline), not a rerun.

``TestJudge`` (``--test``) compares test by test (``go test -json``). A fix is dropped
when the package's tests no longer build with it, when a test that passed before fails
or no longer runs with it (named in the reason, with its first line of output), or when
the package passed before and ``go test`` fails with the fix for no test in particular
(``TestMain``, a panic in ``init``). Tests that failed or were skipped before do not count,
and a package whose tests did not build before has nothing to compare against: its fixes
are kept.

``BenchJudge`` (``--bench REGEX``) runs ``go test -run '^$' -bench REGEX -benchmem -count
N`` before and with the fix and compares allocs/op, B/op and ns/op per benchmark as
benchstat does: the medians, and a two-sided Mann–Whitney U test over the N runs (SciPy's
``mannwhitneyu``, exact up to 50 runs a side; p = 1 when every run measured the same).
The rule that drops a fix (``compare``): a benchmark's metric is *worse* when its median
is higher with the fix and

* p < 0.05 (any metric), or
* for allocs/op and B/op, every run with the fix is above every run before. These are
  counts the runtime measures almost exactly, so a shift across all runs is real even
  when N is too small for the test to reach significance (with 3 runs a side the
  smallest p it can give is 0.1).

A fix with any worse metric in any benchmark is dropped; anything else is kept, including
a fix for a package with no benchmark matching REGEX, or whose benchmarks fail without
the fix (nothing to compare against; the report says so). Each fix measured gets a
``BenchReport``, which the command line prints.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import toolchain
from ..workspace import plan
from .model import VerifiedFix

if TYPE_CHECKING:
    from ..analysis import Engine, Progress
    from .service import Judge

#: Runs per side when ``--count`` is not given: enough for the U test to reach p < 0.05
#: with room to spare (the smallest p with 6 runs a side is 0.002), as benchstat advises.
DEFAULT_COUNT = 6
ALPHA = 0.05
#: The metrics compared, in the order reports show them.
METRICS = ("allocs/op", "B/op", "ns/op")
#: Counts the runtime measures almost exactly (see the module docstring).
_DETERMINISTIC = frozenset({"allocs/op", "B/op"})

#: Runs per side up to which p is computed exactly (a few milliseconds at 50).
_EXACT_UP_TO = 50

INSTALL_HINT = "pip install 'heaplens[bench]'"


def statistics_missing() -> str | None:
    """Why ``--bench`` cannot run here (SciPy is missing), or None if it can."""
    try:
        import scipy.stats  # noqa: F401
    except ImportError:
        return (
            "--bench needs SciPy for its significance test (Mann–Whitney U), and it is "
            f"not installed: {INSTALL_HINT}"
        )
    return None


# -- running go test --------------------------------------------------------------------


@dataclass(frozen=True)
class GoTestOutput:
    """What one ``go test`` said, our temporary paths replaced by the user's."""

    returncode: int
    stdout: str
    stderr: str


def _overlay_key(directory: str, overlays: Mapping[str, bytes]) -> tuple[str, str]:
    h = hashlib.sha256()
    for path in sorted(overlays):
        h.update(path.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(overlays[path]).digest())
    return directory, h.hexdigest()


class GoTest:
    """Runs ``go test`` in one package with the engine's toolchain, environment, build
    flags and deadline, optionally on overlays."""

    def __init__(
        self,
        engine: Engine,
        cancel: toolchain.CancelToken | None = None,
        progress: Progress | None = None,
    ) -> None:
        self._engine = engine
        self._cancel = cancel
        self._progress = progress

    def run(
        self, directory: str, overlays: Mapping[str, bytes], flags: Sequence[str], label: str
    ) -> GoTestOutput:
        engine = self._engine
        # The one --timeout covers these runs too; without one (a library caller), each
        # run gets the engine's per-check allowance.
        deadline = engine.deadline or toolchain.Deadline(engine.options.timeout)
        env = engine.base_env()
        go = engine.go_env(directory, deadline, self._cancel)
        queries = plan([directory], directory, env)
        if not queries:
            return GoTestOutput(1, "", f"no package in {directory}")
        query = queries[0]
        targets = list(query.patterns)
        if query.adhoc:
            # Files outside any module are built as named files: name the tests too.
            targets += sorted(
                os.path.join(directory, n) for n in os.listdir(directory) if n.endswith("_test.go")
            )
        if self._progress is not None:
            self._progress(0, 0, label)
        tmp = tempfile.mkdtemp(prefix="heaplens-measure-")
        try:
            work = os.path.join(tmp, "go")
            os.mkdir(work, 0o700)
            env.update(dict(query.env))
            # go's own work directory (the test binary): ours, so nothing is left behind
            # even when a timeout kills go before it can clean up. TMPDIR stays the
            # user's: tests see the temporary directory they always see.
            env["GOTMPDIR"] = work
            argv = [go.binary, "test", *engine.options.build_flags]
            replace: dict[str, str] = {}
            if overlays:
                overlay_file, replace = _write_overlay(tmp, overlays)
                argv.append(f"-overlay={overlay_file}")
            argv += [*flags, *targets]
            result = toolchain.run(
                argv, cwd=query.root, env=env, deadline=deadline, cancel=self._cancel
            )
            stdout = result.stdout.decode("utf-8", "replace")
            stderr = result.stderr.decode("utf-8", "replace")
            # Messages name the user's files, not our copies of them.
            for original, copy in replace.items():
                shown = os.path.relpath(original, query.root)
                for form in (copy, os.path.relpath(copy, query.root)):
                    stdout = stdout.replace(form, shown)
                    stderr = stderr.replace(form, shown)
            return GoTestOutput(result.returncode, stdout, stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _write_overlay(tmp: str, overlays: Mapping[str, bytes]) -> tuple[str, dict[str, str]]:
    """The ``-overlay`` file and its map; each copy keeps its file's name (in a directory
    of its own), so what go says about it still reads right."""
    replace: dict[str, str] = {}
    for i, (path, data) in enumerate(sorted(overlays.items())):
        directory = os.path.join(tmp, "overlay", str(i))
        os.makedirs(directory, mode=0o700)
        target = os.path.join(directory, os.path.basename(path))
        with open(target, "wb") as f:
            f.write(data)
        replace[path] = target
    overlay = os.path.join(tmp, "overlay.json")
    with open(overlay, "w", encoding="utf-8") as f:
        json.dump({"Replace": replace}, f)
    return overlay, replace


def _shown(directory: str) -> str:
    """A directory as the progress line shows it: relative to here when below it."""
    rel = os.path.relpath(directory)
    return directory if rel.startswith("..") else rel


def _first_message(text: str) -> str:
    """The first line of go's output that says something: not a ``# package`` header."""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line
    return ""


# -- tests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestRun:
    """What one ``go test -json`` of a package said."""

    __test__ = False  # not a pytest class, whatever its name

    #: Why the tests did not build (or go did not run them), or None.
    build_error: str | None
    #: Each test's (and subtest's) last verdict: "pass", "fail" or "skip".
    tests: Mapping[str, str]
    #: Each test's output, less go's own ``=== RUN`` / ``--- FAIL`` lines.
    output: Mapping[str, tuple[str, ...]]
    passed: bool
    #: The last thing the package said, for a failure no test owns.
    tail: str = ""


_FRAMING = ("=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- FAIL", "--- SKIP")


def parse_test_json(ran: GoTestOutput) -> TestRun:
    """Read ``go test -json`` (Go 1.21 and later: build errors on stderr before 1.24, as
    ``build-output`` events since)."""
    tests: dict[str, str] = {}
    output: dict[str, list[str]] = {}
    build_output: list[str] = []
    package_lines: list[str] = []
    build_failed = False
    package_action = ""
    events = 0
    for line in ran.stdout.splitlines():
        if not line.startswith("{"):
            continue
        try:
            event: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        events += 1
        action = event.get("Action", "")
        test = event.get("Test")
        text = str(event.get("Output", ""))
        if action == "build-output":
            build_output.append(text)
        elif action == "build-fail":
            build_failed = True
        elif test:
            if action in ("pass", "fail", "skip"):
                tests[str(test)] = action
            elif action == "output" and not text.strip().startswith(_FRAMING):
                output.setdefault(str(test), []).append(text.strip())
        elif action in ("pass", "fail", "skip"):
            package_action = action
            if event.get("FailedBuild"):
                build_failed = True
        elif action == "output":
            package_lines.append(text.strip())
            if "[build failed]" in text or "[setup failed]" in text:
                build_failed = True
    if events == 0 and ran.returncode != 0:
        # go itself gave up (no module, a bad flag): the tests cannot run at all.
        build_failed = True
    error = None
    if build_failed:
        error = (
            _first_message("".join(build_output))
            or _first_message(ran.stderr)
            or "go test failed before running any test"
        )
    meaningful = [
        x for x in package_lines if x and x not in ("FAIL", "PASS") and not x.startswith("ok ")
    ]
    return TestRun(
        build_error=error,
        tests=tests,
        output={k: tuple(x for x in v if x) for k, v in output.items()},
        passed=ran.returncode == 0 and package_action != "fail",
        tail=meaningful[-1] if meaningful else _first_message(ran.stderr),
    )


def _most_specific(names: Sequence[str]) -> list[str]:
    """Drop a test whose subtest is also listed: ``TestX/case`` says more than ``TestX``."""
    return [n for n in names if not any(o.startswith(n + "/") for o in names)]


def _some(names: Sequence[str], limit: int = 3) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def compare_tests(before: TestRun, after: TestRun) -> str | None:
    """None to keep the fix, or why it is dropped (see the module docstring)."""
    if after.build_error is not None:
        if before.build_error is not None:
            return None  # the tests did not build before either: nothing to compare
        return f"go test: the tests no longer build with it: {after.build_error}"
    passed = sorted(t for t, verdict in before.tests.items() if verdict == "pass")
    failed = _most_specific([t for t in passed if after.tests.get(t) == "fail"])
    missing = _most_specific([t for t in passed if t not in after.tests])
    reasons = []
    if failed:
        detail = next((after.output[t][0] for t in failed if after.output.get(t)), "")
        reasons.append(
            f"{_some(failed)} failed with it (passed before)" + (f": {detail}" if detail else "")
        )
    if missing:
        reasons.append(f"{_some(missing)} no longer ran with it (passed before)")
    if reasons:
        return "go test: " + "; ".join(reasons)
    if before.passed and not after.passed:
        detail = f": {after.tail}" if after.tail else ""
        return f"go test: fails with it (passed before){detail}"
    return None


class TestJudge:
    """``--test``: a fix is kept only if the package's tests pass with it as they did
    before (a ``service.Judge``)."""

    __test__ = False  # not a pytest class, whatever its name

    def __init__(self, go: GoTest) -> None:
        self._go = go
        self._runs: dict[tuple[str, str], TestRun] = {}

    def __call__(
        self,
        directory: str,
        before: Mapping[str, bytes],
        after: Mapping[str, bytes],
        fix: VerifiedFix,
    ) -> str | None:
        was = self._measure(directory, before, "before the fix")
        now = self._measure(directory, after, f"with: {fix.title}")
        return compare_tests(was, now)

    def _measure(self, directory: str, overlays: Mapping[str, bytes], what: str) -> TestRun:
        key = _overlay_key(directory, overlays)
        if key not in self._runs:
            # No -count=1: go's test cache is keyed by the test binary (so by the
            # overlaid sources too), the environment and the files the tests read. A
            # cached pass is a pass of this very code; only passes are cached, so a
            # failure is always run again.
            label = f"go test {_shown(directory)}: {what}"
            ran = self._go.run(directory, overlays, ["-json"], label)
            self._runs[key] = parse_test_json(ran)
        return self._runs[key]


# -- benchmarks -------------------------------------------------------------------------

# "BenchmarkEncode/small-8   1000   1510 ns/op   1216 B/op   3 allocs/op"
_BENCH_LINE = re.compile(r"^(Benchmark\S*)\s+(\d+)\s+(\d.*)$")
_PROCS = re.compile(r"-\d+$")

Samples = dict[str, dict[str, list[float]]]


def parse_bench(text: str) -> Samples:
    """Every run of every benchmark in ``go test -bench`` output: name (without the
    ``-GOMAXPROCS`` suffix) → unit → one value per run."""
    samples: Samples = {}
    for line in text.splitlines():
        m = _BENCH_LINE.match(line.strip())
        if not m:
            continue
        name = _PROCS.sub("", m.group(1))
        fields = m.group(3).split()
        units = samples.setdefault(name, {})
        for value, unit in zip(fields[::2], fields[1::2], strict=False):
            try:
                units.setdefault(unit, []).append(float(value))
            except ValueError:
                break
    return samples


@dataclass(frozen=True)
class Comparison:
    """One metric of one benchmark, before and with the fix."""

    unit: str
    before: float  # medians
    after: float
    p: float
    runs: tuple[int, int]
    worse: bool

    def text(self) -> str:
        return f"{self.unit} {_number(self.before)} → {_number(self.after)} (p={self.p:.3f})"

    def as_dict(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "before": self.before,
            "after": self.after,
            "p": self.p,
            "runs": list(self.runs),
            "worse": self.worse,
        }


def _number(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"


def u_test(before: Sequence[float], after: Sequence[float]) -> float:
    """The two-sided Mann–Whitney U p-value, as benchstat computes it; 1 when every run
    measured the same (nothing to tell apart)."""
    if len(set(before) | set(after)) <= 1:
        return 1.0
    from scipy.stats import mannwhitneyu

    # The exact distribution, as benchstat uses for samples this small: SciPy's default
    # switches to the normal approximation as soon as runs tie (allocs/op always do),
    # and that is far too confident with a handful of runs (p = 0.047 for 3 tied runs a
    # side, where no arrangement of 3 against 3 can be rarer than 0.1).
    method = "exact" if max(len(before), len(after)) <= _EXACT_UP_TO else "asymptotic"
    p = float(mannwhitneyu(before, after, alternative="two-sided", method=method).pvalue)
    return 1.0 if math.isnan(p) else p


def compare(
    unit: str, before: Sequence[float], after: Sequence[float], alpha: float = ALPHA
) -> Comparison:
    """Medians, p-value, and whether the fix made this metric worse (the rule in the
    module docstring)."""
    was, now = statistics.median(before), statistics.median(after)
    p = u_test(before, after)
    worse = now > was and (p < alpha or (unit in _DETERMINISTIC and min(after) > max(before)))
    return Comparison(unit, was, now, p, (len(before), len(after)), worse)


@dataclass(frozen=True)
class BenchRow:
    name: str
    comparisons: tuple[Comparison, ...]

    @property
    def worse(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.worse)

    def text(self) -> str:
        return f"{self.name}: " + ", ".join(c.text() for c in self.comparisons)


def compare_benchmarks(before: Samples, after: Samples) -> list[BenchRow]:
    """A row for each benchmark measured both times, with the metrics of both."""
    rows = []
    for name in sorted(before.keys() & after.keys()):
        comparisons = tuple(
            compare(unit, before[name][unit], after[name][unit])
            for unit in METRICS
            if before[name].get(unit) and after[name].get(unit)
        )
        if comparisons:
            rows.append(BenchRow(name, comparisons))
    return rows


@dataclass(frozen=True)
class BenchReport:
    """What ``--bench`` measured for one fix."""

    fix: VerifiedFix
    kept: bool
    rows: tuple[BenchRow, ...] = ()
    #: Why there are no rows ("no benchmark matched ..."), or "".
    note: str = ""

    def lines(self) -> list[str]:
        """The report as printed under the fix's own line: one line per benchmark."""
        if not self.rows:
            return [f"  {self.note}"]
        return [f"  {row.text()}" for row in self.rows]

    @property
    def runs(self) -> int:
        """Runs per side (the most any metric had)."""
        return max((max(c.runs) for r in self.rows for c in r.comparisons), default=0)

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.fix.file,
            "fix": self.fix.title,
            "kept": self.kept,
            "note": self.note,
            "benchmarks": [
                {"name": r.name, "metrics": [c.as_dict() for c in r.comparisons]} for r in self.rows
            ],
        }


@dataclass(frozen=True)
class _BenchRun:
    samples: Samples
    #: Why the benchmarks did not run, or None.
    error: str | None


class BenchJudge:
    """``--bench REGEX``: a fix is kept only if no benchmark matching REGEX gets worse
    with it (a ``service.Judge``). ``reports`` has one entry per fix measured."""

    def __init__(
        self,
        go: GoTest,
        pattern: str,
        count: int = DEFAULT_COUNT,
        benchtime: str | None = None,
    ) -> None:
        self._go = go
        self.pattern = pattern
        # No benchmark result is ever cached by go (-bench is not a cacheable flag), so
        # these are fresh runs each time; ours are cached instead, per content.
        self._flags = ["-run=^$", f"-bench={pattern}", "-benchmem", f"-count={count}"]
        if benchtime:
            self._flags.append(f"-benchtime={benchtime}")
        self._runs: dict[tuple[str, str], _BenchRun] = {}
        self.reports: list[BenchReport] = []

    def __call__(
        self,
        directory: str,
        before: Mapping[str, bytes],
        after: Mapping[str, bytes],
        fix: VerifiedFix,
    ) -> str | None:
        was = self._measure(directory, before, "before the fix")
        if was.error is not None:
            note = f"benchmarks not measured: they fail without the fix: {was.error}"
            self._report(fix, True, note=note)
            return None
        if not was.samples:
            self._report(fix, True, note=f"no benchmark matched {self.pattern!r}")
            return None
        now = self._measure(directory, after, f"with: {fix.title}")
        if now.error is not None:
            self._report(fix, False, note=f"benchmarks fail with the fix: {now.error}")
            return f"go test -bench: the benchmarks fail with it: {now.error}"
        rows = compare_benchmarks(was.samples, now.samples)
        if not rows:
            note = "no benchmark was measured both before and with the fix"
            self._report(fix, True, note=note)
            return None
        worse = [f"{row.name} {c.text()}" for row in rows for c in row.worse]
        self._report(fix, not worse, rows=tuple(rows))
        if worse:
            return "go test -bench: worse with it: " + "; ".join(worse)
        return None

    def _report(
        self, fix: VerifiedFix, kept: bool, rows: tuple[BenchRow, ...] = (), note: str = ""
    ) -> None:
        self.reports.append(BenchReport(fix, kept, rows, note))

    def _measure(self, directory: str, overlays: Mapping[str, bytes], what: str) -> _BenchRun:
        key = _overlay_key(directory, overlays)
        if key not in self._runs:
            label = f"go test -bench {_shown(directory)}: {what}"
            ran = self._go.run(directory, overlays, self._flags, label)
            error = None
            if ran.returncode != 0:
                failure = next(
                    (x.strip() for x in ran.stdout.splitlines() if x.startswith("--- FAIL")), ""
                )
                error = failure or _first_message(ran.stderr) or _first_message(ran.stdout)
            self._runs[key] = _BenchRun(parse_bench(ran.stdout), error)
        return self._runs[key]


# -- both -------------------------------------------------------------------------------


@dataclass
class Judges:
    """Several judges as one: each in turn, the first refusal wins (so a fix whose tests
    fail is never benchmarked)."""

    judges: Sequence[Judge] = field(default_factory=list)

    def __call__(
        self,
        directory: str,
        before: Mapping[str, bytes],
        after: Mapping[str, bytes],
        fix: VerifiedFix,
    ) -> str | None:
        for judge in self.judges:
            refused = judge(directory, before, after, fix)
            if refused is not None:
                return refused
        return None

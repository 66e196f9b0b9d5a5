"""The ``heaplens`` command line: ``check``, ``fix`` and ``serve``.

Exit codes of ``check``: 0 all good; 1 a finding of a ``--fail-on`` kind exists; 2 the
analysis is incomplete (a package does not compile, the toolchain is unusable, bad usage).
2 wins over 1: an incomplete run cannot vouch for what it did not see.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from . import __version__
from . import kinds as kind_table
from .model import ALWAYS_KINDS, DEFAULT_KINDS, Kind, parse_kinds
from .report_cost import POSITION, SORTS, Ranking, shown

if TYPE_CHECKING:
    from .analysis import CheckResult, Engine, Options, Progress
    from .baseline import Baseline, Marks
    from .cache import ResultCache
    from .fixes.measure import BenchJudge
    from .fixes.model import VerifiedFix
    from .fixes.service import FixRun, Judge
    from .profiles import Profiles
    from .toolchain import CancelToken, Deadline
    from .workspace import Query

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INCOMPLETE = 2


def _kinds_arg(text: str) -> frozenset[Kind]:
    try:
        return parse_kinds(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be a fraction from 0 to 1, e.g. 0.05 for 5%")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--go", metavar="PATH", help="the go binary (default: go on PATH)")
    p.add_argument(
        "--timeout",
        type=_positive,
        default=300.0,
        metavar="SECONDS",
        help="stop after this long, whatever is running (default: 300)",
    )
    p.add_argument("--tags", default="", help="build tags, comma-separated")
    p.add_argument(
        "--build-flags",
        default="",
        metavar="FLAGS",
        help='extra go build flags, e.g. "-race" (a -gcflags value is merged with ours)',
    )
    p.add_argument(
        "--no-tests",
        dest="tests",
        action="store_false",
        help="skip _test.go files (default: analyse them too)",
    )
    p.add_argument(
        "--allow-network",
        action="store_true",
        help="let go download missing modules (default: GOPROXY=off)",
    )
    p.add_argument("--cache-dir", metavar="DIR", help="where results are cached")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heaplens",
        description="Where Go values escape to the heap, why, and how to keep them on the stack.",
    )
    parser.add_argument("--version", action="version", version=f"heaplens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_check_command(sub)
    _add_fix_command(sub)
    serve = sub.add_parser("serve", help="run the language server (LSP over stdio)")
    serve.add_argument("--stdio", action="store_true", help="talk over stdio (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead, for debugging")
    serve.add_argument("--log-file", metavar="FILE", help="write the log here instead of stderr")
    return parser


def _add_check_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check", help="report escapes in packages (for CI)")
    check.add_argument(
        "patterns", nargs="*", metavar="PATTERN|DIR|FILE", help="what to analyse (default ./...)"
    )
    _add_report_args(check)
    check.add_argument(
        "--kinds",
        type=_kinds_arg,
        default=DEFAULT_KINDS,
        help=f"kinds to report, comma-separated: {', '.join(kind_table.names())}, or all "
        f"(default: {','.join(r.name for r in kind_table.KINDS if r.on_by_default)}; "
        f"{', '.join(sorted(kind_table.always_names()))} are always reported)",
    )
    check.add_argument(
        "--fail-on",
        type=_kinds_arg,
        default=frozenset(),
        metavar="KINDS",
        help="exit 1 when a finding of these kinds exists (with --baseline: a new one)",
    )
    check.add_argument("-o", "--output", metavar="FILE", help="write the report here")
    check.add_argument(
        "-v", "--verbose", action="store_true", help="show timings and unknown compiler lines"
    )
    _add_engine_args(check)
    check.add_argument(
        "--fast",
        action="store_true",
        help="packages compiled without the go command stop after escape analysis "
        "(no bounds or nil checks); the first run builds that compiler",
    )

    check.add_argument(
        "--verify-fixes",
        action="store_true",
        help="recompile to verify each fix listed in the report (slower)",
    )
    _add_profile_args(check, "each heap finding shows what the profiles say it allocated")
    check.add_argument(
        "--sort",
        choices=SORTS,
        default=POSITION,
        help="order of findings: by position (default), or by cost: most bytes allocated "
        "first, in the profiles' figures (needs --profile)",
    )
    check.add_argument(
        "--min-share",
        type=_fraction,
        metavar="F",
        help="hide heap findings whose share of the profiles' allocated bytes is below F "
        "(0 to 1: 0.05 is 5%%; a shared line counts whole); findings of other kinds stay "
        "shown, and --fail-on counts only what is shown (needs an allocation --profile)",
    )


def _add_report_args(p: argparse.ArgumentParser) -> None:
    """The report's format, and the baseline it is compared with."""
    p.add_argument(
        "--format",
        choices=("text", "json", "sarif", "github"),
        default="text",
        help="text (default); json (a report --baseline can read); sarif (for code "
        "scanning); github (workflow-command annotations, one per finding; with "
        "--baseline, only the new ones)",
    )
    p.add_argument(
        "--baseline",
        metavar="FILE",
        help="an earlier --format json report (-o FILE): each finding is marked new or "
        "unchanged, matched by file, function, kind, subject and occurrence (not by line), "
        "and --fail-on counts only new ones",
    )


def _add_profile_args(p: argparse.ArgumentParser, purpose: str) -> None:
    p.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="FILE",
        help="a pprof profile (go test -memprofile, /debug/pprof/allocs, a CPU profile, "
        f"default.pgo), gzipped or not; repeat for more, their samples are merged; {purpose}",
    )


def _add_fix_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fix = sub.add_parser(
        "fix",
        help="apply compiler-verified fixes (a dry run printing a diff by default)",
        # --test, --tests and --no-tests are different things: no abbreviations.
        allow_abbrev=False,
    )
    fix.add_argument("patterns", nargs="*", metavar="PATTERN|DIR|FILE", help="default ./...")
    fix.add_argument(
        "--kinds",
        # Empty: every registered kind (the registry is imported only when fixing).
        default="",
        help="fix kinds, comma-separated: preallocate, sync-pool, type-parameter (default: all)",
    )
    mode = fix.add_mutually_exclusive_group()
    mode.add_argument("--diff", action="store_true", help="print a unified diff (the default)")
    mode.add_argument("--write", action="store_true", help="rewrite the files")
    fix.add_argument(
        "--tests",
        dest="fix_tests",
        action="store_true",
        help="also rewrite _test.go files (default: tests are compiled, never edited)",
    )
    fix.add_argument(
        "--allow-api-change",
        action="store_true",
        help="also try fixes that change an exported function's signature",
    )
    # These run the workspace's own code (tests, benchmarks): only when asked for.
    fix.add_argument(
        "--test",
        dest="run_tests",
        action="store_true",
        help="run go test in each fixed package before and with each fix; drop fixes "
        "that make a passing test fail",
    )
    fix.add_argument(
        "--bench",
        metavar="REGEX",
        help="run the package's benchmarks matching REGEX (-benchmem) before and with each "
        "fix; report allocs/op, B/op, ns/op and drop fixes that make one worse",
    )
    _add_profile_args(fix, "each fix applied says what it saves of the bytes allocated")
    fix.add_argument(
        "--count",
        type=_count,
        metavar="N",
        help="with --bench: runs of each benchmark, before and after (default: 6)",
    )
    fix.add_argument(
        "--benchtime",
        metavar="D",
        help="with --bench: go test's -benchtime for each run, e.g. 200ms or 1000x "
        "(default: go's, 1s)",
    )
    _add_engine_args(fix)


def _engine_from(
    args: argparse.Namespace,
    progress: _Progress | None = None,
    first: list[CheckResult] | None = None,
) -> Engine:
    """The command's engine. ``--timeout`` is one deadline for everything it runs, from
    ``go env`` on; with ``progress``, the fix loop's checks report on it, and its first
    check (of the files as saved) is kept in ``first`` (``_fix_engine``)."""
    from .analysis import Engine, Options
    from .cache import ResultCache, default_directory
    from .toolchain import Deadline

    flags = shlex.split(args.build_flags) if args.build_flags else []
    if args.tags:
        flags.append(f"-tags={args.tags}")
    options = Options(
        go_binary=args.go,
        build_flags=tuple(flags),
        tests=args.tests,
        timeout=args.timeout,
        allow_network=args.allow_network,
        stop_after_escape=bool(getattr(args, "fast", False)),
        wait_for_stopped=True,
    )
    cache_dir = None if args.no_cache else (args.cache_dir or default_directory())
    deadline = Deadline(args.timeout)
    if progress is not None:
        return _fix_engine(options, ResultCache(cache_dir), deadline, progress, first)
    return Engine(options, ResultCache(cache_dir), deadline)


class _Progress:
    """A one-line progress indicator on a terminal's stderr; silent elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._active = stream.isatty()
        self._shown = False

    def __call__(self, done: int, total: int, label: str) -> None:
        """``total`` 0 means the amount of work is not known yet."""
        if not self._active or total == 1:
            return
        count = f"[{done}/{total}] " if total else ""
        text = f"heaplens: {count}{label}"[:100]
        self._stream.write("\r\x1b[K" + text)
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _say_outside_modules(patterns: Sequence[str], cwd: str, env: Mapping[str, str]) -> None:
    """One line for each directory named that is in no module: its files were analysed
    on their own, which the user may not have meant."""
    from .workspace import outside_any_module

    for pattern in patterns:
        directory = os.path.join(cwd, pattern)
        if outside_any_module(directory, env):
            print(
                f"heaplens: {pattern} is outside any Go module (no go.mod in it or above it); "
                "its .go files were analysed on their own",
                file=sys.stderr,
            )


def run_check(args: argparse.Namespace) -> int:
    from .toolchain import Cancelled, TimedOut, ToolchainError
    from .workspace import TargetError

    wrong = _ranking_usage_error(args)
    if wrong is not None:
        print(f"heaplens: {wrong}", file=sys.stderr)
        return EXIT_INCOMPLETE
    cwd = os.getcwd()
    # Kinds that can fail the run are always shown: a CI failure must point at something.
    # So are broken assertions and unreadable directives, whatever --kinds says.
    kinds = args.kinds | args.fail_on | ALWAYS_KINDS
    engine = _engine_from(args)
    # Read before the check: a baseline or profile that cannot be read is said before
    # any work.
    baseline, wrong = _read_baseline(args.baseline)
    if wrong is not None:
        print(f"heaplens: {wrong}", file=sys.stderr)
        return EXIT_INCOMPLETE
    profiles, wrong = _read_profiles(args.profile, engine)
    if profiles is not None and args.min_share is not None and not profiles.has_alloc:
        wrong = "--min-share needs an allocation profile (go test -memprofile)"
    if wrong is not None:
        print(f"heaplens: {wrong}", file=sys.stderr)
        return EXIT_INCOMPLETE
    progress = _Progress(sys.stderr)
    try:
        from .fixes.propose import with_candidates

        result = engine.check(args.patterns or ["./..."], cwd, progress=progress)
        result = with_candidates(result, cache=engine.cache)
        if args.verify_fixes:
            result = _verify_fixes(engine, result)
    except (ToolchainError, TimedOut, TargetError) as e:
        progress.clear()
        print(f"heaplens: {e}", file=sys.stderr)
        return EXIT_INCOMPLETE
    except Cancelled:
        progress.clear()
        print("heaplens: cancelled", file=sys.stderr)
        return EXIT_INCOMPLETE
    progress.clear()
    _say_outside_modules(args.patterns, cwd, engine.base_env())
    for left_out in result.left_out:
        print(f"heaplens: {left_out.message}", file=sys.stderr)
    result, ranking = _rank(args, result, profiles)
    marks = _mark(result, kinds, cwd, baseline)

    if not _write_report(args.output, _render(args, result, kinds, cwd, ranking, marks)):
        return EXIT_INCOMPLETE
    return _check_exit(args, result, kinds, ranking, marks)


def _read_baseline(path: str | None) -> tuple[Baseline | None, str | None]:
    """The baseline named by ``--baseline`` (None when none was), or why it is unusable."""
    if path is None:
        return None, None
    from .baseline import BaselineError, read_baseline

    try:
        return read_baseline(path), None
    except BaselineError as e:
        return None, str(e)


def _mark(
    result: CheckResult, kinds: frozenset[Kind], cwd: str, baseline: Baseline | None
) -> Marks:
    """Each finding's key, and with a baseline what is new; kinds the baseline did not
    report are said on stderr, since all their findings are new."""
    from .baseline import ModuleRoots, mark

    marks = mark(result.findings, kinds, ModuleRoots(cwd), baseline)
    if marks.unseen_kinds:
        unseen = ", ".join(sorted(marks.unseen_kinds))
        print(
            f"heaplens: warning: the baseline did not report {unseen}: "
            "every finding of those kinds counts as new",
            file=sys.stderr,
        )
    return marks


def _ranking_usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with ``--sort`` and ``--min-share``, before anything is read."""
    if args.profile:
        return None
    if args.sort != POSITION:
        return f"--sort {args.sort} needs --profile FILE (an allocation or CPU profile)"
    if args.min_share is not None:
        return "--min-share needs --profile FILE (an allocation profile)"
    return None


def _read_profiles(paths: Sequence[str], engine: Engine) -> tuple[Profiles | None, str | None]:
    """The profiles named by ``--profile``, read once (None when none was named), or what
    makes one unreadable."""
    if not paths:
        return None, None
    from .profiles import ProfileError, read_profiles

    try:
        return read_profiles(paths, engine.options.go_binary or "go", engine.base_env()), None
    except ProfileError as e:
        return None, str(e)


def _rank(
    args: argparse.Namespace, result: CheckResult, profiles: Profiles | None
) -> tuple[CheckResult, Ranking]:
    """The result joined to the profiles, and how the report weighs it; each thing the
    join found wrong (a profile of other code, an old one) said on stderr."""
    if profiles is None:
        return result, Ranking()
    from .profiles import join

    result, report = join(result, profiles)
    for warning in report.warnings:
        print(f"heaplens: warning: {warning}", file=sys.stderr)
    return result, Ranking(report, args.sort, args.min_share, _alloc_label(profiles))


def _alloc_label(profiles: Profiles) -> str:
    """The allocation profiles' file names, for a cost's words."""
    return ", ".join(os.path.basename(f.path) for f in profiles.files if f.kind == "alloc")


def _render(
    args: argparse.Namespace,
    result: CheckResult,
    kinds: frozenset[Kind],
    cwd: str,
    ranking: Ranking,
    marks: Marks,
) -> str:
    """The report in the format asked for."""
    if args.format == "json":
        from . import report_json

        report = report_json.render(result, kinds, ranking, marks)
    elif args.format == "sarif":
        from . import report_sarif

        report = report_sarif.render(result, kinds, ranking, marks)
    elif args.format == "github":
        from . import report_github

        return report_github.render(result, kinds, cwd, ranking, marks)
    else:
        from . import report_text

        return report_text.render(
            result, kinds, cwd, verbose=args.verbose, ranking=ranking, marks=marks
        )
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _write_report(output: str | None, text: str) -> bool:
    """Write the report to ``output`` (stdout when None); False, said, if it cannot be."""
    if not output:
        sys.stdout.write(text)
        sys.stdout.flush()
        return True
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        # Exit 1 means --fail-on found something: a report that could not be written
        # is an incomplete run.
        print(f"heaplens: cannot write the report to {output}: {e.strerror or e}", file=sys.stderr)
        return False
    return True


def _check_exit(
    args: argparse.Namespace,
    result: CheckResult,
    kinds: frozenset[Kind],
    ranking: Ranking,
    marks: Marks,
) -> int:
    """2 when something did not compile (its findings are missing), 1 when an assertion
    is broken or ``--fail-on`` found something among the findings shown (``--min-share``
    hides the cheap ones from it too: "fail on a heap escape costing 5%"; a baseline,
    those it already had), else 0. A broken assertion fails whatever the baseline says:
    it is a contract the source states, not a finding a team may have accepted."""
    errors = result.all_errors
    if errors:
        packages = {e.package for e in errors if e.package}
        what = f"{len(packages)} package(s)" if packages else "the build"
        print(f"heaplens: {what} did not compile; their findings are missing.", file=sys.stderr)
        if args.format != "text":
            for err in errors[:20]:
                where = f"{err.file}:{err.line}:{err.column}: " if err.file else ""
                print(f"  {where}{err.message}", file=sys.stderr)
        return EXIT_INCOMPLETE
    if args.verbose and args.format != "text":
        print(f"heaplens: {len(result.unknown)} unknown compiler lines", file=sys.stderr)
    found = shown(result.findings, kinds, ranking)
    # A broken assertion fails the run without --fail-on: the source asked for it.
    if any(f.kind is Kind.ASSERTION for f in found):
        return EXIT_FINDINGS
    if args.fail_on and any(f.kind in args.fail_on and marks.is_new(f) for f in found):
        return EXIT_FINDINGS
    return EXIT_OK


def _verify_fixes(engine: Engine, result: CheckResult) -> CheckResult:
    """Replace each finding's candidate fixes by those the compiler verifies."""
    from .fixes.service import FixService

    return FixService(engine).with_verified(result)


def run_fix(args: argparse.Namespace) -> int:
    from .fixes.service import FixService
    from .toolchain import Cancelled, TimedOut, ToolchainError
    from .workspace import TargetError

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    wrong = _fix_usage_error(args, kinds)
    if wrong is not None:
        print(f"heaplens: {wrong}", file=sys.stderr)
        return EXIT_INCOMPLETE
    cwd = os.getcwd()
    progress = _Progress(sys.stderr)
    checked: list[CheckResult] = []
    engine = _engine_from(args, progress, checked)
    profiles, wrong = _read_profiles(args.profile, engine)
    if wrong is not None:
        print(f"heaplens: {wrong}", file=sys.stderr)
        return EXIT_INCOMPLETE
    judge, bench = _fix_judge(args, engine, progress)
    try:
        run = FixService(engine).fix_all(
            args.patterns or ["./..."],
            cwd,
            kinds or None,
            tests=args.fix_tests,
            allow_api_change=args.allow_api_change,
            judge=judge,
        )
    except (ToolchainError, TargetError) as e:
        progress.clear()
        print(f"heaplens: {e}", file=sys.stderr)
        return EXIT_INCOMPLETE
    except TimedOut as e:
        progress.clear()
        print(f"heaplens: {e}", file=sys.stderr)
        print("heaplens: fix stopped before it was done; no file was changed.", file=sys.stderr)
        return EXIT_INCOMPLETE
    except Cancelled:
        progress.clear()
        print("heaplens: cancelled", file=sys.stderr)
        return EXIT_INCOMPLETE
    progress.clear()
    saved = _fix_savings(run, checked[0] if checked else None, profiles)
    return _finish_fix(args, run, bench, cwd, saved)


def _fix_usage_error(args: argparse.Namespace, kinds: Sequence[str]) -> str | None:
    """What is wrong with ``fix``'s arguments, before anything is compiled."""
    from .fixes import registry

    unknown = [k for k in kinds if k not in registry.kinds()]
    if unknown:
        return f"unknown fix kind {unknown[0]!r}; expected {', '.join(registry.kinds())}"
    if args.bench is None and (args.count is not None or args.benchtime is not None):
        return "--count and --benchtime need --bench"
    if args.bench is not None:
        from .fixes.measure import statistics_missing

        return statistics_missing()
    return None


def _finish_fix(
    args: argparse.Namespace,
    run: FixRun,
    bench: BenchJudge | None,
    cwd: str,
    saved: Mapping[int, str] | None = None,
) -> int:
    """Show or write the fixed files, say what was applied (and, by ``id`` of the fix,
    what ``saved`` says it saves), dropped and left, and the exit code: 2 when a file
    could not be written or a package did not compile."""
    from .fixes.edits import unified_diff
    from .report_text import display_path

    reports = {id(r.fix): r for r in bench.reports} if bench is not None else {}

    def measured(fix: VerifiedFix) -> None:
        report = reports.get(id(fix))
        for line in report.lines() if report is not None else ():
            print(line, file=sys.stderr)

    for fix in run.applied:
        saves = (saved or {}).get(id(fix))
        tail = f"; {saves}" if saves else ""
        print(f"{display_path(fix.file, cwd)}: {fix.title}{tail}", file=sys.stderr)
        measured(fix)
    written = None
    if args.write:
        from .fixes.writing import write_fixed

        written = write_fixed(run.files)
        for path, why in written.skipped:
            print(f"{display_path(path, cwd)}: not written: {why}", file=sys.stderr)
    else:
        for path, (before, after) in sorted(run.files.items()):
            sys.stdout.write(unified_diff(path, before, after, display_path(path, cwd)))
    for candidate in run.api_changes:
        print(
            f"{display_path(candidate.file, cwd)}: not tried, it changes the exported API: "
            f"{candidate.summary} (--allow-api-change tries it)",
            file=sys.stderr,
        )
    for fix, why in run.dropped:
        print(f"{display_path(fix.file, cwd)}: dropped: {fix.title}: {why}", file=sys.stderr)
        measured(fix)
    _say_fix_totals(run, max((r.runs for r in reports.values()), default=0))
    if written is not None and run.applied:
        kept = set(written.files)
        n = sum(1 for fix in run.applied if fix.file in kept)
        print(f"heaplens: applied {n} fix(es) to {len(kept)} file(s).", file=sys.stderr)
        if written.skipped:
            return EXIT_INCOMPLETE
    if run.skipped:
        skipped = ", ".join(run.skipped)
        print(f"heaplens: not fixed, because they do not compile: {skipped}", file=sys.stderr)
        return EXIT_INCOMPLETE
    return EXIT_OK


def _fix_savings(
    run: FixRun, checked: CheckResult | None, profiles: Profiles | None
) -> dict[int, str]:
    """What each applied fix saves (by ``id``), from the profiles joined to the check
    of the files as saved: the text whose lines the profile names. A fix's anchors are
    ranges in the text as the fixes before it left it, so in a file an earlier fix
    changed, only anchors above that fix's first edit (which did not move) are counted."""
    if profiles is None or checked is None or not profiles.has_alloc:
        return {}
    from .fixes.savings import fix_savings
    from .profiles import join

    joined, report = join(checked, profiles)
    for warning in report.warnings:
        print(f"heaplens: warning: {warning}", file=sys.stderr)
    by_range = {(f.file, f.range): f for f in joined.findings}
    unmoved: dict[str, int] = {}  # file -> lines above every earlier fix's edits
    out: dict[int, str] = {}
    for fix in run.applied:
        above = unmoved.get(fix.file)
        anchored = [
            by_range[a]
            for a in fix.anchors
            if a in by_range and (above is None or a[1].end.line < above)
        ]
        words = fix_savings(anchored, _alloc_label(profiles))
        if words:
            out[id(fix)] = words
        if fix.edits:
            original = run.files.get(fix.file, (b"", b""))[0]
            first = original[: min(e.start for e in fix.edits)].count(b"\n") + 1
            unmoved[fix.file] = min(first, above if above is not None else first)
    return out


def _say_fix_totals(run: FixRun, runs: int) -> None:
    if runs:
        print(
            f"heaplens: benchmarks are medians of {runs} runs, before → with each fix; "
            "p from a Mann–Whitney U test",
            file=sys.stderr,
        )
    if run.unverified:
        n = len(run.unverified)
        print(
            f"heaplens: {n} candidate fix{'es' if n != 1 else ''} not offered: the compiler "
            f"did not back {'them' if n != 1 else 'it'} (no build, the allocation stayed, "
            "or something new escaped)",
            file=sys.stderr,
        )
    if not run.applied:
        print("heaplens: no verified fix applies.", file=sys.stderr)


def _fix_judge(
    args: argparse.Namespace, engine: Engine, progress: _Progress
) -> tuple[Judge | None, BenchJudge | None]:
    """What ``--test`` and ``--bench`` ask of each verified fix (tests first: a fix that
    fails them is not worth benchmarking), and the benchmark judge, for its reports."""
    from .fixes.measure import DEFAULT_COUNT, BenchJudge, GoTest, Judges, TestJudge

    go = GoTest(engine, progress=progress)
    judges: list[Judge] = []
    if args.run_tests:
        judges.append(TestJudge(go))
    bench = None
    if args.bench is not None:
        bench = BenchJudge(go, args.bench, args.count or DEFAULT_COUNT, args.benchtime)
        judges.append(bench)
    if not judges:
        return None, None
    return (judges[0] if len(judges) == 1 else Judges(judges)), bench


def _fix_engine(
    options: Options,
    cache: ResultCache,
    deadline: Deadline,
    line: _Progress,
    first: list[CheckResult] | None = None,
) -> Engine:
    """An engine whose checks show on the progress line how ``heaplens fix`` is doing.

    ``FixService.fix_all`` checks the packages once, then proves each fix it tries with a
    check of the fix's package. The first check reports as ``heaplens check`` does; each later one
    as "[2/5] verifying fixes in example.com/m/p (check 3)": the package among those
    with findings, and how many checks that package has had (a fix with alternatives, or
    the recheck after a fix is taken, makes more than one).
    """
    from .analysis import Engine

    packages: list[tuple[str, str]] | None = None  # (dir, import path), with findings
    checks: dict[str, int] = {}

    class FixEngine(Engine):
        def check_queries(
            self,
            queries: Sequence[Query],
            overlays: Mapping[str, bytes] | None = None,
            cancel: CancelToken | None = None,
            progress: Progress | None = None,
            early: Callable[[CheckResult], None] | None = None,
            stop_after_escape: bool | None = None,
        ) -> CheckResult:
            nonlocal packages
            if packages is None:
                result = super().check_queries(
                    queries, overlays, cancel, progress or line, early, stop_after_escape
                )
                packages = [
                    (p.dir, p.import_path) for p in result.packages if p.findings and not p.errors
                ]
                if first is not None:
                    first.append(result)
                return result
            directory = _package_dir(queries[0]) if queries else ""
            index = next((i for i, (d, _) in enumerate(packages) if d == directory), -1)
            name = packages[index][1] if index >= 0 else directory
            checks[directory] = checks.get(directory, 0) + 1
            label = f"verifying fixes in {name} (check {checks[directory]})"
            if index >= 0 and len(packages) > 1:
                line(index + 1, len(packages), label)
            else:
                line(0, 0, label)
            return super().check_queries(
                queries, overlays, cancel, progress, early, stop_after_escape
            )

    return FixEngine(options, cache, deadline)


def _package_dir(query: Query) -> str:
    """The directory of a one-package query, as ``fix_all`` makes them."""
    if not query.patterns:
        return query.root
    if query.adhoc:
        return os.path.dirname(query.patterns[0])
    return os.path.normpath(os.path.join(query.root, query.patterns[0]))


def run_serve(args: argparse.Namespace) -> int:
    from .lsp.server import serve

    return serve(tcp=args.tcp, log_file=args.log_file)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_INCOMPLETE
    # Die quietly on Ctrl-C or a closed pipe, and take the toolchain down with us.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.command == "check":
            return run_check(args)
        if args.command == "serve":
            return run_serve(args)
        if args.command == "fix":
            return run_fix(args)
    except KeyboardInterrupt:
        _kill_children()
        return 130
    except BrokenPipeError:
        _kill_children()
        return EXIT_OK
    parser.error(f"unknown command {args.command}")
    return EXIT_INCOMPLETE


def _kill_children() -> None:
    from .toolchain import kill_all_running

    kill_all_running()


def _terminate(signum: int, _frame: object) -> None:
    _kill_children()
    sys.exit(128 + signum)

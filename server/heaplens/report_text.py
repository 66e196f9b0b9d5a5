"""Human-readable ``heaplens check`` output: findings grouped by file, one line each.

With ``--baseline``, a finding the baseline did not have says ``new`` first in its
parentheses, and a last line counts the new, unchanged and gone findings."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Collection
from typing import TYPE_CHECKING

from . import kinds as kind_table
from . import wording
from .analysis import CheckResult
from .baseline import Marks
from .model import CompileError, Finding, Kind
from .report_cost import COST, NO_PROFILE, Ranking, shown

if TYPE_CHECKING:
    from .profiles import ProfileReport


def display_path(path: str, cwd: str) -> str:
    """Relative to ``cwd`` when the file is below it; absolute otherwise."""
    if not path:
        return path
    rel = os.path.relpath(path, cwd)
    return path if rel.startswith("..") else rel


def _finding_line(
    f: Finding, ranking: Ranking = NO_PROFILE, where: str = "", marks: Marks | None = None
) -> str:
    """One finding. ``where`` (a path) goes before the position when findings are not
    grouped by file; with a profile, its figures follow the function."""
    r = f.range
    span = f"{where}{r.start.line}:{r.start.column}"
    text = wording.message(f)
    extra = []
    if marks is not None and marks.compared and marks.is_new(f):
        extra.append("new")
    if f.function:
        extra.append(f"in {f.function}")
    if ranking.report is not None:
        extra.extend(_profile_notes(f, ranking.report, ranking.alloc_label))
    verified = [x for x in f.fixes if x.verified]
    if verified:
        extra.append("fix: " + ", ".join(dict.fromkeys(x.kind for x in verified)))
    tail = f"  ({'; '.join(extra)})" if extra else ""
    return f"  {span:<8} {f.kind.value:<{_kind_width()}} {text}{tail}"


def _profile_notes(f: Finding, report: ProfileReport, label: str) -> list[str]:
    from .profiles.wording import cost_phrase, share_label

    notes = []
    if f.cost is not None:
        notes.append(cost_phrase(f.cost, label or report.label))
    if report.has_cpu and f.hot is not None and f.hot > 0:
        notes.append(f"its function is in {share_label(f.hot)} of CPU samples")
    return notes


def _profile_summary(report: ProfileReport) -> str:
    """What the profiles held, and how much of it the findings account for."""
    from .profiles.wording import human_bytes, share_label

    parts = []
    if report.has_alloc:
        parts.append(
            f"{human_bytes(report.alloc_space_total)} allocated "
            f"({report.alloc_objects_total:,} objects), "
            f"{share_label(report.attributed_share)} of it charged to heap findings"
        )
    if report.has_cpu:
        parts.append("CPU samples give each finding's function its share")
    return f"profile {report.label}: " + "; ".join(parts)


def _baseline_summary(found: list[Finding], marks: Marks) -> str:
    new = sum(1 for f in found if marks.is_new(f))
    gone = len(marks.absent)
    return f"baseline: {new} new, {len(found) - new} unchanged, {gone} gone since the baseline"


def _kind_width() -> int:
    """The kind column fits the longest kind's name, and a space."""
    return max(len(name) for name in kind_table.names()) + 1


def _error_line(e: CompileError, cwd: str) -> str:
    if e.file:
        where = display_path(e.file, cwd)
        where += f":{e.line}" + (f":{e.column}" if e.column else "")
        return f"{where}: {e.message}"
    return e.message


def _finding_lines(
    found: list[Finding], cwd: str, ranking: Ranking, marks: Marks | None = None
) -> list[str]:
    """Grouped by file; in ``--sort cost`` order, one list with each finding's path."""
    if ranking.sort == COST:
        lines = [_finding_line(f, ranking, f"{display_path(f.file, cwd)}:", marks) for f in found]
        return [*lines, ""] if lines else []
    lines = []
    by_file: dict[str, list[Finding]] = {}
    for f in found:
        by_file.setdefault(f.file, []).append(f)
    for file in sorted(by_file):
        lines.append(display_path(file, cwd))
        lines.extend(_finding_line(f, ranking, marks=marks) for f in by_file[file])
        lines.append("")
    return lines


def render(
    result: CheckResult,
    kinds: Collection[Kind],
    cwd: str,
    verbose: bool = False,
    ranking: Ranking = NO_PROFILE,
    marks: Marks | None = None,
) -> str:
    found = shown(result.findings, kinds, ranking)
    lines = _finding_lines(found, cwd, ranking, marks)
    errors = result.all_errors
    if errors:
        lines.append("Packages that do not compile (no findings for them):")
        lines.extend("  " + _error_line(e, cwd).replace("\n", "\n    ") for e in errors)
        lines.append("")
    counts = Counter(f.kind.value for f in found)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no findings"
    npk = len(result.packages)
    lines.append(
        f"{len(found)} finding{'s' if len(found) != 1 else ''}"
        f" ({summary}) in {npk} package{'s' if npk != 1 else ''}"
        f" [{result.go_version}]"
    )
    if ranking.report is not None:
        lines.append(_profile_summary(ranking.report))
    if marks is not None and marks.compared:
        lines.append(_baseline_summary(found, marks))
    hidden = sum(1 for f in result.findings if f.kind in kinds) - len(found)
    if hidden:
        from .profiles.wording import share_label

        lines.append(
            f"{hidden} heap finding{'s' if hidden != 1 else ''} below "
            f"{share_label(ranking.min_share or 0.0)} of allocated bytes not shown (--min-share)"
        )
    unverified = sum(1 for f in found if f.fixes and not any(x.verified for x in f.fixes))
    if unverified:
        # Only fixes the compiler has checked are named: a candidate may not build, or
        # may gain nothing. Checking them costs a compile each.
        lines.append(
            f"{unverified} finding{'s' if unverified != 1 else ''} may have a fix: "
            "--verify-fixes compiles them and lists those that hold"
        )
    if verbose:
        s = result.stats
        lines.append(
            f"units: {s.compiled_units} compiled ({s.direct_units} without the go command), "
            f"{s.cached_units} from cache; go {s.go_seconds:.2f}s, heaplens "
            f"{s.engine_seconds:.2f}s (parse {s.parse_seconds:.2f}s); "
            f"{s.reused_files} file(s) unchanged in the compiler's log"
        )
        lines.extend(f"  go command needed: {why}" for why in s.direct_refusals)
        if s.stopped_units:
            lines.append(f"  {s.stopped_units} unit(s) stopped after escape analysis")
        if s.stopped_note:
            lines.append(f"  {s.stopped_note}")
        lines.append(f"unknown compiler lines: {len(result.unknown)}")
        lines.extend(f"  ? {u}" for u in result.unknown)
    return "\n".join(lines) + "\n"

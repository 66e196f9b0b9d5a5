"""Human-readable ``heaplens check`` output: findings grouped by file, one line each."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Collection

from . import kinds as kind_table
from . import wording
from .analysis import CheckResult
from .model import CompileError, Finding, Kind


def display_path(path: str, cwd: str) -> str:
    """Relative to ``cwd`` when the file is below it; absolute otherwise."""
    if not path:
        return path
    rel = os.path.relpath(path, cwd)
    return path if rel.startswith("..") else rel


def _finding_line(f: Finding) -> str:
    r = f.range
    span = f"{r.start.line}:{r.start.column}"
    text = wording.message(f)
    extra = []
    if f.function:
        extra.append(f"in {f.function}")
    verified = [x for x in f.fixes if x.verified]
    if verified:
        extra.append("fix: " + ", ".join(dict.fromkeys(x.kind for x in verified)))
    tail = f"  ({'; '.join(extra)})" if extra else ""
    return f"  {span:<8} {f.kind.value:<{_kind_width()}} {text}{tail}"


def _kind_width() -> int:
    """The kind column fits the longest kind's name, and a space."""
    return max(len(name) for name in kind_table.names()) + 1


def _error_line(e: CompileError, cwd: str) -> str:
    if e.file:
        where = display_path(e.file, cwd)
        where += f":{e.line}" + (f":{e.column}" if e.column else "")
        return f"{where}: {e.message}"
    return e.message


def render(
    result: CheckResult,
    kinds: Collection[Kind],
    cwd: str,
    verbose: bool = False,
) -> str:
    lines: list[str] = []
    shown = [f for f in result.findings if f.kind in kinds]
    by_file: dict[str, list[Finding]] = {}
    for f in shown:
        by_file.setdefault(f.file, []).append(f)
    for file in sorted(by_file):
        lines.append(display_path(file, cwd))
        lines.extend(_finding_line(f) for f in by_file[file])
        lines.append("")
    errors = result.all_errors
    if errors:
        lines.append("Packages that do not compile (no findings for them):")
        lines.extend("  " + _error_line(e, cwd).replace("\n", "\n    ") for e in errors)
        lines.append("")
    counts = Counter(f.kind.value for f in shown)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no findings"
    npk = len(result.packages)
    lines.append(
        f"{len(shown)} finding{'s' if len(shown) != 1 else ''}"
        f" ({summary}) in {npk} package{'s' if npk != 1 else ''}"
        f" [{result.go_version}]"
    )
    unverified = sum(1 for f in shown if f.fixes and not any(x.verified for x in f.fixes))
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
        lines.append(f"unknown compiler lines: {len(result.unknown)}")
        lines.extend(f"  ? {u}" for u in result.unknown)
    return "\n".join(lines) + "\n"

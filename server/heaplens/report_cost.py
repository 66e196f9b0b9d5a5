"""What the reports of ``heaplens check --profile`` share: which findings are shown and
in what order (``--sort cost``, ``--min-share``), and a finding's cost as plain data for
the JSON and SARIF reports. The figures themselves come from ``heaplens.profiles``."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .model import HEAP_KINDS, Cost, Finding, Kind

if TYPE_CHECKING:
    from .profiles import ProfileReport

POSITION = "position"
COST = "cost"
SORTS = (POSITION, COST)


@dataclass(frozen=True)
class Ranking:
    """How a report weighs findings: the profiles joined to them (None: no profile was
    given, and the reports are as they were without one), the order, and the share
    below which heap findings are hidden."""

    report: ProfileReport | None = None
    sort: str = POSITION
    min_share: float | None = None
    #: The allocation profiles' names, as a cost's words give them ("41% of allocated
    #: bytes in mem.out"): a CPU profile read with them allocated none of those bytes.
    alloc_label: str = ""


NO_PROFILE = Ranking()


def ranked_space(cost: Cost) -> int:
    """The bytes a finding ranks by: those of its line when the line is shared, so each
    finding there ranks by what the profile saw rather than by an even split of it."""
    return cost.group_alloc_space if cost.shared_by > 1 else cost.alloc_space


def ranked_share(cost: Cost) -> float:
    """The share a finding is filtered and ranked by (its line's, when shared)."""
    return cost.group_share if cost.shared_by > 1 else cost.share


def shown(findings: Iterable[Finding], kinds: Collection[Kind], ranking: Ranking) -> list[Finding]:
    """The findings a report shows, in its order. ``--min-share`` hides heap findings
    below the share and leaves other kinds alone: the profile says nothing of them."""
    out = [f for f in findings if f.kind in kinds and _kept(f, ranking.min_share)]
    if ranking.sort == COST:
        out.sort(key=_cost_key)
    return out


def _kept(f: Finding, min_share: float | None) -> bool:
    if min_share is None or f.kind not in HEAP_KINDS:
        return True
    return f.cost is not None and ranked_share(f.cost) >= min_share


def _cost_key(f: Finding) -> tuple[int, float, str, int, int]:
    """Most bytes first; then the hottest function (all a CPU profile alone can say);
    then by position. Findings with no cost (other kinds) come after every heap one."""
    space = ranked_space(f.cost) if f.cost is not None else -1
    hot = f.hot if f.hot is not None else -1.0
    start = f.range.start
    return (-space, -hot, f.file, start.line, start.column)


def cost_to_json(cost: Cost) -> dict[str, Any]:
    """``{"alloc_space", "alloc_objects", "share"}``, and for a line the profile cannot
    split, ``shared_by`` and ``shared_total``: what the profile saw for all of them."""
    out: dict[str, Any] = {
        "alloc_space": cost.alloc_space,
        "alloc_objects": cost.alloc_objects,
        "share": cost.share,
    }
    if cost.shared_by > 1:
        out["shared_by"] = cost.shared_by
        out["shared_total"] = {
            "alloc_space": cost.group_alloc_space,
            "alloc_objects": cost.group_alloc_objects,
            "share": cost.group_share,
        }
    if cost.inlined_elsewhere:
        out["inlined_elsewhere"] = True
    return out


def profile_fields(f: Finding, report: ProfileReport) -> dict[str, Any]:
    """The keys a finding gains from the profiles: ``cost`` with an allocation profile
    (null for kinds it does not weigh), ``hot`` with a CPU profile (0.0 when the
    function was never sampled)."""
    out: dict[str, Any] = {}
    if report.has_alloc:
        out["cost"] = cost_to_json(f.cost) if f.cost is not None else None
    if report.has_cpu:
        out["hot"] = f.hot if f.hot is not None else 0.0
    return out


def profile_to_json(report: ProfileReport) -> dict[str, Any]:
    """The report's top-level ``profile``: what was read and how much of it the findings
    account for."""
    return {
        "files": list(report.files),
        "alloc_space_total": report.alloc_space_total,
        "alloc_objects_total": report.alloc_objects_total,
        "attributed_share": report.attributed_share,
        "warnings": list(report.warnings),
    }

"""What a verified fix saves, in an allocation profile's figures: the words ``heaplens
fix --profile`` and the editor add after a fix's title (which itself stays as the
compiler verified it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..model import Cost, Finding
from ..profiles.wording import human_bytes, share_label


def savings(finding: Finding, label: str) -> str | None:
    """``saves 41% of allocated bytes in mem.out (3.2 MB, 20,000 objects)`` for a fix
    that keeps ``finding``'s allocation off the heap; None when no profile weighed it or
    the profile never saw it allocate (there is nothing to promise).

    On a line the profile cannot split, the fix saves at most what the whole line
    allocated, and the words say so rather than claim an even part of it."""
    cost = finding.cost
    if cost is None or not cost.seen:
        return None
    if cost.shared_by > 1:
        line = _figures(cost.group_share, cost.group_alloc_space, cost.group_alloc_objects, label)
        return (
            f"saves up to {line}: {cost.shared_by} allocations on this line share them "
            "and the profile cannot tell them apart"
        )
    return f"saves {_figures(cost.share, cost.alloc_space, cost.alloc_objects, label)}"


def fix_savings(findings: Sequence[Finding], label: str) -> str | None:
    """What a fix answering ``findings`` (its anchors) saves: ``savings`` for one; for
    several, their figures added up, each shared line counted once and whole, with "up
    to" when a shared line is among them (the fix may not remove all of it)."""
    weighed = [f for f in findings if f.cost is not None and f.cost.seen]
    if len(weighed) <= 1:
        return savings(weighed[0], label) if weighed else None
    space = objects = 0
    share = 0.0
    shared = False
    for cost in _distinct_lines(weighed):
        if cost.shared_by > 1:
            shared = True
            space += cost.group_alloc_space
            objects += cost.group_alloc_objects
            share += cost.group_share
        else:
            space += cost.alloc_space
            objects += cost.alloc_objects
            share += cost.share
    words = _figures(min(share, 1.0), space, objects, label)
    if shared:
        return (
            f"saves up to {words}: the profile cannot tell apart the allocations on a shared line"
        )
    return f"saves {words}"


def _distinct_lines(findings: Iterable[Finding]) -> list[Cost]:
    """Each cost once per shared line: findings on one line carry the same group figures,
    and adding them per finding would count the line twice."""
    out: list[Cost] = []
    groups: set[tuple[str, int, int, int]] = set()
    for f in findings:
        cost = f.cost
        if cost is None:
            continue
        if cost.shared_by > 1:
            key = (f.file, f.range.start.line, cost.shared_by, cost.group_alloc_space)
            if key in groups:
                continue
            groups.add(key)
        out.append(cost)
    return out


def _figures(share: float, space: int, objects: int, label: str) -> str:
    noun = "object" if objects == 1 else "objects"
    return (
        f"{share_label(share)} of allocated bytes in {label} "
        f"({human_bytes(space)}, {objects:,} {noun})"
    )

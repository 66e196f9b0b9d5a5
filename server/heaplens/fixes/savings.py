"""What a verified fix saves, from the allocation profile joined to its finding (issue
16): the bytes and objects the profile charged to the allocation the fix removes."""

from __future__ import annotations

from ..model import Finding
from ..profiles.wording import human_bytes, share_label


def savings(finding: Finding, label: str) -> str | None:
    """``saves 41% of allocated bytes in mem.out (3.2 MB, 20,000 objects)``, for a
    finding an allocation profile saw allocate; None for one it never saw, or without
    one. A finding sharing its line with others the profile cannot tell apart saves its
    even part of the line's figures, and the words say that is all the profile knows."""
    cost = finding.cost
    if cost is None or not cost.seen:
        return None
    noun = "object" if cost.alloc_objects == 1 else "objects"
    figures = (
        f"{share_label(cost.share)} of allocated bytes in {label} "
        f"({human_bytes(cost.alloc_space)}, {cost.alloc_objects:,} {noun})"
    )
    if cost.shared_by > 1:
        return (
            f"saves about {figures}: an even part of what {cost.shared_by} allocations on "
            "its line share, which the profile cannot tell apart"
        )
    return f"saves {figures}"

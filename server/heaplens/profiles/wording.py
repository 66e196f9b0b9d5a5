"""How a profile's figures read to a person: bytes, shares, and the one phrase the
hover, the text report and a fix's title share."""

from __future__ import annotations

from ..model import Cost

_UNITS = ("B", "kB", "MB", "GB", "TB")


def human_bytes(n: int) -> str:
    """``512 B``, ``3.2 MB``: decimal units, as ``go test -benchmem`` and pprof print."""
    value = float(n)
    for unit in _UNITS:
        if value < 1000 or unit == _UNITS[-1]:
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def share_label(share: float) -> str:
    """``41%``, ``1.5%``, ``0.3%``, ``<0.1%``: enough digits to tell small shares apart."""
    percent = share * 100
    if percent == 0:
        return "0%"
    if percent < 0.1:
        return "<0.1%"
    if percent < 10:
        return f"{percent:.1f}%"
    return f"{percent:.0f}%"


def cost_phrase(cost: Cost, label: str) -> str:
    """What ``cost`` says, in words: ``41% of allocated bytes in mem.out (3.2 MB, 20,000
    objects)``. A cost the profile cannot give one finding alone says so, with the
    figures of the line it shares."""
    if not cost.seen and cost.inlined_elsewhere:
        return (
            f"never allocated here in {label}: this code allocated only where it was "
            "inlined, and the findings at those calls carry the cost"
        )
    if not cost.seen:
        return f"never allocated in {label}"
    if cost.shared_by > 1:
        others = cost.shared_by - 1
        together = _figures(
            cost.group_share, cost.group_alloc_space, cost.group_alloc_objects, label
        )
        return (
            f"shares, with {others} other allocation{'s' if others > 1 else ''} on this "
            f"line, {together}: the profile cannot tell them apart"
        )
    return _figures(cost.share, cost.alloc_space, cost.alloc_objects, label)


def _figures(share: float, space: int, objects: int, label: str) -> str:
    noun = "object" if objects == 1 else "objects"
    return (
        f"{share_label(share)} of allocated bytes in {label} "
        f"({human_bytes(space)}, {objects:,} {noun})"
    )

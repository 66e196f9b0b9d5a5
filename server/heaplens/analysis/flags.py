"""The build flags of heaplens's go runs: the user's ``-gcflags`` joined with the log
destination, and the user's other flags, for the go command and for
``compile_direct.neutral_flags``."""

from __future__ import annotations

from collections.abc import Sequence

from .. import toolchain


def gcflags(build_flags: Sequence[str], log_dir: str) -> tuple[str, ...]:
    """Our ``-gcflags``: the user's own compiler flags, plus the log destination."""
    user: list[str] = []
    flags = build_flags
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


def non_gc_flags(build_flags: Sequence[str]) -> tuple[str, ...]:
    """The user's build flags without their ``-gcflags``."""
    out: list[str] = []
    flags = build_flags
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

"""What a fix is before and after the compiler has checked it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Finding, Range
from .edits import Edit

PREALLOCATE = "preallocate"
SYNC_POOL = "sync-pool"
TYPE_PARAMETER = "type-parameter"
FIX_KINDS = (PREALLOCATE, SYNC_POOL, TYPE_PARAMETER)


@dataclass(frozen=True)
class Alternative:
    """One way to write the fix. ``probes`` are edits applied during verification only,
    to make the compiler reject cases this way must not touch (ranging over a channel,
    say); they never reach the user's file."""

    edits: tuple[Edit, ...]
    summary: str
    probes: tuple[Edit, ...] = ()
    #: Heap verdicts this way may add, by subject (the ``make`` a preallocation inserts
    #: escapes where the slice does, in the function and wherever it is inlined).
    expected_new: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A rewrite proposed from the syntax tree and the compiler's findings, not yet built.

    ``anchors`` are the ranges of the findings the fix answers (its code action attaches
    to their diagnostics). ``alternatives`` are tried in order: the first one the compiler
    accepts is the fix (a range over an int and over a slice need different capacities,
    and only the type checker knows which one it is).
    """

    kind: str
    file: str
    function: str
    summary: str
    #: (file, range) of each finding the fix answers.
    anchors: tuple[tuple[str, Range], ...]
    alternatives: tuple[Alternative, ...]
    #: Said in the title whatever verification finds (e.g. a slice that is no longer nil).
    note: str = ""
    #: Where the gain is counted: heap findings in this function (and its closures), or
    #: in the whole package when empty.
    scope_function: str = ""
    #: The capacity is a small constant: the backing array may stay on the stack.
    constant_capacity: bool = False
    #: The rewrite changes an exported signature: callers outside the module may break.
    #: Never applied without the user's opt-in (``fix --allow-api-change``), and never
    #: offered as a quick fix.
    changes_api: bool = False
    #: A package variable the fix adds whose initializer allocates once, not per call
    #: (a pool's New): its heap verdicts are expected.
    adds_variable: str = ""


@dataclass(frozen=True)
class VerifiedFix:
    """A candidate the compiler has built, with what it changed."""

    kind: str
    file: str
    title: str
    anchors: tuple[tuple[str, Range], ...]
    #: Where the gain was counted: a function, or "" for the whole package.
    scope_function: str
    #: Minimal, gofmt-clean edits from the current text.
    edits: tuple[Edit, ...]
    fixed: bytes = field(repr=False, default=b"")
    removed_escapes: int = 0
    verified: bool = True
    changes_api: bool = False
    #: The package's findings with the fix applied, when verification compiled exactly
    #: the fixed text (no probes): saves a compile for whoever applies it.
    after: tuple[Finding, ...] | None = field(repr=False, default=None)

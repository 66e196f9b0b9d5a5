"""The typed model every other layer speaks: positions, ranges, flow steps, findings, errors.

Positions are 1-based lines and 1-based *byte* columns, exactly as the Go toolchain counts.
Conversion to editor units (UTF-16 and friends) happens only at the edge, through
``heaplens.positions``. Ranges have an exclusive end. Everything here is frozen, so a
finding can be cached, shared between threads and compared by value.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Kind(str, enum.Enum):
    """The fixed vocabulary of finding kinds."""

    MOVED_TO_HEAP = "moved-to-heap"
    ESCAPES_TO_HEAP = "escapes-to-heap"
    LEAKING_PARAM = "leaking-param"
    INLINING = "inlining"
    CANNOT_INLINE = "cannot-inline"

    def __str__(self) -> str:
        return self.value


ALL_KINDS: tuple[Kind, ...] = tuple(Kind)
#: Inlining notes are noise for most readers; they are opt-in.
DEFAULT_KINDS: frozenset[Kind] = frozenset(
    {Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP, Kind.LEAKING_PARAM}
)
#: The kinds that mean "this allocates on the heap".
HEAP_KINDS: frozenset[Kind] = frozenset({Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP})


def parse_kinds(text: str) -> frozenset[Kind]:
    """Parse a comma-separated list such as ``"moved-to-heap,escapes-to-heap"`` or ``"all"``.

    Raises ``ValueError`` naming the unknown kind and the valid ones.
    """
    kinds: set[Kind] = set()
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        if word == "all":
            kinds.update(ALL_KINDS)
            continue
        if word == "heap":
            kinds.update(HEAP_KINDS)
            continue
        try:
            kinds.add(Kind(word))
        except ValueError:
            valid = ", ".join(k.value for k in ALL_KINDS)
            raise ValueError(f"unknown kind {word!r}; expected one of: {valid}, all") from None
    return frozenset(kinds)


@dataclass(frozen=True, order=True, slots=True)
class Position:
    """A 1-based line and a 1-based byte column."""

    line: int
    column: int


@dataclass(frozen=True, order=True, slots=True)
class Range:
    """From ``start`` (inclusive) to ``end`` (exclusive)."""

    start: Position
    end: Position

    @staticmethod
    def point(pos: Position) -> Range:
        return Range(pos, pos)

    def contains(self, pos: Position) -> bool:
        return self.start <= pos < self.end or self.start == pos


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """A position in a file. ``file`` is absolute."""

    file: str
    position: Position


@dataclass(frozen=True, slots=True)
class FlowStep:
    """One step of the compiler's explanation of how a value reaches its destination.

    ``what`` is the compiler's description of the step (``return &x``), ``why`` the edge
    label (``return``, ``call parameter``, ``captured by a closure``...), ``dst`` the
    location the value flows into (``{heap}``, ``~r0``, ``c``...). ``inlined_from`` is set
    when the step happens inside code the compiler inlined at ``location``.
    """

    location: Location | None
    what: str
    why: str
    dst: str
    inlined_from: Location | None = None

    @property
    def message(self) -> str:
        return f"{self.what} ({self.why})" if self.why else self.what


@dataclass(frozen=True, slots=True)
class Fix:
    """A proposed rewrite. Filled in by the fixes layer."""

    kind: str
    title: str
    verified: bool


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the compiler says about a value or a function."""

    kind: Kind
    file: str
    range: Range
    message: str
    reason: str
    function: str
    flow: tuple[FlowStep, ...] = ()
    #: The position the compiler reported; ``range`` widens it to the whole expression.
    point: Position | None = None
    #: For heap kinds: the expression or variable, e.g. ``&Config{...}`` or ``x``.
    subject: str = ""
    fixes: tuple[Fix, ...] = field(default=())

    @property
    def location(self) -> Location:
        return Location(self.file, self.range.start)


@dataclass(frozen=True, order=True, slots=True)
class CompileError:
    """A build error, reported so the user knows why a package has no findings.

    ``file`` may be empty when the toolchain names no file (for example a go.mod that
    asks for a newer toolchain); ``line`` and ``column`` are then 0.
    """

    file: str
    line: int
    column: int
    message: str
    #: Which package reported it. Not part of identity: a package and its test variant
    #: report the same error once.
    package: str = field(default="", compare=False)

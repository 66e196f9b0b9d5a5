"""The typed model every other layer speaks: positions, ranges, flow steps, findings, errors.

Positions are 1-based lines and 1-based *byte* columns, exactly as the Go toolchain counts.
Conversion to editor units (UTF-16 and friends) happens only at the edge, through
``heaplens.positions``. Ranges have an exclusive end. Everything here is frozen, so a
finding can be cached, shared between threads and compared by value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

# Defined in ``kinds``, beside their tables; re-exported because every layer imports
# them from here.
from .kinds import KINDS, always_names, default_names
from .kinds import Kind as Kind
from .kinds import ReasonCode as ReasonCode

ALL_KINDS: tuple[Kind, ...] = tuple(Kind)
#: Inlining notes are noise for most readers; they are opt-in (the table says which).
DEFAULT_KINDS: frozenset[Kind] = frozenset(Kind(name) for name in default_names())
#: The kinds that mean "this allocates on the heap".
HEAP_KINDS: frozenset[Kind] = frozenset(Kind(row.name) for row in KINDS if row.heap)
#: The kinds every report shows whatever the user's kinds say: broken assertions and
#: directives that assert nothing.
ALWAYS_KINDS: frozenset[Kind] = frozenset(Kind(name) for name in always_names())


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
    when the step happens inside code the compiler inlined at ``location``: where that
    code is written (the innermost function, when inlined code inlined more).
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
class Reason:
    """A reason code and what it names, in source terms (never a compiler temporary)."""

    code: ReasonCode
    #: The callee, variable, container or target the code speaks of ("" when none).
    name: str = ""
    #: The function whose code this is, when the compiler reports code inlined at a call.
    inlined_from: str = ""
    #: For ``KEPT_BY_OBJECT``: why the object itself is on the heap.
    then: Reason | None = None


NO_REASON = Reason(ReasonCode.INLINING)


@dataclass(frozen=True, slots=True)
class Leak:
    """Where a parameter leaks, as the compiler's summary says it: to the heap (with how
    many dereferences: 0 is the pointer itself, more is what it points to) and to results
    (by the compiler's name for the result, ``~r0`` or a named result)."""

    heap_derefs: int | None
    results: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Fix:
    """A proposed rewrite. Filled in by the fixes layer."""

    kind: str
    title: str
    verified: bool


@dataclass(frozen=True, slots=True)
class Cost:
    """What an allocation profile says a heap finding's allocation cost, joined by
    ``heaplens.profiles``. Shares are fractions of the profiles' total ``alloc_space``.

    A profile names a line, not a column: when ``shared_by`` heap findings sit where the
    profile cannot tell them apart (one line, one inline chain), their ``group_*`` total
    is what the profile saw, and the finding's own figures are that total divided evenly
    among them. ``shared_by`` says so wherever the figures are shown, so nothing is split
    in secret, and the shares still add up to at most 1."""

    alloc_space: int
    alloc_objects: int
    share: float
    shared_by: int = 1
    group_alloc_space: int = 0
    group_alloc_objects: int = 0
    group_share: float = 0.0
    #: Not seen here, but the same code allocated where the compiler inlined it: this
    #: copy is cold, the inlined copies (findings at their calls) carry the cost.
    inlined_elsewhere: bool = False

    @property
    def seen(self) -> bool:
        """False when no sample of the profile was charged here."""
        return self.group_alloc_objects > 0 or self.group_alloc_space > 0


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the compiler says about a value or a function."""

    kind: Kind
    file: str
    range: Range
    #: The compiler's verdict in its own words (the JSON report's ``message``). Words for
    #: a person come from ``wording``, which never shows compiler names.
    message: str
    reason: Reason
    function: str
    flow: tuple[FlowStep, ...] = ()
    #: The position the compiler reported; ``range`` widens it to the whole expression.
    point: Position | None = None
    #: For heap kinds: the expression or variable, e.g. ``&Config{...}`` or ``x``.
    subject: str = ""
    fixes: tuple[Fix, ...] = field(default=())
    #: For leaking parameters: where they leak.
    leak: Leak | None = None
    #: How many identical verdicts the compiler gave for this range (a callee inlined
    #: twice at one call, say): one finding stands for them all.
    count: int = 1
    #: When the compiler reports code it inlined here: each level of inlining below the
    #: reported position, outermost first, down to where the code is written. An
    #: allocation profile names the same chain, which tells this copy of an inlined
    #: allocation from the callee's own.
    inline: tuple[Location, ...] = ()
    #: Heap kinds, when allocation profiles are given: what they say this allocation
    #: cost (``heaplens.profiles``). None otherwise, and for other kinds.
    cost: Cost | None = None
    #: When CPU profiles are given: the share of their samples with the enclosing
    #: function on the stack. None otherwise.
    hot: float | None = None

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


@dataclass(frozen=True, slots=True)
class Excluded:
    """A Go file of a package directory that the build leaves out: its build constraints
    (a ``//go:build`` line, a ``_GOOS``/``_GOARCH`` name, cgo when it is off) do not
    match. The compiler never sees it, so heaplens has nothing to say about it."""

    file: str
    #: The file's ``//go:build`` (or ``// +build``) line; "" when it has none.
    constraint: str
    #: The platform it was excluded for, as ``GOOS/GOARCH``.
    platform: str

    @property
    def message(self) -> str:
        why = self.constraint or f"by its name or its use of cgo, on {self.platform}"
        return (
            f"{os.path.basename(self.file)} is excluded by build constraints ({why}); "
            "heaplens analyses the files that are part of the build"
        )

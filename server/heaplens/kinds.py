"""The one table of finding kinds, and the reason codes beside it.

Every fact about a kind that is not how it is found (that is ``findings``) lives in a
row of ``KINDS``: its words, its default severity, whether it is shown by default,
its inlay label, its SARIF rule. Settings, diagnostics, hover, inlay hints, SARIF, the
text report and the editors' files (written by ``scripts/gen_kinds.py``) all read it, so
adding a kind is one ``Kind`` member and one row here, then running the generator.

``Kind`` and ``ReasonCode`` are the typed vocabularies the classifier speaks; they stay
enums (mypy must know their members), and an import-time check keeps each in step with
its table. ``model`` re-exports them, so ``from heaplens.model import Kind`` still works.
This module imports nothing from heaplens: everything may import it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, get_args

Severity = Literal["error", "warning", "information", "hint"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)


class Kind(str, enum.Enum):
    """The fixed vocabulary of finding kinds (one row of ``KINDS`` each)."""

    MOVED_TO_HEAP = "moved-to-heap"
    ESCAPES_TO_HEAP = "escapes-to-heap"
    LEAKING_PARAM = "leaking-param"
    INLINING = "inlining"
    CANNOT_INLINE = "cannot-inline"
    BOUNDS_CHECK = "bounds-check"
    NIL_CHECK = "nil-check"
    ASSERTION = "assertion"
    DIRECTIVE = "directive"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class KindInfo:
    """Everything heaplens says about one kind of finding, other than how it is found."""

    #: The kind's name everywhere: settings, diagnostics' code, JSON, SARIF rule id.
    name: str
    #: What the finding says of its subject, for the hover's title ("moved to the heap").
    label: str
    #: One sentence for a settings list (VS Code's ``enumDescriptions``, the READMEs).
    summary: str
    #: The diagnostic severity when the user sets none.
    severity: Severity
    #: Shown without asking (``kinds`` setting, ``--kinds``): inlining notes are noise
    #: for most readers, so they are opt-in.
    on_by_default: bool
    #: A heap allocation: counted in the status bar, measured by fixes, ``--kinds heap``.
    heap: bool
    #: An escape-analysis verdict, with a reason and advice; False for inlining notes,
    #: whose headline says it all.
    escape: bool
    #: The start of its inlay label ("↑heap"); a reason may add a word after a colon.
    inlay_label: str
    #: Whether editors show that label inline after the value.
    inlay_hint: bool
    #: SARIF ``shortDescription`` and ``fullDescription`` of its rule.
    sarif_short: str
    sarif_full: str
    #: SARIF ``defaultConfiguration.level`` (and each result's level).
    sarif_level: Literal["none", "note", "warning", "error"] = "note"
    #: Reported whatever the ``kinds`` setting or ``--kinds`` says: a contract the user
    #: wrote into the source (``heaplens.assertions``) is never filtered away.
    always: bool = False

    @property
    def sarif_name(self) -> str:
        """The rule's ``name``: ``moved-to-heap`` → ``MovedToHeap``."""
        return "".join(w.capitalize() for w in self.name.split("-"))


KINDS: tuple[KindInfo, ...] = (
    KindInfo(
        name="moved-to-heap",
        label="moved to the heap",
        summary="A variable moved to the heap (`moved to heap: x`).",
        severity="information",
        on_by_default=True,
        heap=True,
        escape=True,
        inlay_label="↑heap",
        inlay_hint=True,
        sarif_short="A variable is allocated on the heap",
        sarif_full="The compiler moved this variable to the heap because a reference to it "
        "outlives the function. Each call allocates, and the garbage collector must reclaim it.",
    ),
    KindInfo(
        name="escapes-to-heap",
        label="escapes to the heap",
        summary="A value escapes to the heap (`&T{...} escapes to heap`).",
        severity="information",
        on_by_default=True,
        heap=True,
        escape=True,
        inlay_label="↑heap",
        inlay_hint=True,
        sarif_short="A value escapes to the heap",
        sarif_full="The compiler allocates this value on the heap because it may be used after "
        "the function returns, or its size or lifetime cannot be proven.",
    ),
    KindInfo(
        name="leaking-param",
        label="parameter leaks",
        summary="A parameter leaks: what it points to may outlive the call.",
        severity="hint",
        on_by_default=True,
        heap=False,
        escape=True,
        inlay_label="↑leaks",
        inlay_hint=False,
        sarif_short="A parameter leaks",
        sarif_full="The value passed in this parameter may be kept beyond the call, so callers "
        "must allocate what they pass on the heap.",
    ),
    KindInfo(
        name="inlining",
        label="can be inlined",
        summary="A call the compiler inlined.",
        severity="hint",
        on_by_default=False,
        heap=False,
        escape=False,
        inlay_label="",
        inlay_hint=False,
        sarif_short="A function can be inlined",
        sarif_full="The compiler can inline this function.",
    ),
    KindInfo(
        name="cannot-inline",
        label="cannot be inlined",
        summary="A function the compiler cannot inline, and why.",
        severity="hint",
        on_by_default=False,
        heap=False,
        escape=False,
        inlay_label="",
        inlay_hint=False,
        sarif_short="A function cannot be inlined",
        sarif_full="The compiler will not inline this function; the reason says why.",
    ),
    # Checks the SSA back end keeps, logged in the same -json log as escapes. gopls shows
    # them (its "bounds" and "nil" compiler details) at the log's own severity, 3:
    # Information. There are many in most code, so they are opt-in, like inlining notes.
    KindInfo(
        name="bounds-check",
        label="bounds check",
        summary="An index or slice expression whose bounds the compiler checks at run time.",
        severity="information",
        on_by_default=False,
        heap=False,
        escape=False,
        inlay_label="bounds",
        inlay_hint=False,
        sarif_short="An index or slice expression is bounds-checked",
        sarif_full="The compiler cannot prove that this index or slice is within bounds, so "
        "it checks at run time, and panics when it is not. A check costs a compare and a "
        "branch; in a hot loop, a check hoisted before it (`_ = s[n-1]`) can remove the rest.",
    ),
    KindInfo(
        name="nil-check",
        label="nil check",
        summary="A pointer the compiler checks for nil at run time before using it.",
        severity="information",
        on_by_default=False,
        heap=False,
        escape=False,
        inlay_label="nil",
        inlay_hint=False,
        sarif_short="A pointer is checked for nil",
        sarif_full="The compiler cannot prove that this pointer is not nil, and the access "
        "that follows would not fault by itself, so it checks at run time and panics when "
        "the pointer is nil.",
    ),
    KindInfo(
        name="assertion",
        label="assertion broken",
        summary="A `//heaplens:noescape` or `//gcassert:` assertion the compiler broke "
        "(always reported; fails `heaplens check`).",
        severity="error",
        on_by_default=True,
        heap=False,
        escape=False,
        inlay_label="",
        inlay_hint=False,
        sarif_short="An assertion about the compiler's decisions is broken",
        sarif_full="A //heaplens:noescape, //gcassert:noescape, //gcassert:bce or "
        "//gcassert:inline directive asserts a decision the compiler did not make.",
        sarif_level="error",
        always=True,
    ),
    KindInfo(
        name="directive",
        label="directive not understood",
        summary="A `//heaplens:` or `//gcassert:` directive heaplens cannot read, such as a "
        "misspelt word (always reported).",
        severity="warning",
        on_by_default=True,
        heap=False,
        escape=False,
        inlay_label="",
        inlay_hint=False,
        sarif_short="A directive is not understood",
        sarif_full="A //heaplens: or //gcassert: comment names no directive heaplens knows, "
        "or applies to nothing, so it asserts nothing.",
        sarif_level="warning",
        always=True,
    ),
)


def _key(kind: str | Kind) -> str:
    return kind.value if isinstance(kind, Kind) else kind


def info(kind: str | Kind) -> KindInfo:
    """The row of ``kind`` (a ``Kind`` or its name). Raises ``KeyError`` for no such kind.

    Reads ``KINDS`` on each call (a few rows), so a table swapped in by a test is what
    every reader sees."""
    name = _key(kind)
    for row in KINDS:
        if row.name == name:
            return row
    raise KeyError(name)


def names() -> tuple[str, ...]:
    """Every kind's name, in table order."""
    return tuple(row.name for row in KINDS)


def default_names() -> list[str]:
    """The kinds shown by default, sorted (as the settings' default lists them)."""
    return sorted(row.name for row in KINDS if row.on_by_default)


def always_names() -> frozenset[str]:
    """The kinds reported whatever the user's kinds say (``KindInfo.always``)."""
    return frozenset(row.name for row in KINDS if row.always)


def default_severity() -> dict[str, Severity]:
    """Each kind's default severity, in table order."""
    return {row.name: row.severity for row in KINDS}


class ReasonCode(str, enum.Enum):
    """Why a value is on the heap (or a parameter leaks), as read off the compiler's flow.

    The words for each code live in ``wording``; everything else (advice, severity,
    fixes, SARIF) decides on the code, so rewording a reason changes no behaviour.
    ``REASONS`` says in a few words what each one means, for documentation.
    """

    #: Returned to the caller. ``name``: the named result it is assigned to, if any.
    RETURNED = "returned"
    #: A variable whose address is returned.
    ADDRESS_RETURNED = "address-returned"
    #: Assigned to a package variable (``name``; "" when not known by name).
    PACKAGE_VARIABLE = "package-variable"
    #: Boxed into an interface for a call of ``name`` ("" when no call is known).
    INTERFACE = "interface"
    #: A func value (method value, func literal) passed to ``name``, which keeps it.
    FUNC_VALUE_PASSED = "func-value-passed"
    #: Passed to ``name``, whose parameter leaks.
    KEPT_BY_CALLEE = "kept-by-callee"
    #: In the ``...`` arguments of ``name``, which keeps them.
    VARIADIC_KEPT = "variadic-kept"
    #: Appended to a slice that outlives the call.
    APPENDED = "appended"
    #: Stored in ``name`` (a field, an element, a pointer's target) that outlives the call.
    STORED = "stored"
    #: Stored in ``name``, a local value that itself escapes.
    STORED_IN_ESCAPING = "stored-in-escaping"
    #: An element or field of the literal ``name``, which escapes.
    PLACED_IN = "placed-in"
    #: A key of the map ``name``, which outlives the call.
    MAP_KEY = "map-key"
    #: Kept by the heap object ``name`` (a parameter leaking into its storage); ``then``
    #: says why that object is on the heap.
    KEPT_BY_OBJECT = "kept-by-object"
    #: Sent on a channel.
    SENT = "sent"
    #: Captured by a closure that outlives the call.
    CAPTURED = "captured"
    #: Used by a goroutine.
    GOROUTINE = "goroutine"
    #: A function value that is called and escapes.
    CALLED_FUNC_VALUE = "called-func-value"
    #: Too large for the stack.
    TOO_LARGE = "too-large"
    #: A size the compiler cannot know (``make([]T, n)``).
    NON_CONSTANT_SIZE = "non-constant-size"
    #: The compiler gave no explanation heaplens can name.
    UNEXPLAINED = "unexplained"
    #: Not an escape: an inlining note. ``name``: the compiler's reason for not inlining.
    INLINING = "inlining"
    #: Not an escape: a bounds check the compiler keeps (the message says on what).
    BOUNDS_CHECK = "bounds-check"
    #: Not an escape: a nil check the compiler keeps (the message says of what).
    NIL_CHECK = "nil-check"

    def __str__(self) -> str:
        return self.value


#: Each reason code in a few plain words, for the documentation (what ``name`` means
#: where the code has one). Not what a finding says: that is ``wording``.
REASONS: dict[ReasonCode, str] = {
    ReasonCode.RETURNED: "returned to the caller (`name`: the named result, if any)",
    ReasonCode.ADDRESS_RETURNED: "a variable whose address is returned",
    ReasonCode.PACKAGE_VARIABLE: "stored in a package variable (`name`: the variable)",
    ReasonCode.INTERFACE: "boxed into an interface (`name`: the call it is boxed for)",
    ReasonCode.FUNC_VALUE_PASSED: "a method value or func literal kept by the callee `name`",
    ReasonCode.KEPT_BY_CALLEE: "passed to `name`, whose parameter leaks",
    ReasonCode.VARIADIC_KEPT: "in the `...` arguments of `name`, which keeps them",
    ReasonCode.APPENDED: "appended to a slice that outlives the call",
    ReasonCode.STORED: "stored in `name`, which outlives the call",
    ReasonCode.STORED_IN_ESCAPING: "stored in `name`, a local value that itself escapes",
    ReasonCode.PLACED_IN: "an element or field of the literal `name`, which escapes",
    ReasonCode.MAP_KEY: "a key of the map `name`, which outlives the call",
    ReasonCode.KEPT_BY_OBJECT: "a parameter stored into the heap object `name`; "
    "`then` says why that object is on the heap",
    ReasonCode.SENT: "sent on a channel",
    ReasonCode.CAPTURED: "captured by a closure that outlives the call",
    ReasonCode.GOROUTINE: "used by a goroutine",
    ReasonCode.CALLED_FUNC_VALUE: "a function value that is called and escapes",
    ReasonCode.TOO_LARGE: "too large for the stack",
    ReasonCode.NON_CONSTANT_SIZE: "a size the compiler cannot know (`make([]T, n)`)",
    ReasonCode.UNEXPLAINED: "the compiler gave no explanation heaplens can name",
    ReasonCode.INLINING: "not an escape: an inlining note",
    ReasonCode.BOUNDS_CHECK: "not an escape: the compiler cannot prove an index is in bounds",
    ReasonCode.NIL_CHECK: "not an escape: the compiler cannot prove a pointer is not nil",
}


def _check_tables() -> None:
    """A kind or code without its row (or a row without its member) fails at import, not
    in whichever presentation first looks it up."""
    if tuple(k.value for k in Kind) != names():
        raise RuntimeError(f"Kind and KINDS disagree: {[k.value for k in Kind]} vs {names()}")
    if set(REASONS) != set(ReasonCode):
        raise RuntimeError(f"REASONS lacks {set(ReasonCode) - set(REASONS)}")


_check_tables()

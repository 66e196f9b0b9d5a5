"""Plain-words reasons: why the compiler put a value on the heap, read off its flow chain.

The compiler explains an escape as a chain of edges (``from return &x (return)``,
``from b (interface-converted)``...). A reader wants one phrase: "returned to the caller",
"stored in a package variable", "converted to an interface for fmt.Sprint", "captured by a
closure". The rules below pick the decisive edge of the chain; the chain itself is still
shown in full wherever there is room for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .model import FlowStep, Kind, Location

#: Subjects that are allocations in their own right, as opposed to values that get boxed
#: into an interface. ``&T{}`` escaping is the T escaping, not a conversion.
_ALLOCATION = re.compile(
    r"^(&|new\(|make\(|append\(|func literal|\[\]|map\[|\.\.\. argument|string\(|\[\]byte\(|"
    r"\[\]rune\()"
)
_RESULT = re.compile(r"^~[rR]\d+$|^~r\w*$")

RETURNED = "returned to the caller"
ADDRESS_RETURNED = "its address is returned to the caller"
PACKAGE_VARIABLE = "stored in a package variable"
CAPTURED = "captured by a closure"
GOROUTINE = "used by a goroutine, which may outlive the call"
TOO_LARGE = "too large for the stack"
NON_CONSTANT = "size not known at compile time"


def callee(what: str) -> str:
    """``fmt.Sprint(... argument...)`` → ``fmt.Sprint``; ``(*T).M(~r0, v)`` → ``(*T).M``."""
    text = what.strip()
    if not text.endswith(")"):
        return text
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        ch = text[i]
        if ch == ")":
            depth += 1
        elif ch == "(":
            depth -= 1
            if depth == 0:
                head = text[:i].strip()
                return head or text
    return text


def _assigned_name(what: str) -> str:
    """``global = c`` → ``global``; ``p.next = n`` → ``p.next``."""
    for sep in (" = ", " := "):
        if sep in what:
            return what.split(sep, 1)[0].strip()
    return ""


def _root_identifier(expr: str) -> str:
    m = re.match(r"[*(]*([A-Za-z_]\w*)", expr)
    return m.group(1) if m else ""


def is_result(dst: str) -> bool:
    return bool(_RESULT.match(dst))


def explain(
    kind: Kind,
    subject: str,
    flow: tuple[FlowStep, ...],
    *,
    is_package_var: Callable[[str], bool] = lambda _name: False,
    call_at: Callable[[Location | None], str] = lambda _loc: "",
    in_go_statement: Callable[[], bool] = lambda: False,
) -> str:
    """One phrase for why ``subject`` escapes (or why a parameter leaks).

    ``call_at`` names the function whose call has the value at a location among its
    arguments (looked up by the caller on the syntax tree); it names the call an
    interface conversion is made for. ``None`` stands for the finding's own position.
    """
    whys = [s.why for s in flow]
    if "too large for stack" in whys:
        return TOO_LARGE
    if "non-constant size" in whys:
        return NON_CONSTANT
    if kind is Kind.INLINING or kind is Kind.CANNOT_INLINE:
        return ""

    final_dst = flow[-1].dst if flow else ""
    last_call = next((s for s in reversed(flow) if s.why == "call parameter"), None)

    captured = any(s.why == "captured by a closure" for s in flow)
    if captured and in_go_statement():
        return GOROUTINE
    if kind is Kind.MOVED_TO_HEAP and captured:
        return CAPTURED
    if is_result(final_dst) and any(s.why == "return" for s in flow):
        if kind is Kind.LEAKING_PARAM:
            return RETURNED
        if kind is Kind.MOVED_TO_HEAP and any(s.why == "address-of" for s in flow):
            return ADDRESS_RETURNED
        return RETURNED

    for step in reversed(flow):
        if step.dst == "{heap}" and step.why in ("assign", "assign-pair"):
            target = _assigned_name(step.what)
            name = _root_identifier(target)
            if name and is_package_var(name):
                return f"{PACKAGE_VARIABLE} ({target})"
            break

    explicit = next((s for s in flow if s.why == "interface-converted"), None)
    implicit = bool(
        kind is Kind.ESCAPES_TO_HEAP
        and subject
        and not _ALLOCATION.match(subject)
        and flow
        and flow[0].why == "spill"
    )
    if explicit is not None or implicit:
        where = explicit.location if explicit is not None else None
        target = call_at(where) or (callee(last_call.what) if last_call else "")
        return f"converted to an interface for {target}" if target else "converted to an interface"

    if any(s.why == "send" for s in flow):
        return "sent on a channel"
    if last_call is not None:
        fn = callee(last_call.what)
        if fn == "append":
            return "appended to a slice that outlives the call"
        if kind is Kind.LEAKING_PARAM:
            return f"passed to {fn}, which may keep it"
        return f"passed to {fn}, which lets it escape"
    for step in reversed(flow):
        if step.why in ("assign", "assign-pair", "store") and step.dst == "{heap}":
            target = _assigned_name(step.what)
            if target:
                return f"stored in {target}, which outlives the call"
    if captured:
        return CAPTURED
    if any(s.why == "call part" for s in flow):
        return "used as a function value that escapes"
    if kind is Kind.LEAKING_PARAM:
        return "kept beyond the call"
    return "flows to the heap"

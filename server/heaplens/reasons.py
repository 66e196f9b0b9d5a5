"""Plain-words reasons: why the compiler put a value on the heap, read off its flow chain.

The compiler explains an escape as a chain of edges (``from return &x (return)``,
``from b (interface-converted)``...). A reader wants one phrase: "returned to the caller",
"stored in a package variable", "converted to an interface for fmt.Sprint", "captured by a
closure". The rules below pick the decisive edge of the chain and return it as a
``Reason`` code with the names it needs (``wording`` says it in words); the chain itself
is still shown in full wherever there is room for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from .model import NO_REASON, FlowStep, Kind, Location, Reason, ReasonCode

#: A result as the compiler names it: ``~r0``, or ``pool.~r0`` for an inlined function's.
_RESULT = re.compile(r"^(?:\w+\.)?(?:~[rR]\d+|~r\w*)$")

#: What the value at a finding is, by its syntax (``SourceFile.value_kind``): "alloc" (an
#: allocation of its own: ``&T{}``, ``make``, a conversion to string...), "func" (a method
#: value or func literal: a closure), "boxed" (a value that can only be on the heap by
#: being put in an interface), or "" (cannot be told).
ValueKind = str


def callee(what: str) -> str:
    """``fmt.Sprint(... argument...)`` → ``fmt.Sprint``; ``(*T).M(~r0, v)`` → ``(*T).M``.

    The arguments are the last parenthesised group; string and rune literals among them
    may hold parentheses of their own (``t.Fatalf("(unexpected")``).
    """
    text = what.strip()
    if not text.endswith(")"):
        return text
    if not any(q in text for q in "\"'`"):
        # No literal to trip over: match the last parenthesis from the right.
        depth = 0
        for i in range(len(text) - 1, -1, -1):
            ch = text[i]
            if ch == ")":
                depth += 1
            elif ch == "(":
                depth -= 1
                if depth == 0:
                    return text[:i].strip() or text
        return text
    depth = 0
    last_open = -1
    for i, ch in _outside_literals(text):
        if ch == "(":
            if depth == 0:
                last_open = i
            depth += 1
        elif ch == ")":
            depth -= 1
    head = text[:last_open].strip() if last_open > 0 else ""
    return head or text


def _outside_literals(text: str) -> Iterator[tuple[int, str]]:
    """The characters of ``text`` (with their index) outside string and rune literals."""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'`":
            i = _literal_end(text, i)
            continue
        yield i, ch
        i += 1


def _literal_end(text: str, start: int) -> int:
    """The index after the Go string or rune literal that starts at ``start``."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\" and quote != "`":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return len(text)


def compiler_made(name: str) -> bool:
    """Names only the compiler has: temporaries (``.autotmp_3``, ``..stmp_0``), the
    parameters of its wrappers (``~p0``), a range-over-func loop's ``#state1``."""
    return name.startswith((".", "~", "#")) or ".autotmp_" in name or "..stmp_" in name


def _split_top(text: str) -> list[str]:
    """``a, f(b, c), d`` → ``["a", "f(b, c)", "d"]``: commas outside brackets and literals."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in _outside_literals(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _assigned_name(what: str, value: str = "") -> str:
    """``global = c`` → ``global``; ``p.next = n`` → ``p.next``. Of several targets
    (``r.x, n = v, len(v)``), the one ``value`` is assigned to, when that can be told."""
    for sep in (" = ", " := "):
        if sep in what:
            left, right = what.split(sep, 1)
            targets = _split_top(left)
            if len(targets) == 1:
                return targets[0]
            values = _split_top(right)
            if value and len(values) == len(targets) and value in values:
                return targets[values.index(value)]
            return ""
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
    is_package_var: Callable[[str, Location | None], bool] = lambda _name, _at: False,
    call_at: Callable[[Location | None], str | None] = lambda _loc: None,
    in_go_statement: Callable[[], bool] = lambda: False,
    package_var_of: Callable[[], str] = lambda: "",
    result_names: Callable[[], frozenset[str]] = frozenset,
    value_kind: Callable[[], ValueKind] = lambda: "",
) -> Reason:
    """Why ``subject`` escapes (or why a parameter leaks), decided on the flow's edges.

    ``call_at`` names the function whose call has the value at a location among its
    arguments (looked up by the caller on the syntax tree); it names the call an
    interface conversion is made for. A location of ``None`` stands for the finding's own
    position; an answer of ``None`` means the source cannot say.
    ``is_package_var`` says whether a name, at a place in the source, is a package
    variable (not a local that shadows one). ``package_var_of`` names the package
    variable whose initial value holds the finding, if it is in one; ``result_names``
    are the enclosing function's named results; ``value_kind`` what the value is.
    """
    whys = [s.why for s in flow]
    if "too large for stack" in whys:
        return Reason(ReasonCode.TOO_LARGE)
    if "non-constant size" in whys:
        return Reason(ReasonCode.NON_CONSTANT_SIZE)
    if kind is Kind.INLINING or kind is Kind.CANNOT_INLINE:
        return NO_REASON

    final_dst = flow[-1].dst if flow else ""
    last_call = next((s for s in reversed(flow) if s.why == "call parameter"), None)

    captured = "captured by a closure" in whys
    if (captured or subject == "func literal") and in_go_statement():
        return Reason(ReasonCode.GOROUTINE)
    if kind is Kind.MOVED_TO_HEAP and captured:
        return Reason(ReasonCode.CAPTURED)
    if "return" in whys and (is_result(final_dst) or final_dst in result_names()):
        if kind is Kind.MOVED_TO_HEAP and "address-of" in whys:
            return Reason(ReasonCode.ADDRESS_RETURNED)
        return Reason(ReasonCode.RETURNED)
    if kind is Kind.LEAKING_PARAM and final_dst and final_dst in result_names():
        # A leak into a named result: returned when the function returns, with or
        # without a `return` that names it (the flow then only assigns to it).
        return Reason(ReasonCode.RETURNED, final_dst)

    def value_at(i: int) -> str:
        """What step ``i`` moves: the expression of the step before it."""
        return flow[i - 1].what if i > 0 else subject

    def written_at(step: FlowStep) -> Location | None:
        """Where the step's code is written: in the inlined function, if it was inlined."""
        return step.inlined_from or step.location

    for i in range(len(flow) - 1, -1, -1):
        step = flow[i]
        if step.dst == "{heap}" and step.why in ("assign", "assign-pair"):
            target = _assigned_name(step.what, value_at(i))
            name = _root_identifier(target)
            if name and is_package_var(name, written_at(step)):
                return Reason(ReasonCode.PACKAGE_VARIABLE, target)
            break

    explicit = next((s for s in flow if s.why == "interface-converted"), None)
    # A value handed to a call with no edge of its own making it (``spill``, then ``call
    # parameter``): an implicit interface conversion, or a closure for a func-typed
    # parameter. The flow cannot tell them apart; what the value is can.
    handed = bool(kind is Kind.ESCAPES_TO_HEAP and flow and flow[0].why == "spill")
    what = value_kind() if handed and explicit is None else ""
    if explicit is not None or what == "boxed":
        where = explicit.location if explicit is not None else None
        # The call the source shows the value passed to; "" when the source shows it
        # is boxed elsewhere (a field of a literal); None when the source cannot say
        # (code inlined here), and then the call the flow passes it to.
        shown = call_at(where)
        target = (
            shown if shown is not None else (_callee_of(last_call, call_at) if last_call else "")
        )
        return Reason(ReasonCode.INTERFACE, target)
    if what == "func" and last_call is not None:
        return Reason(ReasonCode.FUNC_VALUE_PASSED, _callee_of(last_call, call_at))

    if "send" in whys:
        return Reason(ReasonCode.SENT)
    if last_call is not None:
        fn = _callee_of(last_call, call_at)
        if fn == "append":
            return Reason(ReasonCode.APPENDED)
        return Reason(ReasonCode.KEPT_BY_CALLEE, fn)
    for i in range(len(flow) - 1, -1, -1):
        step = flow[i]
        if step.why in ("assign", "assign-pair", "store") and step.dst == "{heap}":
            target = _readable(_assigned_name(step.what, value_at(i)))
            if "..stmp_" in target:
                # A static temporary: the storage of a package variable's initial value.
                return Reason(ReasonCode.PACKAGE_VARIABLE, package_var_of())
            if target and not compiler_made(target):
                return Reason(ReasonCode.STORED, target)
    if captured:
        return Reason(ReasonCode.CAPTURED)
    if "call part" in whys:
        return Reason(ReasonCode.CALLED_FUNC_VALUE)
    if package_var_of():
        # Whatever a package variable's initial value holds lives as long as the program.
        return Reason(ReasonCode.PACKAGE_VARIABLE, package_var_of())
    # The value went into something else, which escapes: name the last such thing.
    for i in range(len(flow) - 1, -1, -1):
        step = flow[i]
        if step.why in ("assign", "assign-pair"):
            target = _readable(_assigned_name(step.what, value_at(i)))
            if target and target in result_names():
                return Reason(ReasonCode.RETURNED, target)
            if target and not compiler_made(target):
                return Reason(ReasonCode.STORED_IN_ESCAPING, target)
            continue
        if step.why == "slice-literal-element" and step.what == "... argument":
            # The slice a variadic call gets, which that call keeps.
            fn = (call_at(step.location) if step.location is not None else "") or ""
            return Reason(ReasonCode.VARIADIC_KEPT, fn)
        container = _CONTAINERS.get(step.why)
        if container is not None and step.what and not compiler_made(step.what):
            return Reason(container, _ANONYMOUS_STRUCT.sub("struct{...}", step.what))
    return Reason(ReasonCode.UNEXPLAINED)


#: ``struct { name string; f func() }``: a table's element type, too long for a reason.
_ANONYMOUS_STRUCT = re.compile(r"struct \{(?:[^{}]|\{\})*\}")

#: Edges that put a value inside another one, which escapes: the reason names that one.
_CONTAINERS = {
    "struct literal element": ReasonCode.PLACED_IN,
    "slice-literal-element": ReasonCode.PLACED_IN,
    "map literal value": ReasonCode.PLACED_IN,
    "map literal key": ReasonCode.PLACED_IN,
    "value of map put": ReasonCode.STORED,
    "key of map put": ReasonCode.MAP_KEY,
}


def _readable(target: str) -> str:
    """``(~r0).next`` → ``the result's next``: the compiler's name for a result."""
    m = re.match(r"^\(?~[rR]\d+\)?(?:\.(.+))?$", target)
    if m is None:
        return target
    return f"the result's {m.group(1)}" if m.group(1) else "the result"


def _callee_of(step: FlowStep, call_at: Callable[[Location | None], str | None]) -> str:
    """The function a "call parameter" step calls, as written in the source when the
    compiler only has a name of its own for it (a call through ``fs[i]`` is a call of
    ``.autotmp_3``)."""
    fn = callee(step.what)
    if not compiler_made(fn):
        return fn
    return (call_at(step.location) if step.location is not None else "") or "a function value"

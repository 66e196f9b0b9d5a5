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
from dataclasses import dataclass
from functools import cached_property

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

    The first of ``RULES`` that recognises the flow decides.
    """
    evidence = Evidence(
        kind,
        subject,
        flow,
        is_package_var=is_package_var,
        call_at=call_at,
        in_go_statement=in_go_statement,
        package_var_of=package_var_of,
        result_names=result_names,
        value_kind=value_kind,
    )
    for rule in RULES:
        reason = rule(evidence)
        if reason is not None:
            return reason
    return Reason(ReasonCode.UNEXPLAINED)


@dataclass(frozen=True)
class Evidence:
    """What the rules decide on: the finding, its flow and the lookups into the source.
    The lookups parse source, so what they say is asked once, and only by a rule that
    needs it (``cached_property``)."""

    kind: Kind
    subject: str
    flow: tuple[FlowStep, ...]
    is_package_var: Callable[[str, Location | None], bool] = lambda _name, _at: False
    call_at: Callable[[Location | None], str | None] = lambda _loc: None
    in_go_statement: Callable[[], bool] = lambda: False
    package_var_of: Callable[[], str] = lambda: ""
    result_names: Callable[[], frozenset[str]] = frozenset
    value_kind: Callable[[], ValueKind] = lambda: ""

    @cached_property
    def whys(self) -> tuple[str, ...]:
        """The edges' kinds, as the compiler names them (``assign``, ``return``...)."""
        return tuple(s.why for s in self.flow)

    @cached_property
    def final_dst(self) -> str:
        """Where the flow ends: ``{heap}``, a result (``~r0``), a variable."""
        return self.flow[-1].dst if self.flow else ""

    @cached_property
    def captured(self) -> bool:
        return "captured by a closure" in self.whys

    @cached_property
    def last_call(self) -> FlowStep | None:
        """The last call the value is passed to."""
        return next((s for s in reversed(self.flow) if s.why == "call parameter"), None)

    @cached_property
    def named_results(self) -> frozenset[str]:
        return self.result_names()

    @cached_property
    def package_var(self) -> str:
        """The package variable whose initial value holds the finding, or ""."""
        return self.package_var_of()

    @cached_property
    def converted(self) -> FlowStep | None:
        """The edge of an explicit interface conversion, if the flow has one."""
        return next((s for s in self.flow if s.why == "interface-converted"), None)

    @cached_property
    def handed_value(self) -> ValueKind:
        """What a value handed to a call with no edge of its own making it is (``spill``,
        then ``call parameter``): an implicit interface conversion, or a closure for a
        func-typed parameter. The flow cannot tell them apart; what the value is can.
        "" for any other flow, or when the source cannot say."""
        handed = self.kind is Kind.ESCAPES_TO_HEAP and self.flow and self.flow[0].why == "spill"
        return self.value_kind() if handed and self.converted is None else ""

    def value_at(self, i: int) -> str:
        """What step ``i`` moves: the expression of the step before it."""
        return self.flow[i - 1].what if i > 0 else self.subject

    def callee_of(self, step: FlowStep) -> str:
        return _callee_of(step, self.call_at)


#: A rule: the reason for a flow it recognises, None to leave it to the next rule.
Rule = Callable[[Evidence], Reason | None]


def too_large(e: Evidence) -> Reason | None:
    """``too large for stack``: the compiler puts a value bigger than its stack limit on
    the heap whatever else its flow says."""
    return Reason(ReasonCode.TOO_LARGE) if "too large for stack" in e.whys else None


def non_constant_size(e: Evidence) -> Reason | None:
    """``non-constant size``: a ``make`` whose size is known only at run time cannot
    have its storage on the stack, wherever the value goes."""
    return Reason(ReasonCode.NON_CONSTANT_SIZE) if "non-constant size" in e.whys else None


def inlining_verdict(e: Evidence) -> Reason | None:
    """Inlining verdicts have no flow to read: no reason."""
    return NO_REASON if e.kind in (Kind.INLINING, Kind.CANNOT_INLINE) else None


def goroutine(e: Evidence) -> Reason | None:
    """A closure (or what it captures) in a ``go`` statement: the goroutine may run after
    the function returns, which is why the compiler keeps it on the heap. Before the
    closure rules: a goroutine's closure is captured too."""
    if (e.captured or e.subject == "func literal") and e.in_go_statement():
        return Reason(ReasonCode.GOROUTINE)
    return None


def captured_variable(e: Evidence) -> Reason | None:
    """``moved to heap: x`` with a ``captured by a closure`` edge: the closure refers to
    the variable itself, so the variable lives as long as the closure."""
    if e.kind is Kind.MOVED_TO_HEAP and e.captured:
        return Reason(ReasonCode.CAPTURED)
    return None


def returned(e: Evidence) -> Reason | None:
    """A ``return`` edge into a result (``~r0``, an inlined ``pool.~r0``, a named
    result): the caller gets the value. A moved variable whose address is taken on the
    way is returned by its address."""
    if "return" not in e.whys:
        return None
    if not (is_result(e.final_dst) or e.final_dst in e.named_results):
        return None
    if e.kind is Kind.MOVED_TO_HEAP and "address-of" in e.whys:
        return Reason(ReasonCode.ADDRESS_RETURNED)
    return Reason(ReasonCode.RETURNED)


def leaked_to_named_result(e: Evidence) -> Reason | None:
    """A leak into a named result: returned when the function returns, with or without a
    ``return`` that names it (the flow then only assigns to it)."""
    if e.kind is Kind.LEAKING_PARAM and e.final_dst and e.final_dst in e.named_results:
        return Reason(ReasonCode.RETURNED, e.final_dst)
    return None


def package_variable(e: Evidence) -> Reason | None:
    """The flow's last assignment to ``{heap}`` writes a package variable (not a local
    that shadows one): the value lives as long as the program. Only the last such edge
    counts: an earlier one is not where the value ends up."""
    for i in range(len(e.flow) - 1, -1, -1):
        step = e.flow[i]
        if step.dst == "{heap}" and step.why in ("assign", "assign-pair"):
            target = _assigned_name(step.what, e.value_at(i))
            name = _root_identifier(target)
            if name and e.is_package_var(name, step.inlined_from or step.location):
                return Reason(ReasonCode.PACKAGE_VARIABLE, target)
            return None
    return None


def interface_conversion(e: Evidence) -> Reason | None:
    """An ``interface-converted`` edge, or a value handed to a call that the source shows
    is boxed: converted to an interface, for the call the source shows it passed to ("",
    when the source shows it is boxed elsewhere, a field of a literal). When the source
    cannot say (code inlined here), the call the flow passes it to."""
    if e.converted is None and e.handed_value != "boxed":
        return None
    shown = e.call_at(e.converted.location if e.converted is not None else None)
    if shown is not None:
        return Reason(ReasonCode.INTERFACE, shown)
    return Reason(ReasonCode.INTERFACE, e.callee_of(e.last_call) if e.last_call else "")


def func_value_passed(e: Evidence) -> Reason | None:
    """A method value or func literal handed to a call (``run(req.Read)``): a closure
    for a func-typed parameter, which the callee may keep."""
    if e.handed_value == "func" and e.last_call is not None:
        return Reason(ReasonCode.FUNC_VALUE_PASSED, e.callee_of(e.last_call))
    return None


def sent(e: Evidence) -> Reason | None:
    """A ``send`` edge: the value goes down a channel, to whoever receives it."""
    return Reason(ReasonCode.SENT) if "send" in e.whys else None


def passed_to_call(e: Evidence) -> Reason | None:
    """A ``call parameter`` edge: the callee (or ``append``, which the compiler logs as
    a call) keeps what it is given, as far as escape analysis can tell."""
    if e.last_call is None:
        return None
    fn = e.callee_of(e.last_call)
    if fn == "append":
        return Reason(ReasonCode.APPENDED)
    return Reason(ReasonCode.KEPT_BY_CALLEE, fn)


def stored_in_heap(e: Evidence) -> Reason | None:
    """An ``assign``/``store`` edge into ``{heap}`` naming what it writes: stored in
    something that outlives the call. A static temporary (``..stmp_0``) is the storage of
    a package variable's initial value."""
    for i in range(len(e.flow) - 1, -1, -1):
        step = e.flow[i]
        if step.why in ("assign", "assign-pair", "store") and step.dst == "{heap}":
            target = _readable(_assigned_name(step.what, e.value_at(i)))
            if "..stmp_" in target:
                return Reason(ReasonCode.PACKAGE_VARIABLE, e.package_var)
            if target and not compiler_made(target):
                return Reason(ReasonCode.STORED, target)
    return None


def captured(e: Evidence) -> Reason | None:
    """``captured by a closure`` for a value that is not a moved variable: it escapes
    with the closure."""
    return Reason(ReasonCode.CAPTURED) if e.captured else None


def called_func_value(e: Evidence) -> Reason | None:
    """``call part``: the value is a function that is called, and the compiler keeps a
    called closure on the heap."""
    return Reason(ReasonCode.CALLED_FUNC_VALUE) if "call part" in e.whys else None


def package_var_initialiser(e: Evidence) -> Reason | None:
    """Whatever a package variable's initial value holds lives as long as the program."""
    return Reason(ReasonCode.PACKAGE_VARIABLE, e.package_var) if e.package_var else None


def held_by_escaping(e: Evidence) -> Reason | None:
    """The value went into something else, which escapes: name the last such thing, by
    the first of ``HOLDER_RULES`` that recognises a step, latest step first."""
    for i in range(len(e.flow) - 1, -1, -1):
        for rule in HOLDER_RULES:
            reason = rule(e, i)
            if reason is not None:
                return reason
    return None


def assigned_to_holder(e: Evidence, i: int) -> Reason | None:
    """An ``assign`` edge to a named variable: a named result is returned; any other
    variable holds the value and escapes itself."""
    step = e.flow[i]
    if step.why not in ("assign", "assign-pair"):
        return None
    target = _readable(_assigned_name(step.what, e.value_at(i)))
    if target and target in e.named_results:
        return Reason(ReasonCode.RETURNED, target)
    if target and not compiler_made(target):
        return Reason(ReasonCode.STORED_IN_ESCAPING, target)
    return None


def variadic_slice(e: Evidence, i: int) -> Reason | None:
    """A ``slice-literal-element`` edge into ``... argument``: the slice a variadic call
    gets, which that call keeps (``placed_in_container`` names no compiler's value)."""
    step = e.flow[i]
    if step.why != "slice-literal-element" or step.what != "... argument":
        return None
    fn = (e.call_at(step.location) if step.location is not None else "") or ""
    return Reason(ReasonCode.VARIADIC_KEPT, fn)


def placed_in_container(e: Evidence, i: int) -> Reason | None:
    """An edge that puts the value inside a literal or a map (``_CONTAINERS``), which
    escapes: the reason names that one."""
    step = e.flow[i]
    container = _CONTAINERS.get(step.why)
    if container is not None and step.what and not compiler_made(step.what):
        return Reason(container, _ANONYMOUS_STRUCT.sub("struct{...}", step.what))
    return None


#: The reasons for a step of a flow whose value is held by something that escapes.
HOLDER_RULES: tuple[Callable[[Evidence, int], Reason | None], ...] = (
    assigned_to_holder,
    variadic_slice,
    placed_in_container,
)

#: In order: the first rule that recognises a flow decides. Sizes come first (they put a
#: value on the heap whatever its flow), then what the value's end says (a goroutine, a
#: return, a package variable), then the edges that hand it on, and last what merely
#: holds it.
RULES: tuple[Rule, ...] = (
    too_large,
    non_constant_size,
    inlining_verdict,
    goroutine,
    captured_variable,
    returned,
    leaked_to_named_result,
    package_variable,
    interface_conversion,
    func_value_passed,
    sent,
    passed_to_call,
    stored_in_heap,
    captured,
    called_func_value,
    package_var_initialiser,
    held_by_escaping,
)


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

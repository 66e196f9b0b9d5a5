"""``reasons.explain``'s rules one at a time, on flows the compiler logged (``rule_inputs``)
or wrote in its shape: each recognises its edge and leaves other flows alone, and where
two recognise one flow, the one earlier in ``RULES`` is the one that decides."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import pytest

from heaplens import findings, reasons
from heaplens.model import NO_REASON, FlowStep, Kind, Location, Reason, ReasonCode
from heaplens.reasons import Evidence, Rule
from rule_inputs import flow, recorded

T = TypeVar("T")


def recorded_flow(code: str, line: int, message: str) -> tuple[FlowStep, ...]:
    return findings.parse_flow(recorded(code, line, message))


def explained(e: Evidence) -> Reason:
    """What ``explain`` itself says of ``e``."""
    return reasons.explain(
        e.kind,
        e.subject,
        e.flow,
        is_package_var=e.is_package_var,
        call_at=e.call_at,
        in_go_statement=e.in_go_statement,
        package_var_of=e.package_var_of,
        result_names=e.result_names,
        value_kind=e.value_kind,
    )


class Answer(Generic[T]):
    """A lookup that answers the same each time and counts how often it was asked."""

    def __init__(self, answer: T) -> None:
        self.answer = answer
        self.times = 0

    def __call__(self) -> T:
        self.times += 1
        return self.answer


def is_global(name: str, _at: Location | None) -> bool:
    return name == "global"


def first_wins(e: Evidence, earlier: Rule, later: Rule) -> None:
    """Both rules recognise ``e``, differently, and ``explain`` takes the earlier's."""
    a, b = earlier(e), later(e)
    assert a is not None and b is not None and a != b, (a, b)
    assert reasons.RULES.index(earlier) < reasons.RULES.index(later)
    assert explained(e) == a


RETURNED_CONFIG = ("escape", 23, "&Config{...}")  # return &Config{...}
MOVED_X = ("escape", 32, "x escapes")  # return &x
STORED_GLOBAL = ("escape", 27, "&Config{}")  # c := &Config{}; global = c
SPRINT_ARG = ("escape", 39, "n escapes")  # fmt.Sprint("n=", n)
CAPTURED_Y = ("escape", 43, "y escapes")  # y captured by a returned closure
ENCODER_BUFFER = ("escape", 48, "&bytes.Buffer{}")  # json.NewEncoder(b)
TOO_LARGE = ("escapes", 71, "make(")  # make([]byte, 1<<20)
LEAK_SINK = ("leak", 78, "parameter p")  # sink = *p
LEAK_TO_D = ("leak", 80, "parameter c")  # d := *c; return &d
LEAK_WRITE = ("leak", 47, "parameter w")  # w.Write(b.Bytes())


def test_every_rule_is_in_the_table_once() -> None:
    assert len(set(reasons.RULES)) == len(reasons.RULES) == 17
    assert (
        reasons.assigned_to_holder,
        reasons.variadic_slice,
        reasons.placed_in_container,
    ) == reasons.HOLDER_RULES


def test_too_large() -> None:
    big = Evidence(Kind.ESCAPES_TO_HEAP, "make([]byte, 1048576)", recorded_flow(*TOO_LARGE))
    assert reasons.too_large(big) == Reason(ReasonCode.TOO_LARGE)
    assert (
        reasons.too_large(
            Evidence(Kind.ESCAPES_TO_HEAP, "&Config{...}", recorded_flow(*RETURNED_CONFIG))
        )
        is None
    )


def test_non_constant_size() -> None:
    dyn = flow(
        " flow: {heap} ← &{storage for make([]byte, n)}:",
        "   from make([]byte, n) (non-constant size)",
    )
    assert reasons.non_constant_size(
        Evidence(Kind.ESCAPES_TO_HEAP, "make([]byte, n)", dyn)
    ) == Reason(ReasonCode.NON_CONSTANT_SIZE)
    assert (
        reasons.non_constant_size(Evidence(Kind.ESCAPES_TO_HEAP, "x", recorded_flow(*TOO_LARGE)))
        is None
    )


def test_sizes_decide_before_the_flow_is_read() -> None:
    """A value too large for the stack is on the heap even if it is also passed on."""
    both = flow(
        " flow: {heap} ← &{storage for make([]byte, 1048576)}:",
        "   from make([]byte, 1048576) (too large for stack)",
        "   from keep(b) (call parameter)",
    )
    first_wins(
        Evidence(Kind.ESCAPES_TO_HEAP, "make([]byte, 1048576)", both),
        reasons.too_large,
        reasons.passed_to_call,
    )


def test_inlining_verdicts_have_no_reason() -> None:
    assert reasons.inlining_verdict(Evidence(Kind.CANNOT_INLINE, "F", ())) == NO_REASON
    assert reasons.inlining_verdict(Evidence(Kind.INLINING, "F", ())) == NO_REASON
    assert reasons.inlining_verdict(Evidence(Kind.LEAKING_PARAM, "p", ())) is None


def test_goroutine() -> None:
    y = recorded_flow(*CAPTURED_Y)
    in_go = Evidence(Kind.MOVED_TO_HEAP, "y", y, in_go_statement=lambda: True)
    assert reasons.goroutine(in_go) == Reason(ReasonCode.GOROUTINE)
    literal = Evidence(Kind.ESCAPES_TO_HEAP, "func literal", (), in_go_statement=lambda: True)
    assert reasons.goroutine(literal) == Reason(ReasonCode.GOROUTINE)
    assert reasons.goroutine(Evidence(Kind.MOVED_TO_HEAP, "y", y)) is None
    # Not captured, not a closure: a go statement is no reason to ask.
    asked = Answer(True)
    plain = Evidence(
        Kind.ESCAPES_TO_HEAP, "&Config{...}", recorded_flow(*RETURNED_CONFIG), in_go_statement=asked
    )
    assert reasons.goroutine(plain) is None and asked.times == 0


def test_a_goroutines_closure_is_a_goroutine_not_a_capture() -> None:
    in_go = Evidence(
        Kind.MOVED_TO_HEAP, "y", recorded_flow(*CAPTURED_Y), in_go_statement=lambda: True
    )
    first_wins(in_go, reasons.goroutine, reasons.captured_variable)


def test_captured_variable() -> None:
    y = recorded_flow(*CAPTURED_Y)
    assert reasons.captured_variable(Evidence(Kind.MOVED_TO_HEAP, "y", y)) == Reason(
        ReasonCode.CAPTURED
    )
    # An expression captured is left to the later, general rule.
    assert reasons.captured_variable(Evidence(Kind.ESCAPES_TO_HEAP, "y", y)) is None
    assert reasons.captured(Evidence(Kind.ESCAPES_TO_HEAP, "y", y)) == Reason(ReasonCode.CAPTURED)
    assert reasons.captured(Evidence(Kind.ESCAPES_TO_HEAP, "x", recorded_flow(*MOVED_X))) is None


def test_returned() -> None:
    config = Evidence(Kind.ESCAPES_TO_HEAP, "&Config{...}", recorded_flow(*RETURNED_CONFIG))
    assert reasons.returned(config) == Reason(ReasonCode.RETURNED)
    moved = Evidence(Kind.MOVED_TO_HEAP, "x", recorded_flow(*MOVED_X))
    assert reasons.returned(moved) == Reason(ReasonCode.ADDRESS_RETURNED)
    # A return into a named result counts; into a variable, not.
    named = flow(" flow: done ← func literal:", "   from return mfs, func literal, err (return)")
    done = Evidence(
        Kind.ESCAPES_TO_HEAP, "func literal", named, result_names=lambda: frozenset({"done"})
    )
    assert reasons.returned(done) == Reason(ReasonCode.RETURNED)
    assert reasons.returned(Evidence(Kind.ESCAPES_TO_HEAP, "func literal", named)) is None
    assert (
        reasons.returned(Evidence(Kind.ESCAPES_TO_HEAP, "&Config{}", recorded_flow(*STORED_GLOBAL)))
        is None
    )


def test_leaked_to_named_result() -> None:
    into_err = flow(" flow: err ← w:", "   from err = w.Close() (assign)")
    named = Evidence(Kind.LEAKING_PARAM, "w", into_err, result_names=lambda: frozenset({"err"}))
    assert reasons.leaked_to_named_result(named) == Reason(ReasonCode.RETURNED, "err")
    assert reasons.leaked_to_named_result(Evidence(Kind.LEAKING_PARAM, "w", into_err)) is None
    # Only a parameter's leak: an escaping value assigned to a result is left to later rules.
    value = Evidence(Kind.ESCAPES_TO_HEAP, "w", into_err, result_names=lambda: frozenset({"err"}))
    assert reasons.leaked_to_named_result(value) is None


def test_a_return_says_returned_without_the_results_name() -> None:
    returned = flow(" flow: err ← w:", "   from return w (return)")
    named = Evidence(Kind.LEAKING_PARAM, "w", returned, result_names=lambda: frozenset({"err"}))
    first_wins(named, reasons.returned, reasons.leaked_to_named_result)


def test_package_variable() -> None:
    stored = recorded_flow(*STORED_GLOBAL)
    assert reasons.package_variable(
        Evidence(Kind.ESCAPES_TO_HEAP, "&Config{}", stored, is_package_var=is_global)
    ) == Reason(ReasonCode.PACKAGE_VARIABLE, "global")
    assert reasons.package_variable(Evidence(Kind.ESCAPES_TO_HEAP, "&Config{}", stored)) is None
    # Only the last assignment to the heap counts: an earlier one into a package
    # variable is not where the value ends.
    earlier = flow(
        " flow: {heap} ← c:",
        "   from global = c (assign)",
        " flow: {heap} ← d:",
        "   from local = d (assign)",
    )
    assert (
        reasons.package_variable(
            Evidence(Kind.ESCAPES_TO_HEAP, "c", earlier, is_package_var=is_global)
        )
        is None
    )


def test_a_package_variable_is_named_as_one_not_as_storage() -> None:
    sink = Evidence(
        Kind.LEAKING_PARAM,
        "p",
        recorded_flow(*LEAK_SINK),
        is_package_var=lambda n, _at: n == "sink",
    )
    first_wins(sink, reasons.package_variable, reasons.stored_in_heap)


def test_interface_conversion() -> None:
    buffer = Evidence(
        Kind.ESCAPES_TO_HEAP,
        "&bytes.Buffer{}",
        recorded_flow(*ENCODER_BUFFER),
        call_at=lambda _l: "json.NewEncoder",
    )
    assert reasons.interface_conversion(buffer) == Reason(ReasonCode.INTERFACE, "json.NewEncoder")
    # An implicit conversion: the value is one only an interface puts on the heap.
    arg = recorded_flow(*SPRINT_ARG)
    boxed = Evidence(Kind.ESCAPES_TO_HEAP, "n", arg, value_kind=lambda: "boxed")
    assert reasons.interface_conversion(boxed) == Reason(ReasonCode.INTERFACE, "fmt.Sprint")
    assert reasons.interface_conversion(Evidence(Kind.ESCAPES_TO_HEAP, "n", arg)) is None
    # What the value is is asked only of a value handed to a call.
    asked = Answer("boxed")
    config = Evidence(
        Kind.ESCAPES_TO_HEAP, "&Config{...}", recorded_flow(*RETURNED_CONFIG), value_kind=asked
    )
    assert reasons.interface_conversion(config) == Reason(ReasonCode.INTERFACE, "")
    assert asked.times == 1  # `spill` first: handed on, so asked
    leak = Evidence(Kind.LEAKING_PARAM, "w", recorded_flow(*LEAK_WRITE), value_kind=asked)
    assert reasons.interface_conversion(leak) is None and asked.times == 1


def test_a_conversion_for_a_call_is_a_conversion_not_a_call() -> None:
    boxed = Evidence(
        Kind.ESCAPES_TO_HEAP, "n", recorded_flow(*SPRINT_ARG), value_kind=lambda: "boxed"
    )
    first_wins(boxed, reasons.interface_conversion, reasons.passed_to_call)


def test_func_value_passed() -> None:
    method = flow(
        " flow: {heap} ← req.Read:",
        "   from req.Read (spill)",
        "   from run(req.Read) (call parameter)",
    )
    closure = Evidence(Kind.ESCAPES_TO_HEAP, "req.Read", method, value_kind=lambda: "func")
    assert reasons.func_value_passed(closure) == Reason(ReasonCode.FUNC_VALUE_PASSED, "run")
    assert reasons.func_value_passed(Evidence(Kind.ESCAPES_TO_HEAP, "req.Read", method)) is None
    first_wins(closure, reasons.func_value_passed, reasons.passed_to_call)


def test_sent() -> None:
    send = flow(
        " flow: {heap} ← &{storage for &T{}}:", "   from &T{} (spill)", "   from ch <- &T{} (send)"
    )
    assert reasons.sent(Evidence(Kind.ESCAPES_TO_HEAP, "&T{}", send)) == Reason(ReasonCode.SENT)
    assert (
        reasons.sent(Evidence(Kind.ESCAPES_TO_HEAP, "&T{}", recorded_flow(*RETURNED_CONFIG)))
        is None
    )
    then_kept = flow(
        " flow: {heap} ← p:", "   from ch <- p (send)", "   from keep(p) (call parameter)"
    )
    first_wins(Evidence(Kind.LEAKING_PARAM, "p", then_kept), reasons.sent, reasons.passed_to_call)


def test_passed_to_call() -> None:
    write = Evidence(Kind.LEAKING_PARAM, "w", recorded_flow(*LEAK_WRITE))
    assert reasons.passed_to_call(write) == Reason(ReasonCode.KEPT_BY_CALLEE, "w.Write")
    appended = flow(" flow: {heap} ← p:", "   from append(keep, p, ~r0) (call parameter)")
    assert reasons.passed_to_call(Evidence(Kind.LEAKING_PARAM, "p", appended)) == Reason(
        ReasonCode.APPENDED
    )
    assert (
        reasons.passed_to_call(Evidence(Kind.LEAKING_PARAM, "p", recorded_flow(*LEAK_SINK))) is None
    )


def test_a_call_that_keeps_a_value_comes_before_where_it_is_stored() -> None:
    both = flow(
        " flow: {heap} ← p:", "   from keep(p) (call parameter)", "   from cache = p (assign)"
    )
    first_wins(
        Evidence(Kind.LEAKING_PARAM, "p", both), reasons.passed_to_call, reasons.stored_in_heap
    )


def test_stored_in_heap() -> None:
    sink = Evidence(Kind.LEAKING_PARAM, "p", recorded_flow(*LEAK_SINK))
    assert reasons.stored_in_heap(sink) == Reason(ReasonCode.STORED, "sink")
    static = flow(
        " flow: {heap} ← m:", "   from (map[string]string)(example.com/p..stmp_0@88) = m (assign)"
    )
    tests_var = Evidence(Kind.ESCAPES_TO_HEAP, "m", static, package_var_of=lambda: "tests")
    assert reasons.stored_in_heap(tests_var) == Reason(ReasonCode.PACKAGE_VARIABLE, "tests")
    # Into a variable that is not the heap, or a compiler's temporary: not this rule's.
    assert (
        reasons.stored_in_heap(Evidence(Kind.LEAKING_PARAM, "c", recorded_flow(*LEAK_TO_D))) is None
    )
    temp = flow(" flow: {heap} ← p:", "   from .autotmp_3 = p (assign)")
    assert reasons.stored_in_heap(Evidence(Kind.LEAKING_PARAM, "p", temp)) is None


def test_a_stored_value_is_stored_even_if_a_closure_captured_it() -> None:
    both = flow(
        " flow: {heap} ← y:", "   from y (captured by a closure)", "   from cache = y (assign)"
    )
    first_wins(Evidence(Kind.ESCAPES_TO_HEAP, "y", both), reasons.stored_in_heap, reasons.captured)


def test_called_func_value() -> None:
    called = flow(" flow: {heap} ← f:", "   from f() (call part)")
    assert reasons.called_func_value(Evidence(Kind.LEAKING_PARAM, "f", called)) == Reason(
        ReasonCode.CALLED_FUNC_VALUE
    )
    assert (
        reasons.called_func_value(Evidence(Kind.LEAKING_PARAM, "w", recorded_flow(*LEAK_WRITE)))
        is None
    )


def test_package_var_initialiser() -> None:
    inside = Evidence(Kind.ESCAPES_TO_HEAP, "&T{}", (), package_var_of=lambda: "defaults")
    assert reasons.package_var_initialiser(inside) == Reason(
        ReasonCode.PACKAGE_VARIABLE, "defaults"
    )
    assert reasons.package_var_initialiser(Evidence(Kind.ESCAPES_TO_HEAP, "&T{}", ())) is None


def test_held_by_escaping_and_its_step_rules() -> None:
    to_d = Evidence(Kind.LEAKING_PARAM, "c", recorded_flow(*LEAK_TO_D))
    assert reasons.assigned_to_holder(to_d, 1) == Reason(ReasonCode.STORED_IN_ESCAPING, "d")
    assert reasons.assigned_to_holder(to_d, 0) is None  # `*c (indirection)`
    assert reasons.held_by_escaping(to_d) == Reason(ReasonCode.STORED_IN_ESCAPING, "d")
    named = Evidence(Kind.LEAKING_PARAM, "c", to_d.flow, result_names=lambda: frozenset({"d"}))
    assert reasons.assigned_to_holder(named, 1) == Reason(ReasonCode.RETURNED, "d")

    arg = Evidence(
        Kind.ESCAPES_TO_HEAP, "n", recorded_flow(*SPRINT_ARG), call_at=lambda _l: "fmt.Sprint"
    )
    slice_step = next(i for i, s in enumerate(arg.flow) if s.why == "slice-literal-element")
    assert reasons.variadic_slice(arg, slice_step) == Reason(ReasonCode.VARIADIC_KEPT, "fmt.Sprint")
    assert reasons.variadic_slice(arg, 0) is None
    # The compiler's `... argument` is no container to name.
    assert reasons.placed_in_container(arg, slice_step) is None

    literal = flow(" flow: {heap} ← &b:", "   from json.Encoder{...} (struct literal element)")
    placed = Evidence(Kind.ESCAPES_TO_HEAP, "b", literal)
    assert reasons.placed_in_container(placed, 0) == Reason(
        ReasonCode.PLACED_IN, "json.Encoder{...}"
    )
    assert reasons.held_by_escaping(Evidence(Kind.ESCAPES_TO_HEAP, "&T{}", ())) is None


def test_the_last_holder_is_named() -> None:
    """Latest step first: the thing that escapes is the outermost holder."""
    nested = flow(
        " flow: t ← &x:",
        "   from T{...} (struct literal element)",
        "   from t = T{...} (assign)",
    )
    held = Evidence(Kind.ESCAPES_TO_HEAP, "&x", nested)
    assert reasons.placed_in_container(held, 0) is not None
    assert reasons.held_by_escaping(held) == Reason(ReasonCode.STORED_IN_ESCAPING, "t")


def test_explain_falls_back_to_unexplained() -> None:
    assert all(rule(Evidence(Kind.LEAKING_PARAM, "p", ())) is None for rule in reasons.RULES)
    assert reasons.explain(Kind.LEAKING_PARAM, "p", ()) == Reason(ReasonCode.UNEXPLAINED)


@pytest.mark.parametrize(
    ("lookup", "kind", "entries"),
    [
        # Read by `returned`, `leaked_to_named_result` and `assigned_to_holder`.
        (
            "result_names",
            Kind.LEAKING_PARAM,
            (" flow: x ← p:", "   from y = p (assign)", "   from return y (return)"),
        ),
        # Read twice by `package_var_initialiser`.
        ("package_var_of", Kind.LEAKING_PARAM, (" flow: x ← p:", "   from y = p (assign)")),
        # Read for `interface_conversion` and `func_value_passed`.
        (
            "value_kind",
            Kind.ESCAPES_TO_HEAP,
            (" flow: {heap} ← v:", "   from v (spill)", "   from keep(v) (call parameter)"),
        ),
    ],
)
def test_each_lookup_is_asked_once(lookup: str, kind: Kind, entries: tuple[str, ...]) -> None:
    """Several rules read the same fact of the source; it is parsed once."""
    answers: dict[str, object] = {
        "result_names": frozenset(),
        "package_var_of": "",
        "value_kind": "",
    }
    asked = Answer(answers[lookup])
    lookups: dict[str, Any] = {lookup: asked}
    reasons.explain(kind, "p", flow(*entries), **lookups)
    assert asked.times == 1

"""Reasons from synthetic flow chains: the code ``reasons`` decides on, in ``wording``'s words."""

from __future__ import annotations

from typing import Any

from heaplens import reasons, wording
from heaplens.model import FlowStep, Kind, Location, Position, ReasonCode
from heaplens.reasons import callee


def explain(kind: Kind, subject: str, flow: tuple[FlowStep, ...], **lookups: Any) -> str:
    return wording.reason_text(reasons.explain(kind, subject, flow, **lookups), kind)


L = Location("/x.go", Position(1, 1))


def step(what: str, why: str, dst: str) -> FlowStep:
    return FlowStep(L, what, why, dst)


def test_callee_names() -> None:
    assert callee("fmt.Sprint(... argument...)") == "fmt.Sprint"
    assert callee("(*json.Encoder).Encode(~r0, v)") == "(*json.Encoder).Encode"
    assert callee("w.Write(~r0)") == "w.Write"


def test_callee_names_survive_parentheses_in_literals_and_compiler_names() -> None:
    what = '(*testing.common).Fatalf(t.common, "did not run (%s", ... argument...)'
    assert callee(what) == "(*testing.common).Fatalf"
    assert callee("f(g(x))(y)") == "f(g(x))"
    # A call through a function value is a call of a temporary to the compiler: the
    # source's text is used instead, or a plain description.
    through = (step("t", "spill", "{heap}"), step(".autotmp_3(t)", "call parameter", "{heap}"))
    assert explain(Kind.LEAKING_PARAM, "t", through) == (
        "passed to a function value, which may keep it"
    )
    assert (
        explain(Kind.LEAKING_PARAM, "t", through, call_at=lambda _l: "handlers[i]")
        == "passed to handlers[i], which may keep it"
    )


def test_one_of_several_targets_and_static_temporaries() -> None:
    pair = (step("r.Runs, skip = run, n", "assign-pair", "{heap}"),)
    assert explain(Kind.LEAKING_PARAM, "run", pair) == "stored in r.Runs, which outlives the call"
    static = (step("(map[string]string)(example.com/p..stmp_0@88) = m", "assign", "{heap}"),)
    assert (
        explain(Kind.ESCAPES_TO_HEAP, "m", static, package_var_of=lambda: "tests")
        == "stored in a package variable (tests)"
    )


def test_returned() -> None:
    flow = (step("&T{}", "spill", "~r0"), step("return &T{}", "return", "~r0"))
    assert explain(Kind.ESCAPES_TO_HEAP, "&T{}", flow) == "returned to the caller"
    moved = (step("&x", "address-of", "~r0"), step("return &x", "return", "~r0"))
    assert explain(Kind.MOVED_TO_HEAP, "x", moved) == "its address is returned to the caller"


def test_package_variable_only_when_it_is_one() -> None:
    flow = (step("c := &T{}", "assign", "c"), step("global = c", "assign", "{heap}"))
    assert (
        explain(Kind.ESCAPES_TO_HEAP, "&T{}", flow, is_package_var=lambda n, _at: n == "global")
        == "stored in a package variable (global)"
    )
    assert (
        explain(Kind.ESCAPES_TO_HEAP, "&T{}", flow) == "stored in global, which outlives the call"
    )


def test_interface_conversion_names_the_call() -> None:
    flow = (
        step("n", "spill", "{storage for ... argument}"),
        step("... argument", "slice-literal-element", "{storage for ... argument}"),
        step("fmt.Sprint(... argument...)", "call parameter", "{heap}"),
    )
    boxed = {"value_kind": lambda: "boxed"}
    assert (
        explain(Kind.ESCAPES_TO_HEAP, "n", flow, **boxed)
        == "converted to an interface for fmt.Sprint"
    )
    assert (
        explain(Kind.ESCAPES_TO_HEAP, "n", flow, call_at=lambda _l: "log.Printf", **boxed)
        == "converted to an interface for log.Printf"
    )
    # An allocation passed along is not a conversion.
    alloc = (step("&T{}", "spill", "{heap}"), step("keep(&T{})", "call parameter", "{heap}"))
    assert explain(Kind.ESCAPES_TO_HEAP, "&T{}", alloc) == "passed to keep, which lets it escape"


def test_no_interface_unless_one_is_involved() -> None:
    """The same edges carry a boxed value and a closure: what the value is decides, and
    when that cannot be told the reason claims no interface."""
    flow = (step("req.Read", "spill", "{heap}"), step("run(req.Read)", "call parameter", "{heap}"))
    closure = reasons.explain(Kind.ESCAPES_TO_HEAP, "req.Read", flow, value_kind=lambda: "func")
    assert closure.code is ReasonCode.FUNC_VALUE_PASSED and closure.name == "run"
    unknown = reasons.explain(Kind.ESCAPES_TO_HEAP, "req.Read", flow)
    assert unknown.code is ReasonCode.KEPT_BY_CALLEE
    assert "interface" not in wording.reason_text(unknown, Kind.ESCAPES_TO_HEAP)
    explicit = (
        step("s.f", "spill", "a"),
        step("a", "interface-converted", "a"),
        step("box(a)", "call parameter", "{heap}"),
    )
    code = reasons.explain(Kind.ESCAPES_TO_HEAP, "s.f", explicit).code
    assert code is ReasonCode.INTERFACE


def test_a_local_is_not_a_package_variable() -> None:
    flow = (step("req = v", "assign", "{heap}"),)
    local = reasons.explain(Kind.ESCAPES_TO_HEAP, "v", flow, is_package_var=lambda _n, _at: False)
    assert local.code is not ReasonCode.PACKAGE_VARIABLE


def test_closures_goroutines_sizes() -> None:
    captured = (step("y", "captured by a closure", "{storage for func literal}"),)
    assert explain(Kind.MOVED_TO_HEAP, "y", captured) == "captured by a closure"
    assert (
        explain(Kind.ESCAPES_TO_HEAP, "func literal", captured, in_go_statement=lambda: True)
        == "used by a goroutine, which may outlive the call"
    )
    big = (step("a", "too large for stack", "{heap}"),)
    assert explain(Kind.MOVED_TO_HEAP, "a", big) == "too large for the stack"
    dyn = (step("make([]byte, n)", "non-constant size", "{heap}"),)
    assert explain(Kind.ESCAPES_TO_HEAP, "make([]byte, n)", dyn) == "size not known at compile time"


def test_leaks() -> None:
    flow = (step("w.Write(~r0)", "call parameter", "{heap}"),)
    assert explain(Kind.LEAKING_PARAM, "w", flow) == "passed to w.Write, which may keep it"
    assert explain(Kind.LEAKING_PARAM, "p", (step("return p", "return", "~r0"),)) == (
        "returned to the caller"
    )
    assert explain(Kind.LEAKING_PARAM, "p", ()) == "kept beyond the call"


def test_a_leak_into_a_named_result_is_returned() -> None:
    flow = (step("err = w.Close()", "assign", "err"),)
    named = reasons.explain(Kind.LEAKING_PARAM, "w", flow, result_names=lambda: frozenset({"err"}))
    assert named.code is ReasonCode.RETURNED and named.name == "err"
    assert wording.reason_text(named, Kind.LEAKING_PARAM) == "returned to the caller (as err)"


def test_returned_through_a_named_or_inlined_result() -> None:
    named = (
        step("func literal", "spill", "done"),
        step("return mfs, func literal, err", "return", "done"),
    )
    why = reasons.explain(
        Kind.ESCAPES_TO_HEAP, "func literal", named, result_names=lambda: frozenset({"done"})
    )
    assert why.code is ReasonCode.RETURNED
    inlined = (
        step("&Pool{...}", "spill", "pool.~r0"),
        step("return &Pool{...}", "return", "pool.~r0"),
    )
    assert reasons.explain(Kind.ESCAPES_TO_HEAP, "&Pool{...}", inlined).code is ReasonCode.RETURNED


def test_a_value_boxed_for_a_literal_names_no_call() -> None:
    """`run(T{v: x})`: x is boxed for the literal's field, not for run; only when the
    source cannot say (code inlined here) does the flow's call stand in."""
    flow = (step("x", "spill", "{heap}"), step("run(T{...})", "call parameter", "{heap}"))
    boxed = {"value_kind": lambda: "boxed"}
    field = reasons.explain(Kind.ESCAPES_TO_HEAP, "x", flow, call_at=lambda _l: "", **boxed)
    assert field.code is ReasonCode.INTERFACE and field.name == ""
    unknown = reasons.explain(Kind.ESCAPES_TO_HEAP, "x", flow, call_at=lambda _l: None, **boxed)
    assert unknown.name == "run"


def test_compiler_names_become_words_but_the_source_is_left_alone() -> None:
    assert (
        wording.tidy("leaking param: a to result ~r0 level=0") == "leaking param: a to the result"
    )
    assert wording.tidy("leaking param: a to result ~r1 level=1") == "leaking param: a to result 2"
    assert wording.tidy("{heap} ← &{storage for &T{...}}") == "the heap ← &T{...}"
    # A string in the user's code that looks like one is theirs.
    assert wording.tidy('"level=3 msg"') == '"level=3 msg"'
    assert not wording.has_internals('"level=warning"')

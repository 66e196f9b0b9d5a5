"""What would keep a value on the stack, and the short labels editors show inline.

Keyed by the reason ``reasons`` gave, so every presentation (hover, inlay hint, CLI)
says the same thing.
"""

from __future__ import annotations

from . import reasons
from .model import Finding, Kind


def short_label(f: Finding) -> str:
    """A few characters for an inlay hint: ``↑heap``, ``↑heap: returned``..."""
    r = f.reason
    if f.kind is Kind.LEAKING_PARAM:
        return "↑leaks" + (": returned" if r == reasons.RETURNED else "")
    if r in (reasons.RETURNED, reasons.ADDRESS_RETURNED):
        return "↑heap: returned"
    if r.startswith(reasons.PACKAGE_VARIABLE):
        return "↑heap: global"
    if r.startswith("converted to an interface"):
        return "↑heap: interface"
    if r == reasons.CAPTURED:
        return "↑heap: captured"
    if r == reasons.GOROUTINE:
        return "↑heap: goroutine"
    if r == reasons.TOO_LARGE:
        return "↑heap: too large"
    if r == reasons.NON_CONSTANT:
        return "↑heap: size"
    return "↑heap"


def keep_on_stack(f: Finding) -> str:
    """One or two sentences of advice."""
    r = f.reason
    if f.kind is Kind.LEAKING_PARAM:
        return (
            "Callers must put what they pass here on the heap. If this function only reads "
            "the value, keep it from being stored, returned or passed to code the compiler "
            "cannot see through (interface methods, function values)."
        )
    if r in (reasons.RETURNED, reasons.ADDRESS_RETURNED):
        return (
            "Return the value itself rather than a pointer to it, or let the caller pass in "
            "the memory to fill (`func (c *Config) Init(...)`). Small structs are cheap to copy."
        )
    if r.startswith(reasons.PACKAGE_VARIABLE):
        return (
            "A package variable lives for the whole program, so whatever it points to must "
            "too. Store a copy, or keep the value local."
        )
    if r.startswith("converted to an interface"):
        return (
            "Putting a non-pointer value into an interface boxes it. Pass the concrete type, "
            "or make the parameter a type parameter (`func F[T Shape](s T)`) so nothing is "
            "boxed."
        )
    if r == reasons.CAPTURED:
        return (
            "A closure that outlives the function takes its captured variables with it. Pass "
            "the value to the closure as an argument, or keep the closure from escaping."
        )
    if r == reasons.GOROUTINE:
        return "A goroutine may outlive the call; pass values to it by copy."
    if r == reasons.TOO_LARGE:
        return (
            "Reuse one buffer across calls (a `sync.Pool`, or a field) or make it smaller "
            "than the compiler's stack limit."
        )
    if r == reasons.NON_CONSTANT:
        return "Use a constant size when a small bound is known: `make([]T, 0, 64)`."
    if r.startswith("appended to a slice"):
        return "The slice it is appended to outlives the call; keep that slice local."
    if r.startswith("passed to"):
        return (
            "The function it is passed to keeps it (its parameter leaks). Change that "
            "function if it is yours, or pass a copy."
        )
    if r.startswith("stored in"):
        return "It is stored somewhere that outlives the call; store a copy instead."
    return "See the flow below for where the value leaves the function."

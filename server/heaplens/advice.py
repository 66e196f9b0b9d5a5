"""What would keep a value on the stack, and the short labels editors show inline.

Keyed by the reason ``reasons`` gave, so every presentation (hover, inlay hint, CLI)
says the same thing.
"""

from __future__ import annotations

from . import kinds
from .model import Finding, Kind, ReasonCode

C = ReasonCode

#: The word a reason adds to a heap kind's inlay label (``↑heap: returned``).
_LABELS = {
    C.RETURNED: "returned",
    C.ADDRESS_RETURNED: "returned",
    C.PACKAGE_VARIABLE: "global",
    C.INTERFACE: "interface",
    C.FUNC_VALUE_PASSED: "closure",
    C.CAPTURED: "captured",
    C.GOROUTINE: "goroutine",
    C.TOO_LARGE: "too large",
    C.NON_CONSTANT_SIZE: "size",
}


def short_label(f: Finding) -> str:
    """A few characters for an inlay hint: ``↑heap``, ``↑heap: returned``...

    The start is the kind's (from the table of kinds); a reason adds a word."""
    base = kinds.info(f.kind).inlay_label or "↑heap"
    code = f.reason.code
    if f.kind is Kind.LEAKING_PARAM:
        return base + (": returned" if code is C.RETURNED else "")
    word = _LABELS.get(code)
    return f"{base}: {word}" if word else base


_ADVICE = {
    C.RETURNED: (
        "Return the value itself rather than a pointer to it, or let the caller pass in "
        "the memory to fill (`func (c *Config) Init(...)`). Small structs are cheap to copy."
    ),
    C.PACKAGE_VARIABLE: (
        "A package variable lives for the whole program, so whatever it points to must "
        "too. Store a copy, or keep the value local."
    ),
    C.INTERFACE: (
        "Putting a non-pointer value into an interface boxes it. Pass the concrete type, "
        "or make the parameter a type parameter (`func F[T Shape](s T)`) so nothing is "
        "boxed."
    ),
    C.FUNC_VALUE_PASSED: (
        "A method value or func literal that a callee keeps is a closure on the heap, with "
        "what it captures. Pass a value the callee calls a method on, or keep the func "
        "value from being stored."
    ),
    C.CAPTURED: (
        "A closure that outlives the function takes its captured variables with it. Pass "
        "the value to the closure as an argument, or keep the closure from escaping."
    ),
    C.GOROUTINE: "A goroutine may outlive the call; pass values to it by copy.",
    C.TOO_LARGE: (
        "Reuse one buffer across calls (a `sync.Pool`, or a field) or make it smaller "
        "than the compiler's stack limit."
    ),
    C.NON_CONSTANT_SIZE: "Use a constant size when a small bound is known: `make([]T, 0, 64)`.",
    C.APPENDED: "The slice it is appended to outlives the call; keep that slice local.",
    C.KEPT_BY_CALLEE: (
        "The function it is passed to keeps it (its parameter leaks). Change that "
        "function if it is yours, or pass a copy."
    ),
    C.VARIADIC_KEPT: (
        "The function it is passed to keeps its ... arguments. Change that function if it "
        "is yours, or pass a copy."
    ),
    C.STORED: "It is stored somewhere that outlives the call; store a copy instead.",
    C.STORED_IN_ESCAPING: "It is stored somewhere that outlives the call; store a copy instead.",
    C.MAP_KEY: "It is stored somewhere that outlives the call; store a copy instead.",
    C.KEPT_BY_OBJECT: (
        "A heap object holds it. Keep that object on the stack, or store a copy in it."
    ),
}
_ADVICE[C.ADDRESS_RETURNED] = _ADVICE[C.RETURNED]


def keep_on_stack(f: Finding) -> str:
    """One or two sentences of advice."""
    if f.kind is Kind.LEAKING_PARAM:
        return (
            "Callers must put what they pass here on the heap. If this function only reads "
            "the value, keep it from being stored, returned or passed to code the compiler "
            "cannot see through (interface methods, function values)."
        )
    return _ADVICE.get(f.reason.code, "See the flow below for where the value leaves the function.")

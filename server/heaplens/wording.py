"""The words a person reads: finding headlines, reasons and flow steps, from the model.

Every presentation (text report, SARIF, diagnostics, hover, inlay hints) takes its words
from here, so they agree, and none of them shows a compiler name: results are "the
result", not ``~r0``; temporaries are what the source says, not ``.autotmp_3``; the heap
is "the heap", not ``{heap}``. Only the JSON report's ``message`` keeps the compiler's
verdict verbatim, for tools that match on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import kinds
from .model import Finding, FlowStep, Kind, Leak, Reason, ReasonCode

RETURNED = "returned to the caller"


def reason_text(reason: Reason, kind: Kind | None = None) -> str:
    """``Reason(INTERFACE, "fmt.Sprintf")`` → "converted to an interface for fmt.Sprintf"."""
    text = _reason_words(reason, kind)
    if text and reason.inlined_from:
        text += f"; from {reason.inlined_from}, inlined here"
    return tidy(text)


def _reason_words(r: Reason, kind: Kind | None) -> str:
    code, name = r.code, r.name
    if code is ReasonCode.RETURNED:
        return f"{RETURNED} (as {name})" if name else RETURNED
    if code is ReasonCode.ADDRESS_RETURNED:
        return "its address is returned to the caller"
    if code is ReasonCode.PACKAGE_VARIABLE:
        return f"stored in a package variable ({name})" if name else "stored in a package variable"
    if code is ReasonCode.INTERFACE:
        return f"converted to an interface for {name}" if name else "converted to an interface"
    if code is ReasonCode.FUNC_VALUE_PASSED:
        return f"a closure passed to {name}, which keeps it"
    if code is ReasonCode.KEPT_BY_CALLEE:
        if kind is Kind.LEAKING_PARAM:
            return f"passed to {name}, which may keep it"
        return f"passed to {name}, which lets it escape"
    if code is ReasonCode.VARIADIC_KEPT:
        return (
            f"passed to {name}, which keeps its ... arguments"
            if name
            else "passed in ... arguments that escape"
        )
    if code is ReasonCode.APPENDED:
        return "appended to a slice that outlives the call"
    if code is ReasonCode.STORED:
        return f"stored in {name}, which outlives the call"
    if code is ReasonCode.STORED_IN_ESCAPING:
        return f"stored in {name}, which escapes"
    if code is ReasonCode.PLACED_IN:
        return f"placed in {name}, which escapes"
    if code is ReasonCode.MAP_KEY:
        return f"used as a key in {name}, which outlives the call"
    if code is ReasonCode.KEPT_BY_OBJECT:
        then = r.then
        if then is not None and then.code is ReasonCode.RETURNED and not then.name:
            return f"kept by the {name} returned to the caller"
        if then is not None:
            return f"kept by {name}, which is on the heap: {reason_text(then)}"
        return f"kept by {name}, which is on the heap"
    if code is ReasonCode.SENT:
        return "sent on a channel"
    if code is ReasonCode.CAPTURED:
        return "captured by a closure"
    if code is ReasonCode.GOROUTINE:
        return "used by a goroutine, which may outlive the call"
    if code is ReasonCode.CALLED_FUNC_VALUE:
        return "used as a function value that escapes"
    if code is ReasonCode.TOO_LARGE:
        return "too large for the stack"
    if code is ReasonCode.NON_CONSTANT_SIZE:
        return "size not known at compile time"
    if code is ReasonCode.UNEXPLAINED:
        return "kept beyond the call" if kind is Kind.LEAKING_PARAM else "flows to the heap"
    if code is ReasonCode.BOUNDS_CHECK:
        return "the compiler cannot prove it is within bounds"
    if code is ReasonCode.NIL_CHECK:
        return "the compiler cannot prove the pointer is not nil"
    return ""  # INLINING: the headline says it all


def headline(f: Finding) -> str:
    """The finding in one line, in the compiler's terms but with the source's names:
    ``moved to heap: x``, ``hex.EncodeToString(b) escapes to heap``, ``leaking param: p``."""
    if f.kind is Kind.MOVED_TO_HEAP:
        text = f"moved to heap: {f.subject}"
    elif f.kind is Kind.ESCAPES_TO_HEAP:
        text = f"{f.subject} escapes to heap"
    elif f.kind is Kind.LEAKING_PARAM and f.leak is not None:
        text = leak_text(f.subject, f.leak)
    else:
        text = tidy(f.message)
    if f.count > 1:
        text += f" (×{f.count})"
    return text


def leak_text(name: str, leak: Leak) -> str:
    """``leaking param content: p; leaking param: p to the result``."""
    parts = []
    if leak.heap_derefs is not None:
        parts.append(
            f"leaking param: {name}" if leak.heap_derefs == 0 else f"leaking param content: {name}"
        )
    single = len(leak.results) == 1
    for result, derefs in leak.results:
        what = "leaking param" if derefs == 0 else "leaking param content"
        parts.append(f"{what}: {name} to {_result_name(result, single)}")
    return "; ".join(parts)


def message(f: Finding, separator: str = " — ") -> str:
    """Headline and reason: what diagnostics and the text report show."""
    text = headline(f)
    why = reason_text(f.reason, f.kind)
    # An inlining note's headline already says why (``cannot inline F: too complex``).
    return f"{text}{separator}{why}" if why and kinds.info(f.kind).escape else text


def step_text(step: FlowStep) -> str:
    """A flow step in source terms: ``return &x (return)`` stays, ``~r0 = x`` becomes
    ``the result = x``."""
    what = tidy(step.what)
    return f"{what} ({step.why})" if step.why else what


def destination(step: FlowStep) -> str:
    """Where a step's value goes: "the heap", "the result", a variable."""
    return tidy(step.dst)


def _result_name(result: str, single: bool) -> str:
    m = _RESULT.fullmatch(result)
    if m is None:
        return f"result {result}"
    return "the result" if single and m.group(1) == "0" else f"result {int(m.group(1)) + 1}"


_RESULT = re.compile(r"~[rR](\d+)")

#: Compiler names and how a person would say them, most specific first.
_INTERNALS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # A leak's level only where the compiler writes it, after a result: a string in the
    # source may well say "level=3".
    (re.compile(r"to result ~[rR]0 level=-?\d+"), "to the result"),
    (
        re.compile(r"to result ~[rR](\d+) level=-?\d+"),
        lambda m: f"to result {int(m.group(1)) + 1}",
    ),
    (re.compile(r"(to result \S+) level=-?\d+"), r"\1"),
    (re.compile(r"&?\{storage for ([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}"), r"\1"),
    (re.compile(r"\{heap\}"), "the heap"),
    (re.compile(r"\{temp\}"), "a temporary"),
    (re.compile(r"#state\d+"), "the range-over-func loop's state"),
    (re.compile(r"#yield\d+"), "the range-over-func loop's body"),
    (re.compile(r"#next\d*"), "the range-over-func loop's state"),
    (re.compile(r"\.autotmp_\d+"), "a temporary"),
    (re.compile(r"\.\.stmp_\d+"), "package data"),
    (re.compile(r"~[rR]0\b"), "the result"),
    (re.compile(r"~[rR](\d+)\b"), lambda m: f"result {int(m.group(1)) + 1}"),
    (re.compile(r"~[pb]\d+\b"), "a parameter"),
    (re.compile(r" with derefs=-?\d+"), ""),
)


def tidy(text: str) -> str:
    """Compiler names in ``text`` replaced by plain words; ``F[go.shape.int]`` → ``F[...]``."""
    out = _shapes(text)
    if not any(c in out for c in "{.~=#") or not _MAYBE_INTERNAL.search(out):
        return out
    for pattern, repl in _INTERNALS:
        out = pattern.sub(repl, out)
    return out


_MAYBE_INTERNAL = re.compile(
    r"\{heap\}|\{temp\}|\{storage for|autotmp_|stmp_|~[rRpb]\d|level=-?\d|derefs="
    r"|#state|#yield|#next"
)


def _shapes(text: str) -> str:
    """The compiler's names for a generic function's instantiations, ``F[go.shape.int]``,
    read as ``F[...]``: a shape is an implementation detail nobody wrote."""
    out = text
    searched = 0
    while (at := out.find("go.shape.", searched)) >= 0:
        # The innermost bracket pair around this shape: its type arguments.
        depth = 0
        start = -1
        for i in range(at - 1, -1, -1):
            if out[i] == "]":
                depth += 1
            elif out[i] == "[":
                if depth == 0:
                    start = i
                    break
                depth -= 1
        end = -1
        if start >= 0:
            depth = 0
            for i in range(start, len(out)):
                depth += {"[": 1, "]": -1}.get(out[i], 0)
                if depth == 0:
                    end = i
                    break
        if start < 0 or end < 0:
            # Not within brackets: drop the prefix alone.
            out = out[:at] + out[at + len("go.shape.") :]
            searched = at
            continue
        out = out[:start] + "[...]" + out[end + 1 :]
        searched = start + len("[...]")
    return out


def has_internals(text: str) -> bool:
    """Whether ``text`` shows a compiler name a person should never read."""
    return bool(_MAYBE_INTERNAL.search(text)) or "go.shape." in text

"""Assertions written in the source, judged against the compiler's verdicts on one file.

``//heaplens:noescape`` and gcassert's ``//gcassert:noescape``, ``//gcassert:bce`` and
``//gcassert:inline`` say what the compiler must decide. A directive sits on the line
above what it applies to (in a function's doc comment, above a statement or above a
parameter of a multi-line list) or at the end of its line. ``check`` finds, on the
tree-sitter tree, the statement, function or parameter each one applies to, and answers
a finding of kind ``assertion`` for each one the compiler broke, with the offending
verdicts as its flow; a directive heaplens cannot read (a misspelt word, one that
applies to nothing) is a finding of kind ``directive``. An assertion that holds says
nothing.

What each directive covers:

* ``//heaplens:noescape`` on a statement: no ``escapes-to-heap`` or ``moved-to-heap``
  verdict inside the statement's whole range (a ``for`` or ``if`` includes its body).
* on a function: none inside the function, and no parameter (or receiver) that leaks to
  the heap. ``//heaplens:noescape p, q`` above a function asserts it of those parameters
  only.
* on a parameter: it does not leak to the heap (itself or what it points to). A leak
  only to a result does not count: the result is the caller's, and the caller's own
  escape analysis says whether that allocates.
* gcassert's directives judge the verdicts on the first line of what they apply to, as
  gcassert does (it matches the compiler's output by line): ``noescape`` fails on a value
  escaping or moved to the heap there and on ``leaking param:`` (to the heap, or to a
  result: gcassert counts both); ``bce`` on a bounds check (the log's ``isInBounds`` /
  ``isSliceInBounds``, which are gcassert's ``Found IsInBounds`` lines: findings of kind
  ``bounds-check``, made whatever kinds are shown); ``inline`` on a function declaration
  fails when the compiler cannot inline the function. The ``-json`` log never records a
  call that was inlined, so gcassert's "every call of this function is inlined" is not
  checked, and ``inline`` on a statement ("some call on it is inlined") fails only when
  every call on its first line is to a function of the file the compiler cannot inline.

The findings judged are those ``//heaplens:ignore`` (``suppress``) left: a verdict the
user accepted in so many words breaks no assertion. Pure engine code: no LSP, no
compiler runs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from . import wording
from .model import (
    HEAP_KINDS,
    NO_REASON,
    Finding,
    FlowStep,
    Kind,
    Location,
    Position,
    Range,
)
from .syntax import SourceFile, nodes_of_type

if TYPE_CHECKING:
    from tree_sitter import Node

#: The words after ``//heaplens:`` that mean something (``ignore`` is ``suppress``'s).
HEAPLENS_WORDS = ("noescape", "ignore")
#: gcassert's words, with gcassert's meaning.
GCASSERT_WORDS = ("noescape", "bce", "inline")

# A word right after the colon: "// heaplens: prose" is no directive.
_HEAPLENS = re.compile(r"//\s*heaplens:([\w-]+)(.*)")
# As gcassert reads its directives: at most one space after the slashes, a comma list.
_GCASSERT = re.compile(r"// ?gcassert:([\w,]+)")
_NAMES = re.compile(r"[A-Za-z_]\w*")
#: Where a statement, a declaration or a parameter is a child.
_CONTAINERS = frozenset({"source_file", "statement_list", "block", "parameter_list"})
_FUNCTIONS = frozenset({"function_declaration", "method_declaration"})
_PARAMETERS = frozenset({"parameter_declaration", "variadic_parameter_declaration"})
#: How many offending verdicts a message names before "and N more".
_SHOWN = 3

TargetKind = Literal["statement", "function", "parameter"]


@dataclass(frozen=True)
class _Directive:
    """One directive word of one comment, and what it applies to."""

    #: As written: ``//heaplens:noescape``, ``//gcassert:bce``.
    text: str
    word: str
    gcassert: bool
    comment: Range
    #: For ``//heaplens:noescape p, q`` above a function: the parameters named.
    names: tuple[str, ...]
    target: Node | None


@dataclass(frozen=True)
class _Target:
    kind: TargetKind
    node: Node
    #: Where the broken assertion is reported: the statement or parameter, or the
    #: function's name.
    at: Range


def check(src: SourceFile, findings: Sequence[Finding]) -> list[Finding]:
    """The broken assertions and unreadable directives of ``src``, judged against its
    ``findings``: those of its compile, of every kind (bounds checks too), before any
    report filters them."""
    if b"heaplens:" not in src.source and b"gcassert:" not in src.source:
        return []
    mine = [f for f in findings if f.file == src.path]
    out: list[Finding] = []
    for d in _directives(src):
        out.extend(_judge(src, d, mine))
    return out


def _directives(src: SourceFile) -> list[_Directive]:
    out: list[_Directive] = []
    for comment in src.nodes_of_type("comment"):
        text = (comment.text or b"").decode("utf-8", "replace")
        at = _span(src, comment)
        target = _target_node(src, comment)
        m = _HEAPLENS.search(text)
        if m is not None and m.group(1) != "ignore":
            names = tuple(_NAMES.findall(m.group(2)))
            out.append(_Directive(f"//heaplens:{m.group(1)}", m.group(1), False, at, names, target))
        g = _GCASSERT.search(text)
        if g is not None:
            for word in g.group(1).split(","):
                out.append(_Directive(f"//gcassert:{word}", word, True, at, (), target))
    return out


def _span(src: SourceFile, node: Node) -> Range:
    return Range(src.position(node.start_byte), src.position(node.end_byte))


def _target_node(src: SourceFile, comment: Node) -> Node | None:
    """What a directive comment applies to: the next statement, declaration or
    parameter for a comment on a line of its own; for one at the end of a line, what
    ends there (the statement, the parameter, or the function or statement whose ``{``
    or ``(`` ends the line)."""
    line_start = src.line_starts[comment.start_point.row]
    if not src.source[line_start : comment.start_byte].strip():
        after = comment.next_named_sibling
        while after is not None and after.type == "comment":
            after = after.next_named_sibling
        return after
    before = comment.prev_named_sibling
    while before is not None and before.type == "comment":
        before = before.prev_named_sibling
    if before is not None:
        return before
    node = comment.parent
    if node is not None and node.type in _CONTAINERS:
        node = node.parent
    while node is not None and node.parent is not None and node.parent.type not in _CONTAINERS:
        node = node.parent
    return node


def _target(src: SourceFile, node: Node) -> _Target:
    if node.type in _FUNCTIONS:
        name = node.child_by_field_name("name")
        return _Target("function", node, _span(src, name if name is not None else node))
    if node.type in _PARAMETERS:
        return _Target("parameter", node, _span(src, node))
    return _Target("statement", node, _span(src, node))


def _judge(src: SourceFile, d: _Directive, findings: Sequence[Finding]) -> list[Finding]:
    words = GCASSERT_WORDS if d.gcassert else HEAPLENS_WORDS
    if d.word not in words:
        return [_unknown(src, d, words)]
    if d.target is None:
        return [
            _warning(
                src,
                d,
                f"{d.text} applies to nothing: put it on the line above a "
                "statement, a function or a parameter, or at the end of its line",
            )
        ]
    target = _target(src, d.target)
    if d.gcassert:
        return _judge_gcassert(src, d, target, findings)
    return _judge_noescape(src, d, target, findings)


def _judge_noescape(
    src: SourceFile, d: _Directive, t: _Target, findings: Sequence[Finding]
) -> list[Finding]:
    span = _span(src, t.node)
    if t.kind == "function" and d.names:
        return _judge_named_parameters(src, d, t, findings)
    if t.kind == "parameter":
        bad = [f for f in findings if _heap_leak(f) and span.contains(_at(f))]
    else:
        bad = [f for f in findings if f.kind in HEAP_KINDS and span.contains(_at(f))]
        if t.kind == "function":
            bad += [f for f in findings if _heap_leak(f) and span.contains(_at(f))]
    return [_broken(src, d, t.at, bad)] if bad else []


def _judge_named_parameters(
    src: SourceFile, d: _Directive, t: _Target, findings: Sequence[Finding]
) -> list[Finding]:
    """``//heaplens:noescape p, q`` above a function: each parameter named."""
    params = _parameters(t.node)
    out: list[Finding] = []
    for name in d.names:
        node = params.get(name)
        if node is None:
            known = ", ".join(sorted(params)) or "none"
            out.append(
                _warning(
                    src,
                    d,
                    f"{d.text} {name}: the function has no parameter "
                    f"{name} (its parameters: {known})",
                )
            )
            continue
        span = _span(src, node)
        bad = [f for f in findings if _heap_leak(f) and span.contains(_at(f))]
        if bad:
            out.append(_broken(src, d, span, bad, f" {name}"))
    return out


def _parameters(fn: Node) -> dict[str, Node]:
    """A function's receiver and parameters by name (the name's identifier)."""
    out: dict[str, Node] = {}
    for field in ("receiver", "parameters"):
        plist = fn.child_by_field_name(field)
        for decl in plist.named_children if plist is not None else []:
            if decl.type in _PARAMETERS:
                for ident in decl.children_by_field_name("name"):
                    out[(ident.text or b"").decode("utf-8", "replace")] = ident
    return out


def _judge_gcassert(
    src: SourceFile,
    d: _Directive,
    t: _Target,
    findings: Sequence[Finding],
) -> list[Finding]:
    """gcassert's meaning: the verdicts on the first line of what the directive applies
    to (gcassert matches the compiler's output to a node by its line)."""
    line = t.node.start_point.row + 1
    on_line = [f for f in findings if _at(f).line == line]
    if d.word == "noescape":
        bad = [f for f in on_line if f.kind in HEAP_KINDS or _gcassert_leak(f)]
        return [_broken(src, d, t.at, bad)] if bad else []
    if d.word == "bce":
        bad = [f for f in on_line if f.kind is Kind.BOUNDS_CHECK]
        return [_broken(src, d, t.at, bad)] if bad else []
    if t.kind != "function":
        return _judge_inline_statement(src, d, t, findings)
    name = t.at
    bad = [f for f in findings if f.kind is Kind.CANNOT_INLINE and _at(f).line == name.start.line]
    return [_broken(src, d, t.at, bad)] if bad else []


def _judge_inline_statement(
    src: SourceFile, d: _Directive, t: _Target, findings: Sequence[Finding]
) -> list[Finding]:
    """gcassert holds ``inline`` on a statement when some call on its first line is
    inlined. The log never says that a call was; it does say which functions of this file
    cannot be inlined. So the assertion breaks only when every call on that line is a
    call, by its plain name, of one of those: then none can have been inlined."""
    line = t.node.start_point.row + 1
    cannot = {
        f.subject: f for f in findings if f.kind is Kind.CANNOT_INLINE and "." not in f.subject
    }
    calls = [c for c in nodes_of_type(t.node, "call_expression") if c.start_point.row + 1 == line]
    names = [_callee(c) for c in calls]
    if not names or any(n not in cannot for n in names):
        return []
    return [_broken(src, d, t.at, [cannot[n] for n in dict.fromkeys(names)])]


def _callee(call: Node) -> str:
    """The called function's plain name ("" for a method, a func value's call...)."""
    fn = call.child_by_field_name("function")
    if fn is None or fn.type != "identifier":
        return ""
    return (fn.text or b"").decode("utf-8", "replace")


def _at(f: Finding) -> Position:
    return f.point or f.range.start


def _heap_leak(f: Finding) -> bool:
    return f.kind is Kind.LEAKING_PARAM and f.leak is not None and f.leak.heap_derefs is not None


def _gcassert_leak(f: Finding) -> bool:
    """What gcassert's ``leaking param:`` matches: the parameter itself to the heap, or
    to a result at any level (``leaking param content:`` does not match)."""
    if f.kind is not Kind.LEAKING_PARAM or f.leak is None:
        return False
    return f.leak.heap_derefs == 0 or bool(f.leak.results)


def _verdict(f: Finding) -> str:
    why = wording.reason_text(f.reason, f.kind) if f.kind in HEAP_KINDS else ""
    return f"{wording.headline(f)} ({why})" if why else wording.headline(f)


def _broken(
    src: SourceFile, d: _Directive, at: Range, bad: Sequence[Finding], after: str = ""
) -> Finding:
    said = [_verdict(f) for f in bad]
    flow = tuple(FlowStep(Location(f.file, _at(f)), _verdict(f), "", "") for f in bad)
    return _finding(src, Kind.ASSERTION, at, f"{d.text}{after} broken: {_listed(said)}", d, flow)


def _listed(said: Sequence[str]) -> str:
    """The first few verdicts, and how many more."""
    text = "; ".join(said[:_SHOWN])
    return text + (f"; and {len(said) - _SHOWN} more" if len(said) > _SHOWN else "")


def _unknown(src: SourceFile, d: _Directive, words: Sequence[str]) -> Finding:
    prefix = "//gcassert:" if d.gcassert else "//heaplens:"
    close = difflib.get_close_matches(d.word, words, n=1)
    hint = f"did you mean {prefix}{close[0]}? " if close else ""
    known = ", ".join(prefix + w for w in words)
    return _warning(
        src, d, f"unknown directive {d.text}: {hint}heaplens knows {known}; it asserts nothing"
    )


def _warning(src: SourceFile, d: _Directive, message: str) -> Finding:
    return _finding(src, Kind.DIRECTIVE, d.comment, message, d, ())


def _finding(
    src: SourceFile,
    kind: Kind,
    at: Range,
    message: str,
    d: _Directive,
    flow: tuple[FlowStep, ...],
) -> Finding:
    return Finding(
        kind=kind,
        file=src.path,
        range=at,
        message=message,
        reason=NO_REASON,
        function=src.function_at(at.start),
        flow=flow,
        point=at.start,
        subject=d.text,
    )

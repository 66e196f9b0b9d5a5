"""``sync-pool``: a per-call scratch value that escapes only because it is handed to an
interface or to a callee the compiler cannot see through is taken from a package-level
``sync.Pool`` instead, reset, and put back when the function returns.

It is offered only when:

* the value is ``&bytes.Buffer{}``, ``new(bytes.Buffer)``, ``new(T)`` or ``&T{...}`` of a
  user type, or ``make([]T, N)`` with a constant ``N``, bound by ``v := ...`` at the top
  level of a function body (not in a loop, branch or closure);
* the compiler's flow reaches no result and no package variable, and the reason is an
  interface conversion or a call that lets it escape;
* ``v`` is only used as a receiver, an argument, indexed, sliced or ranged over: never
  returned, stored, sent, reassigned, captured by a closure or a goroutine;
* no function of this package that it is passed to keeps its parameter in a package
  variable or returns it (that would need the pointer's identity to live on).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import reasons
from ..model import Finding, Kind
from ..syntax import SourceFile
from .edits import Edit
from .imports import ensure_import
from .model import SYNC_POOL, Alternative, Candidate
from .treeutil import ancestor, line_indent, line_start, text, walk

if TYPE_CHECKING:
    from tree_sitter import Node

_FUNCS = ("function_declaration", "method_declaration")


def candidates(findings: list[Finding], src: SourceFile) -> list[Candidate]:
    keepers = _parameters_kept(findings)
    out = []
    for f in findings:
        if f.kind is not Kind.ESCAPES_TO_HEAP or f.file != src.path:
            continue
        cand = _candidate(f, src, keepers)
        if cand is not None:
            out.append(cand)
    return out


def _parameters_kept(findings: list[Finding]) -> set[str]:
    """Functions of this package whose parameters live on after the call."""
    kept = set()
    for f in findings:
        if f.kind is Kind.LEAKING_PARAM and (
            f.reason.startswith(reasons.PACKAGE_VARIABLE) or f.reason == reasons.RETURNED
        ):
            kept.add(f.function)
    return kept


def _candidate(f: Finding, src: SourceFile, keepers: set[str]) -> Candidate | None:
    if not f.subject.startswith(("&", "new(", "make(")):
        return None  # only allocations can come from a pool
    if not (f.reason.startswith("converted to an interface") or f.reason.startswith("passed to")):
        return None
    # A result of this function ends the chain, or a return statement of its own (not of
    # a callee inlined into it, whose result temporaries are also named ~r0).
    own = [s for s in f.flow if s.inlined_from is None]
    if any(s.why == "return" for s in own) or (f.flow and reasons.is_result(f.flow[-1].dst)):
        return None
    for step in f.flow:
        if step.why == "call parameter":
            callee = reasons.callee(step.what)
            if callee in keepers or callee.split(".")[-1] in {k.split(".")[-1] for k in keepers}:
                return None
    offset = src.offset(f.point or f.range.start)
    if offset is None:
        return None
    node = src.tree.root_node.descendant_for_byte_range(offset, offset)
    expr = _allocation(node)
    if expr is None:
        return None
    shape = _shape(expr, src)
    if shape is None:
        return None
    decl = expr.parent.parent if expr.parent is not None else None  # expression_list → decl
    if decl is None or decl.type != "short_var_declaration":
        return None
    left = decl.child_by_field_name("left")
    right = decl.child_by_field_name("right")
    if (
        left is None
        or right is None
        or len(left.named_children) != 1
        or len(right.named_children) != 1
    ):
        return None
    var = text(left.named_children[0])
    fn = ancestor(decl, (*_FUNCS, "func_literal"))
    if fn is None or fn.type not in _FUNCS:
        return None
    body = fn.child_by_field_name("body")
    if body is None or decl.parent is None or decl.parent.parent is None:
        return None
    if decl.parent.parent.id != body.id:
        return None  # not at the top level of the function body
    if not _only_borrowed(var, decl, body):
        return None
    return _rewrite(f, src, fn, decl, var, shape)


def _allocation(node: Node | None) -> Node | None:
    cur = node
    while cur is not None and cur.type not in ("unary_expression", "call_expression"):
        if cur.type in ("block", "short_var_declaration"):
            return None
        cur = cur.parent
    return cur


class _Shape:
    def __init__(self, kind: str, type_text: str, init: str, size: str = "") -> None:
        self.kind = kind  # "buffer", "value", "slice"
        self.type_text = type_text
        self.init = init  # how to reset a value: its initial composite, or ""
        self.size = size


def _shape(expr: Node, src: SourceFile) -> _Shape | None:
    if expr.type == "unary_expression" and text(expr.child_by_field_name("operator")) == "&":
        lit = expr.child_by_field_name("operand")
        if lit is None or lit.type != "composite_literal":
            return None
        typ = text(lit.child_by_field_name("type"))
        if typ in ("bytes.Buffer", "strings.Builder"):
            body = lit.child_by_field_name("body")
            return (
                _Shape("buffer", typ, "") if body is not None and not body.named_children else None
            )
        if _is_user_type(typ, src):
            return _Shape("value", typ, text(lit))
        return None
    if expr.type != "call_expression":
        return None
    fn = text(expr.child_by_field_name("function"))
    args = expr.child_by_field_name("arguments")
    named = args.named_children if args is not None else []
    if fn == "new" and len(named) == 1:
        typ = text(named[0])
        if typ in ("bytes.Buffer", "strings.Builder"):
            return _Shape("buffer", typ, "")
        if _is_user_type(typ, src):
            return _Shape("value", typ, "")
    if fn == "make" and len(named) == 2 and named[0].type == "slice_type":
        size = text(named[1])
        if re.match(r"^(\d+|\d+ ?[*<]+ ?\d+|[A-Z_a-z]\w*)$", size) and (
            size[0].isdigit() or _is_constant(size, src)
        ):
            return _Shape("slice", text(named[0]), "", size)
    return None


def _is_user_type(name: str, src: SourceFile) -> bool:
    return bool(re.match(r"^[A-Za-z_]\w*$", name)) and name in src.declared_types


def _is_constant(name: str, src: SourceFile) -> bool:
    return any(
        text(c) == name
        for n in src.nodes_of_type("const_spec")
        for c in n.children_by_field_name("name")
    )


def _only_borrowed(var: str, decl: Node, body: Node) -> bool:
    """``var`` is used only as a receiver or an argument after its declaration."""
    for n in walk(body):
        if n.type != "identifier" or text(n) != var or n.start_byte < decl.end_byte:
            continue
        if ancestor(n, ("func_literal", "go_statement")) is not None:
            return False
        parent = n.parent
        if parent is None:
            return False
        operand = parent.child_by_field_name("operand")
        if parent.type in ("selector_expression", "slice_expression", "index_expression") and (
            operand == n
        ):
            continue  # v.Method(), v[i], v[:n]
        if parent.type in ("argument_list", "range_clause"):
            continue
        return False
    return True


def _pool_name(var: str, src: SourceFile) -> str:
    taken = set(src.package_vars()) | src.declared_names
    base = f"{var}Pool"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}{i}", i + 1
    return name


def _rewrite(
    f: Finding, src: SourceFile, fn: Node, decl: Node, var: str, shape: _Shape
) -> Candidate:
    source = src.source
    pool = _pool_name(var, src)
    indent = line_indent(source, decl.start_byte)
    if shape.kind == "buffer":
        new = f"new({shape.type_text})"
        lines = [
            f"{var} := {pool}.Get().(*{shape.type_text})",
            f"{var}.Reset()",
            f"defer {pool}.Put({var})",
        ]
    elif shape.kind == "value":
        new = f"new({shape.type_text})"
        reset = f"*{var} = {shape.init}" if shape.init else f"*{var} = *new({shape.type_text})"
        lines = [f"{var} := {pool}.Get().(*{shape.type_text})", reset, f"defer {pool}.Put({var})"]
    else:
        new = f"s := make({shape.type_text}, {shape.size}); return &s"
        holder = f"{var}p"
        lines = [
            f"{holder} := {pool}.Get().(*{shape.type_text})",
            f"defer {pool}.Put({holder})",
            f"{var} := (*{holder})[:{shape.size}]",
            f"clear({var}) // make returned zeroed memory; a pooled slice is not",
        ]
    body = ("\n" + indent).join(lines)
    new_fn = (
        f"func() any {{ return {new} }}" if shape.kind != "slice" else f"func() any {{ {new} }}"
    )
    pool_decl = f"var {pool} = sync.Pool{{New: {new_fn}}}\n\n"
    anchor = _before_doc_comment(fn, source)
    edits = [
        Edit(decl.start_byte, decl.end_byte, body),
        Edit(anchor, anchor, pool_decl),
        *ensure_import(src, "sync"),
    ]
    summary = f"Reuse {var} through a sync.Pool ({pool})"
    return Candidate(
        kind=SYNC_POOL,
        file=src.path,
        function=f.function,
        summary=summary,
        anchors=((f.file, f.range),),
        alternatives=(Alternative(tuple(edits), summary),),
        scope_function=src.function_at(src.position(fn.start_byte)),
    )


def _before_doc_comment(fn: Node, source: bytes) -> int:
    """Where a declaration can go above ``fn`` without splitting it from its doc comment."""
    node = fn
    prev = fn.prev_sibling
    while (
        prev is not None
        and prev.type == "comment"
        and prev.end_point.row == node.start_point.row - 1
    ):
        node = prev
        prev = prev.prev_sibling
    return line_start(source, node.start_byte)

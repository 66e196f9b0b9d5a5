"""``type-parameter``: a function parameter of interface type becomes a type parameter
constrained by that interface, so callers no longer box their arguments:
``func F(s Shape)`` → ``func F[S Shape](s S)``.

Offered when the compiler says arguments escape at call sites *because of the conversion
to F's parameter* ("converted to an interface for F"), F is a plain function (methods
cannot have type parameters), the parameter has a name and an interface type of its own,
and F's body uses the parameter only in ways a type parameter allows: no type switch, no
type assertion, no comparison with nil, no assignment.

Whether the rewrite builds, and whether it really removes escapes, verification decides.
When F converts the parameter to an interface anyway (stores it in a ``map[string]any``,
passes it to ``fmt.Sprint`` or to any function taking ``any``), the boxing merely moves
from the call sites into F, once per call as before: the compiler then reports the
parameter escaping (or leaking into an interface) inside the rewritten F, and
``still_boxed`` refuses the fix, whatever the count of findings says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import HEAP_KINDS, Finding, Kind, ReasonCode
from ..syntax import BASIC_TYPES, SourceFile, parse_tree
from .edits import Edit
from .fixer import Proposal, Refusal, Stage, Verdict, accept_if_gone, decline, off_the_heap
from .model import TYPE_PARAMETER, Alternative, Candidate
from .treeutil import text, walk

if TYPE_CHECKING:
    from collections.abc import Callable

    from tree_sitter import Node

_INTERFACE_TYPES = ("type_identifier", "qualified_type", "interface_type")


@dataclass(frozen=True)
class TypeParameterCandidate(Candidate):
    """A type-parameter candidate, with the parameter it makes generic."""

    parameter: str = ""


def still_boxed(candidate: TypeParameterCandidate, findings: Iterable[Finding]) -> bool:
    """Whether, in the findings of the rewritten package, F still converts the parameter
    to an interface or lets it escape: then callers allocate as before, only inside F."""
    name = candidate.parameter
    for f in findings:
        if f.file != candidate.file or not (
            f.function == candidate.function or f.function.startswith(candidate.function + ".")
        ):
            continue  # another function; F's closures (F.func1) are F's
        if f.kind in HEAP_KINDS and _is_parameter(f.subject, name):
            return True  # `data escapes to heap`, `any(data) escapes to heap`
        if f.kind is Kind.LEAKING_PARAM and f.subject == name:
            # A pointer-shaped instantiation: the pointer itself leaks to the heap
            # (`leaking param: data`, not `... content`), or is boxed on its way out.
            if f"leaking param: {name}" in f.message.split("; "):
                return True
            if any(s.why == "interface-converted" for s in f.flow):
                return True
    return False


def _is_parameter(subject: str, name: str) -> bool:
    """The compiler's escaping expression is the parameter, or a conversion (or call) of
    it alone: ``data``, ``any(data)``. Read from the subject, not from the finding's
    range: code inlined from a closure is reported where the closure is called."""
    if subject == name:
        return True
    if not subject.endswith(f"({name})"):
        return False  # spares a parse (and the tree cache) for most subjects
    tree = parse_tree(f"package p\n\nvar _ = {subject}\n".encode())
    values = [n for n in walk(tree.root_node) if n.type == "var_spec"]
    value = values[0].child_by_field_name("value") if values else None
    node = value.named_children[0] if value is not None and value.named_children else None
    while node is not None and node.type == "parenthesized_expression":
        node = node.named_children[0] if node.named_children else None
    if node is None or node.type not in ("call_expression", "type_conversion_expression"):
        return False
    if node.type == "type_conversion_expression":
        operands = [node.child_by_field_name("operand")]
    else:
        args = node.child_by_field_name("arguments")
        operands = list(args.named_children) if args is not None else []
    return (
        len(operands) == 1
        and operands[0] is not None
        and operands[0].type == "identifier"
        and text(operands[0]) == name
    )


def candidates(
    findings: list[Finding], source: Callable[[str], SourceFile | None]
) -> list[Candidate]:
    out = []
    # Grouped once by the function they are boxed for: a one-line file can hold a hundred
    # thousand findings, and a scan of all of them per leak is quadratic.
    boxed_for: dict[str, list[Finding]] = {}
    for f in findings:
        if f.kind is Kind.ESCAPES_TO_HEAP and f.reason.code is ReasonCode.INTERFACE:
            boxed_for.setdefault(f.reason.name, []).append(f)
    for leak in findings:
        if leak.kind is not Kind.LEAKING_PARAM or "." in leak.function.replace("(*", "("):
            continue
        callers = boxed_for.get(leak.function, [])
        if not callers:
            continue
        src = source(leak.file)
        if src is None:
            continue
        # Only the arguments boxed for this parameter: a call converting another
        # argument says nothing of it (and a struct parameter cannot be a constraint).
        index = _parameter_index(src, leak)
        callers = [c for c in callers if index is not None and _argument_index(c, source) == index]
        if not callers:
            continue
        cand = _candidate(leak, callers, src)
        if cand is not None:
            out.append(cand)
    return out


def _parameter_index(src: SourceFile, leak: Finding) -> int | None:
    """Where the leaking parameter is in the function's parameter list."""
    fn = _function(src, leak)
    params = fn.child_by_field_name("parameters") if fn is not None else None
    if params is None:
        return None
    index = 0
    for p in params.named_children:
        names = [text(n) for n in p.children_by_field_name("name")] or [""]
        for n in names:
            if n == leak.subject:
                return index
            index += 1
    return None


def _argument_index(caller: Finding, source: Callable[[str], SourceFile | None]) -> int | None:
    """Which argument of the call to the function the boxed value is, read from the
    caller's source: the argument list of the nearest enclosing call of that name."""
    src = source(caller.file)
    if src is None:
        return None
    name = caller.reason.name.rsplit(".", 1)[-1]
    node = src.node_at(caller.point or caller.range.start)
    while node is not None and node.parent is not None:
        args = node.parent
        call = args.parent
        if args.type == "argument_list" and call is not None:
            function = text(call.child_by_field_name("function"))
            if function.rsplit(".", 1)[-1] == name:
                for i, arg in enumerate(args.named_children):
                    if arg.id == node.id:
                        return i
                return None
        node = args
    return None


def _function(src: SourceFile, leak: Finding) -> Node | None:
    node = src.node_at(leak.point or leak.range.start)
    while node is not None and node.type not in ("function_declaration", "method_declaration"):
        node = node.parent
    return node if node is not None and node.type == "function_declaration" else None


def _candidate(leak: Finding, callers: list[Finding], src: SourceFile) -> Candidate | None:
    fn = _function(src, leak)
    if fn is None:
        return None
    params = fn.child_by_field_name("parameters")
    body = fn.child_by_field_name("body")
    if params is None or body is None:
        return None
    decl = None
    for p in params.named_children:
        names = p.children_by_field_name("name")
        if p.type == "parameter_declaration" and any(text(n) == leak.subject for n in names):
            if len(names) != 1:
                return None  # `a, b Shape`: one type parameter would force them equal
            decl = p
    if decl is None:
        return None
    typ = decl.child_by_field_name("type")
    if typ is None or typ.type not in _INTERFACE_TYPES or not _may_be_interface(typ, src):
        return None
    constraint = text(typ)
    if not _allowed_uses(leak.subject, body):
        return None
    tparam = _fresh_name(constraint, fn)
    name_node = fn.child_by_field_name("name")
    existing = fn.child_by_field_name("type_parameters")
    if name_node is None:
        return None
    if existing is not None:
        close = existing.end_byte - 1
        insert = Edit(close, close, f", {tparam} {constraint}")
    else:
        insert = Edit(name_node.end_byte, name_node.end_byte, f"[{tparam} {constraint}]")
    edits = (insert, Edit(typ.start_byte, typ.end_byte, tparam))
    exported = text(name_node)[:1].isupper()
    summary = f"Make {leak.subject} a type parameter: func {text(name_node)}[{tparam} {constraint}]"
    anchors = (leak.file, leak.range), *((c.file, c.range) for c in callers)
    return TypeParameterCandidate(
        kind=TYPE_PARAMETER,
        file=src.path,
        function=leak.function,
        summary=summary,
        anchors=tuple(anchors),
        alternatives=(Alternative(edits, summary),),
        note=f"changes the exported API of {text(name_node)}" if exported else "",
        scope_function="",
        changes_api=exported,
        parameter=leak.subject,
    )


def _may_be_interface(typ: Node, src: SourceFile) -> bool:
    """False for a type known not to be an interface: a predeclared one, or one this file
    declares otherwise. Types declared elsewhere are left to the compiler."""
    if typ.type != "type_identifier":
        return True
    name = text(typ)
    # Callers cannot be boxing for a basic type; as a constraint it would say the type is
    # exactly that.
    if name in BASIC_TYPES:
        return False
    for spec in src.nodes_of_type("type_spec"):
        if text(spec.child_by_field_name("name")) == name:
            declared = spec.child_by_field_name("type")
            return declared is not None and declared.type in (
                "interface_type",
                "type_identifier",
                "qualified_type",
            )
    return True


def _allowed_uses(name: str, body: Node) -> bool:
    for n in walk(body):
        if n.type == "type_assertion_expression" and text(n.child_by_field_name("operand")) == name:
            return False
        if n.type == "type_switch_statement" and re.search(
            rf"\b{re.escape(name)}\s*\.\(\s*type\s*\)", text(n)
        ):
            return False
        if n.type == "binary_expression" and text(n.child_by_field_name("operator")) in (
            "==",
            "!=",
        ):
            sides = {text(n.child_by_field_name("left")), text(n.child_by_field_name("right"))}
            if sides == {name, "nil"}:
                return False
        if n.type in ("assignment_statement",):
            left = n.child_by_field_name("left")
            if left is not None and any(text(c) == name for c in left.named_children):
                return False
    return True


def _fresh_name(constraint: str, fn: Node) -> str:
    base = constraint.rsplit(".", 1)[-1]
    first = base[:1].upper() if base[:1].isalpha() and base not in ("any",) else "T"
    if constraint.startswith("interface"):
        first = "T"
    used = {text(n) for n in walk(fn) if n.type in ("identifier", "type_identifier")}
    name, i = first, 1
    while name in used:
        name, i = f"{first}{i}", i + 1
    return name


#: Why a type parameter that builds is refused; tests match on them.
BOXED_INSIDE = "the boxing only moved into the function"
BOXED_AT_A_CALL = "a call still boxes an argument for the function"


def boxed_at_a_call(
    candidate: TypeParameterCandidate, findings: Iterable[Finding], fixed: bytes
) -> bool:
    """Some call site still converts an argument to an interface for the function: in its
    package by its name, in an importer by ``pkg.Name``."""
    name = candidate.function
    package = re.search(rb"^package\s+(\w+)", fixed, re.M)
    qualified = f"{package.group(1).decode()}.{name}" if package else name
    return any(
        f.kind in HEAP_KINDS
        and f.reason.code is ReasonCode.INTERFACE
        and f.reason.name in (name, qualified)
        for f in findings
    )


class TypeParameterFixer:
    """``type-parameter`` as a ``Fixer``: over the package (callers are in any file), and
    accepted only when no call boxes for the function and the function does not box the
    parameter itself."""

    kind = TYPE_PARAMETER

    def candidates(self, proposal: Proposal) -> list[Candidate]:
        return candidates(list(proposal.findings), proposal.source)

    def accept(self, candidate: Candidate, verdict: Verdict) -> Refusal | None:
        refused = accept_if_gone(verdict)
        if refused is not None:
            return refused
        assert isinstance(candidate, TypeParameterCandidate)
        if still_boxed(candidate, verdict.findings):
            return decline(Stage.ACCEPT, BOXED_INSIDE)
        if boxed_at_a_call(candidate, verdict.findings, verdict.fixed):
            return decline(Stage.ACCEPT, BOXED_AT_A_CALL)
        return None

    def title(self, candidate: Candidate, alternative: Alternative, verdict: Verdict) -> str:
        return off_the_heap(candidate, alternative, verdict)

"""``preallocate``: a slice built by ``append`` (or a map filled) in a loop whose trip count
is known before the loop runs gets its capacity up front.

Rules, as the syntax tree can check them (the compiler checks the rest when the fix is
verified):

* The loop ranges over a slice, array, string or map (capacity ``len(x)``), over an int
  (``max(n, 0)``), or counts ``for i := a; i < n; i++`` (``max(n, a) - a``: never negative,
  so ``make`` cannot panic where the loop simply would not have run). Ranging over a
  channel or an iterator function is rejected by a probe the compiler must accept:
  ``for _, _ = range x {}`` does not build for either.
* Every iteration appends exactly once, on every path: the append (or map write) is
  the only one to that variable in the loop, appends one element, and is a statement of
  the loop body itself, not under an ``if``, a ``switch``, a ``select`` or an inner loop.
  No ``continue``, ``break``, ``return`` or ``goto`` leaves the iteration early. A
  filtered loop gets no fix: the trip count would only bound its length, and sizing for
  it allocates on the path where nothing passes the filter (where ``append`` would not
  have allocated at all) and over-allocates where an if/else splits the input.
* The variable is declared in the same block as ``var s []T``, ``s := []T{}`` or
  ``s := make([]T, 0)`` (a map as ``map[K]V{}`` or ``make(map[K]V)``) and is not touched
  between its declaration and the loop. The declaration moves to just before the loop,
  where everything the capacity needs is in scope.
* ``var s []T`` was nil when the loop did not run; with the fix it is not, and the title
  says so.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..model import Finding, Kind
from ..syntax import SourceFile
from .edits import Edit
from .fixer import Proposal, Refusal, Verdict
from .model import PREALLOCATE, Alternative, Candidate
from .treeutil import ancestor, identifiers, line_indent, line_start, text, walk

if TYPE_CHECKING:
    from tree_sitter import Node

_INT_LITERAL = re.compile(r"^\d+$")
# A constant capacity this small may let the backing array live on the stack.
_SMALL = 1024


def candidates(findings: list[Finding], src: SourceFile) -> list[Candidate]:
    heap = [f for f in findings if f.kind is Kind.ESCAPES_TO_HEAP and f.file == src.path]
    if not heap:
        return []
    out: list[Candidate] = []
    for loop in src.nodes_of_type("for_statement"):
        # Cheap tests first: most loops append to nothing and fill no map.
        text_of_loop = src.source[loop.start_byte : loop.end_byte]
        if b"append(" not in text_of_loop and b"] =" not in text_of_loop:
            continue
        body = loop.child_by_field_name("body")
        if body is None:
            continue
        sites = _single_sites(body, src)
        if not sites or _leaves_early(body):
            continue
        trip = _trip_count(loop, src)
        if trip is None:
            continue
        for name, site in sites.items():
            cand = _candidate(name, site, loop, trip, heap, src)
            if cand is not None:
                out.append(cand)
    return out


class _Trip:
    def __init__(self, capacities: list[tuple[str, str]], constant: int | None, uses: str) -> None:
        #: (capacity expression, probe statement or "") to try in order.
        self.capacities = capacities
        self.constant = constant
        self.uses = uses  # the text the capacity reads, to check it is not the variable


def _trip_count(loop: Node, src: SourceFile) -> _Trip | None:
    clause = next(
        (c for c in loop.named_children if c.type in ("range_clause", "for_clause")), None
    )
    if clause is None:
        return None
    if clause.type == "range_clause":
        return _range_trips(clause, src)
    return _counted_trips(loop, clause)


def _range_trips(clause: Node, src: SourceFile) -> _Trip | None:
    """``for ... range x``: the iterations are x's length, or x itself for an int."""
    right = clause.child_by_field_name("right")
    if right is None or any(n.type == "call_expression" for n in walk(right)):
        return None  # a call would run twice
    x = text(right)
    literal = _int_literal(x)
    if literal is not None:
        return _Trip([(str(literal), "")], literal, x)
    if right.type == "composite_literal":
        return None  # len([]string{...}) would copy the literal into the capacity
    if _declared_as_array(right, src):
        return _Trip([(f"len({x})", "")], None, x)
    # Slice, string or map: len(x), with a probe that does not build for a channel or
    # an iterator function (they allow one iteration variable only, or no len). An
    # int: max(x, 0), which builds for integers only. The compiler decides.
    probe = f"for _, _ = range {x} {{\n}}\n"
    return _Trip([(f"len({x})", probe), (f"max({x}, 0)", "")], None, x)


def _counted_trips(loop: Node, clause: Node) -> _Trip | None:
    """``for i := a; i < n; i++`` with neither i nor n assigned in the body."""
    init = clause.child_by_field_name("initializer")
    cond = clause.child_by_field_name("condition")
    update = clause.child_by_field_name("update")
    if init is None or cond is None or update is None or init.type != "short_var_declaration":
        return None
    left = init.child_by_field_name("left")
    right = init.child_by_field_name("right")
    if left is None or right is None or len(left.named_children) != 1:
        return None
    i = text(left.named_children[0])
    a = text(right.named_children[0]) if len(right.named_children) == 1 else ""
    if not a or cond.type != "binary_expression":
        return None
    op = text(cond.child_by_field_name("operator"))
    if text(cond.child_by_field_name("left")) != i or op not in ("<", "<="):
        return None
    n_node = cond.child_by_field_name("right")
    n = text(n_node)
    if n_node is None or any(
        c.type == "call_expression"
        and text(c.child_by_field_name("function")) not in ("len", "cap")
        for c in walk(n_node)
    ):
        return None
    if not _steps_by_one(update, i):
        return None
    body = loop.child_by_field_name("body")
    if body is not None and (_assigned(body, i) or _assigned(body, n)):
        return None
    if _INT_LITERAL.match(a) and _INT_LITERAL.match(n):
        count = max(int(n) - int(a) + (1 if op == "<=" else 0), 0)
        return _Trip([(str(count), "")], count, n)
    bound = f"{n} + 1" if op == "<=" else n
    if a == "0" and op == "<":
        if re.match(r"^(len|cap)\(", n):
            return _Trip([(n, "")], None, n)
        return _Trip([(f"max({n}, 0)", "")], None, n)
    return _Trip([(f"max({bound}, {a}) - {a}", "")], None, f"{n} {a}")


def _int_literal(x: str) -> int | None:
    """The value of a Go integer literal (``300``, ``0x11170``, ``1_000``), else None."""
    if not re.fullmatch(r"0[xXoObB][0-9a-fA-F_]+|[1-9][0-9_]*|0", x):
        return None
    try:
        return int(x.replace("_", ""), 0)
    except ValueError:
        return None


def _steps_by_one(update: Node, i: str) -> bool:
    t = re.sub(r"\s+", "", text(update))
    return t in (f"{i}++", f"{i}+=1", f"{i}={i}+1")


def _assigned(body: Node, name: str) -> bool:
    """Is ``name`` (a plain identifier) assigned or incremented in ``body``?"""
    if not re.match(r"^[A-Za-z_]\w*$", name):
        return False
    for n in walk(body):
        if n.type in ("assignment_statement", "short_var_declaration"):
            left = n.child_by_field_name("left")
            if left is not None and any(text(c) == name for c in left.named_children):
                return True
        if n.type in ("inc_statement", "dec_statement") and text(n.named_children[0]) == name:
            return True
    return False


def _declared_as_array(node: Node, src: SourceFile) -> bool:
    """``x`` declared in the same function as ``var x [N]T`` or ``x := [N]T{...}``."""
    if node.type == "composite_literal":
        t = node.child_by_field_name("type")
        return t is not None and t.type == "array_type"
    if node.type != "identifier":
        return False
    fn = ancestor(node, ("function_declaration", "method_declaration", "func_literal"))
    if fn is None:
        return False
    name = text(node)
    for n in walk(fn):
        if n.type == "var_spec" and any(text(c) == name for c in n.children_by_field_name("name")):
            t = n.child_by_field_name("type")
            return t is not None and t.type == "array_type"
        if n.type == "parameter_declaration" and any(
            text(c) == name for c in n.children_by_field_name("name")
        ):
            t = n.child_by_field_name("type")
            return t is not None and t.type == "array_type"
    return False


def _leaves_early(body: Node) -> bool:
    """Can an iteration end before the body's last statement (so that it may skip the
    append)? ``return``, ``goto``, a labelled jump, or a ``break`` or ``continue`` of
    this loop."""
    for n in walk(body, into_closures=False):
        if n.type in ("return_statement", "goto_statement"):
            return True
        if n.type in ("break_statement", "continue_statement"):
            if n.named_children:  # a label: it may leave this loop
                return True
            if not _inner_target(n, body):
                return True
    return False


def _inner_target(node: Node, body: Node) -> bool:
    """Does the unlabelled ``break`` or ``continue`` at ``node`` belong to a statement
    inside ``body`` rather than to the loop? ``continue`` belongs to loops only."""
    stops: tuple[str, ...] = ("for_statement",)
    if node.type == "break_statement":
        stops = (
            "for_statement",
            "expression_switch_statement",
            "type_switch_statement",
            "select_statement",
        )
    cur = node.parent
    while cur is not None and cur.id != body.id:
        if cur.type in stops:
            return True
        cur = cur.parent
    return False


def _runs_every_iteration(statement: Node, body: Node) -> bool:
    """``statement`` is one of the loop body's own statements, not nested under a
    condition, a switch, a select or a block."""
    parent = statement.parent
    if parent is not None and parent.type == "statement_list":
        parent = parent.parent
    return parent is not None and parent.id == body.id


class _Site:
    def __init__(self, statement: Node, call: Node | None, is_map: bool) -> None:
        self.statement = statement
        self.call = call
        self.is_map = is_map


def _single_sites(body: Node, src: SourceFile) -> dict[str, _Site]:
    """Variables appended to (or map-written) exactly once, not inside an inner loop."""
    sites: dict[str, list[_Site]] = {}
    for n in src.nodes_of_type("assignment_statement", within=body):
        if text(n.child_by_field_name("operator")) != "=":
            continue
        left = n.child_by_field_name("left")
        right = n.child_by_field_name("right")
        if left is None or right is None or len(left.named_children) != 1:
            continue
        target = left.named_children[0]
        closure = ancestor(n, ("func_literal",))
        owner = ancestor(n, ("for_statement",))
        nested = (closure is not None and closure.start_byte >= body.start_byte) or (
            owner is None or body.parent is None or owner.id != body.parent.id
        )
        if nested:
            # In a closure or an inner loop it may run any number of times: the trip
            # count is then no bound at all, and the variable gets no fix.
            operand = (
                target.child_by_field_name("operand")
                if target.type == "index_expression"
                else target
            )
            if operand is not None and operand.type == "identifier":
                sites.setdefault(text(operand), []).append(_Site(n, None, False))
            continue
        if target.type == "index_expression":
            operand = target.child_by_field_name("operand")
            if operand is not None and operand.type == "identifier":
                sites.setdefault(text(operand), []).append(_Site(n, None, True))
            continue
        if target.type != "identifier" or len(right.named_children) != 1:
            continue
        call = right.named_children[0]
        if call.type != "call_expression" or text(call.child_by_field_name("function")) != "append":
            continue
        args = call.child_by_field_name("arguments")
        named = args.named_children if args is not None else []
        if (
            len(named) == 2
            and text(named[0]) == text(target)
            and named[1].type != "variadic_argument"
        ):
            sites.setdefault(text(target), []).append(_Site(n, call, False))
        else:
            sites.setdefault(text(target), []).append(_Site(n, None, False))  # disqualifies
    return {
        name: found[0]
        for name, found in sites.items()
        if len(found) == 1
        and (found[0].call is not None or found[0].is_map)
        and _runs_every_iteration(found[0].statement, body)
    }


def _declaration(name: str, loop: Node) -> tuple[Node, str, Node | None, bool] | None:
    """The statement declaring ``name`` in the loop's block: (statement, type text,
    initializer or None, declared with var)."""
    if loop.parent is None or loop.parent.type != "statement_list":
        return None
    siblings = list(loop.parent.named_children)
    index = next(i for i, s in enumerate(siblings) if s.id == loop.id)
    for j in range(index - 1, -1, -1):
        stmt = siblings[j]
        found = _declares(stmt, name)
        if found is not None:
            between = siblings[j + 1 : index]
            if any(identifiers(s, name) for s in between):
                return None
            return (stmt, *found)
        if identifiers(stmt, name):
            return None
    return None


def _declares(stmt: Node, name: str) -> tuple[str, Node | None, bool] | None:
    if stmt.type == "var_declaration":
        specs = [c for c in stmt.named_children if c.type == "var_spec"]
        if len(specs) != 1:
            return None
        spec = specs[0]
        names = spec.children_by_field_name("name")
        if len(names) != 1 or text(names[0]) != name:
            return None
        typ = spec.child_by_field_name("type")
        value = spec.child_by_field_name("value")
        init = value.named_children[0] if value is not None and value.named_children else None
        if init is None:
            if typ is not None and typ.type == "slice_type":
                return text(typ), None, True
            return None
        t = _initial_type(init)
        return (t, init, True) if t else None
    if stmt.type == "short_var_declaration":
        left = stmt.child_by_field_name("left")
        right = stmt.child_by_field_name("right")
        if left is None or right is None or len(left.named_children) != 1:
            return None
        if text(left.named_children[0]) != name or len(right.named_children) != 1:
            return None
        init = right.named_children[0]
        t = _initial_type(init)
        return (t, init, False) if t else None
    return None


def _initial_type(init: Node) -> str:
    """``[]T{}`` / ``map[K]V{}`` / ``make([]T, 0)`` / ``make(map[K]V)`` → the type text."""
    if init.type == "composite_literal":
        typ = init.child_by_field_name("type")
        body = init.child_by_field_name("body")
        empty = body is not None and not body.named_children
        if typ is not None and typ.type in ("slice_type", "map_type") and empty:
            return text(typ)
        return ""
    if init.type == "call_expression" and text(init.child_by_field_name("function")) == "make":
        args = init.child_by_field_name("arguments")
        named = args.named_children if args is not None else []
        if not named or named[0].type not in ("slice_type", "map_type"):
            return ""
        if named[0].type == "slice_type" and [text(a) for a in named[1:]] == ["0"]:
            return text(named[0])
        if named[0].type == "map_type" and [text(a) for a in named[1:]] in ([], ["0"]):
            return text(named[0])
    return ""


def _candidate(
    name: str, site: _Site, loop: Node, trip: _Trip, heap: list[Finding], src: SourceFile
) -> Candidate | None:
    declared = _declaration(name, loop)
    if declared is None:
        return None
    stmt, type_text, init, _with_var = declared
    is_map = type_text.startswith("map[")
    if is_map != site.is_map or re.search(rf"\b{re.escape(name)}\b", trip.uses):
        return None
    anchors = []
    for f in heap:
        inside_call = site.call is not None and _contains(src, site.call, f)
        inside_init = init is not None and _contains(src, init, f)
        if inside_call or inside_init:
            anchors.append((f.file, f.range))
    if not anchors:
        return None
    source = src.source
    # The declaration must sit alone on its line(s) to be moved cleanly.
    start = line_start(source, stmt.start_byte)
    if source[start : stmt.start_byte].strip():
        return None
    end = source.find(b"\n", stmt.end_byte)
    end = len(source) if end < 0 else end + 1
    if source[stmt.end_byte : end].strip():
        return None
    loop_start = line_start(source, loop.start_byte)
    indent = line_indent(source, loop.start_byte)
    alternatives = []
    verb = "Size" if is_map else "Preallocate"
    for cap, probe in trip.capacities:
        made = f"make({type_text}, {cap})" if is_map else f"make({type_text}, 0, {cap})"
        edits = (Edit(start, end, ""), Edit(loop_start, loop_start, f"{indent}{name} := {made}\n"))
        probes = (Edit(loop_start, loop_start, indent + probe),) if probe else ()
        alternatives.append(Alternative(edits, f"{verb} {name}: {made}", probes, (made,)))
    fn = ancestor(loop, ("function_declaration", "method_declaration", "func_literal"))
    note = ""
    if init is None and not is_map:
        note = f"{name} is no longer nil when the loop does not run"
    return Candidate(
        kind=PREALLOCATE,
        file=src.path,
        function=src.enclosing_function(src.position(loop.start_byte)),
        summary=alternatives[0].summary,
        anchors=tuple(anchors),
        alternatives=tuple(alternatives),
        note=note,
        scope_function=src.function_at(src.position(fn.start_byte)) if fn else "",
        constant_capacity=trip.constant is not None and 0 < trip.constant <= _SMALL,
    )


def _contains(src: SourceFile, node: Node, f: Finding) -> bool:
    point = f.point or f.range.start
    offset = src.offset(point)
    return offset is not None and node.start_byte <= offset < node.end_byte


class PreallocateFixer:
    """``preallocate`` as a ``Fixer``: file by file, and accepted whether or not the
    backing array leaves the heap (sized once is the gain either way)."""

    kind = PREALLOCATE

    def candidates(self, proposal: Proposal) -> list[Candidate]:
        found = list(proposal.findings)
        return [c for src in proposal.files for c in candidates(found, src)]

    def accept(self, candidate: Candidate, verdict: Verdict) -> Refusal | None:
        return None

    def title(self, candidate: Candidate, alternative: Alternative, verdict: Verdict) -> str:
        note = f"; {candidate.note}" if candidate.note else ""
        if verdict.gone and not verdict.added:
            gain = "keeps its backing array on the stack"
        else:
            # The make may itself be on the heap where the slice is: one allocation of
            # the right size instead of log2(n) regrowths, which the compiler does not
            # report (they happen inside append at run time).
            gain = "sized once: no regrowth in the loop"
        return f"{alternative.summary} ({gain}{note}; verified)"

"""Go syntax trees (tree-sitter-go): whole-expression ranges, enclosing functions, package
variables.

The compiler reports a single point. A reader wants the whole thing underlined: all of
``&Config{...}``, all of ``make([]byte, n)``, the variable's name. This module finds that
extent on a real Go syntax tree, guided by the expression text the compiler printed.

Trees are parsed lazily and kept per content hash, so a file that did not change is never
parsed twice in one process.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from .model import Position, Range
from .positions import line_offsets

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Query, QueryCursor, Tree

_lock = threading.Lock()
_parser: Parser | None = None


def _get_parser() -> Parser:
    global _parser
    with _lock:
        if _parser is None:
            import tree_sitter
            import tree_sitter_go

            _parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_go.language()))
        return _parser


_trees: OrderedDict[bytes, Tree] = OrderedDict()
_TREE_CACHE_SIZE = 256


def parse_tree(source: bytes) -> Tree:
    """Parse Go source. tree-sitter never fails: broken code yields ERROR nodes."""
    digest = hashlib.sha1(source).digest()
    parser = _get_parser()
    with _lock:  # a Parser is not safe to share between threads
        tree = _trees.get(digest)
        if tree is None:
            tree = parser.parse(source)
            _trees[digest] = tree
            if len(_trees) > _TREE_CACHE_SIZE:
                _trees.popitem(last=False)
        else:
            _trees.move_to_end(digest)
        return tree


# Nodes that end the upward search for an expression: statements and declarations.
_STOP = frozenset(
    {
        "source_file",
        "block",
        "statement_list",
        "function_declaration",
        "method_declaration",
        "var_declaration",
        "const_declaration",
        "short_var_declaration",
        "assignment_statement",
        "return_statement",
        "expression_statement",
        "if_statement",
        "for_statement",
        "range_clause",
        "for_clause",
        "expression_switch_statement",
        "type_switch_statement",
        "select_statement",
        "go_statement",
        "defer_statement",
        "send_statement",
        "inc_statement",
        "dec_statement",
        "labeled_statement",
        "var_spec",
        "const_spec",
        "expression_case",
        "communication_case",
        "keyed_element",
        "literal_element",
    }
)
#: Declarations whose ``name`` children are the names they declare.
_DECLARING = frozenset(
    {"parameter_declaration", "variadic_parameter_declaration", "var_spec", "const_spec"}
)
_FUNCTIONS = frozenset({"function_declaration", "method_declaration", "func_literal"})
_NOT_EXPRESSIONS = frozenset(
    {"argument_list", "expression_list", "literal_value", "parameter_list", "type_arguments"}
)
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Checked:
    """The expression a bounds or nil check is about (``SourceFile.checked_at``)."""

    #: All of it: ``s[i]`` with its operand, ``p.A``, ``*p``, ``range p``.
    range: Range
    #: ``index``, ``slice``, ``field``, ``deref`` or ``range``.
    form: str
    #: Its text, on one short line.
    text: str
    #: What is indexed, or the pointer that is checked: ``s``, ``p``.
    operand: str
    #: The index (``i``) or the slice's bounds as written (``i:j``); "" for nil checks.
    index: str = ""


@dataclass(frozen=True)
class SourceFile:
    """One Go file's bytes and syntax tree, with helpers keyed by compiler positions."""

    path: str
    source: bytes
    #: Closure numbering per containing node id, computed once per file.
    _literals: dict[int, list[int]] = field(default_factory=dict, compare=False, repr=False)
    #: Compiler-style names of declarations by node id: most findings of a function ask.
    _names: dict[int, str] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def tree(self) -> Tree:
        return parse_tree(self.source)

    @cached_property
    def line_starts(self) -> list[int]:
        return line_offsets(self.source)

    def nodes_of_type(self, type_name: str, within: Node | None = None) -> list[Node]:
        """Every node of a type in the file (or in ``within``'s subtree), in source order.

        The types fix proposals and names look for are found in one pass over the tree,
        the first time any is asked for (see ``_INDEXED``); others cost a query each.
        """
        indexed = self._node_index.get(type_name)
        if indexed is None:
            return nodes_of_type(within or self.tree.root_node, type_name)
        starts, nodes = indexed
        if within is None:
            return list(nodes)
        lo = bisect.bisect_left(starts, within.start_byte)
        hi = bisect.bisect_right(starts, within.end_byte)
        return [n for n in nodes[lo:hi] if n.end_byte <= within.end_byte]

    @cached_property
    def _node_index(self) -> dict[str, tuple[list[int], list[Node]]]:
        captures = _index_cursor().captures(self.tree.root_node)
        index: dict[str, tuple[list[int], list[Node]]] = {}
        for type_name in _INDEXED:
            nodes = sorted(captures.get(type_name, ()), key=lambda n: n.start_byte)
            index[type_name] = ([n.start_byte for n in nodes], nodes)
        return index

    def index_nodes(self) -> None:
        """Build the node index now (``nodes_of_type``), and what names of functions are
        made of, while there is time to spare (the compiler is running)."""
        for type_name in ("function_declaration", "method_declaration"):
            for decl in self._node_index[type_name][1]:
                self._names.setdefault(decl.id, _declared_name(decl))
                self._closures_in(decl)
        for literal in self._node_index["func_literal"][1]:
            self._closures_in(literal)

    def _closures_in(self, container: Node) -> list[int]:
        """Ids of the closures directly in ``container``, in the compiler's numbering."""
        known = self._literals.get(container.id)
        if known is None:
            known = self._literals[container.id] = [n.id for n in self._direct_literals(container)]
        return known

    def offset(self, pos: Position) -> int | None:
        """Byte offset of a 1-based line / 1-based byte column, or None if out of range."""
        starts = self.line_starts
        if pos.line < 1 or pos.column < 1 or pos.line > len(starts):
            return None
        start = starts[pos.line - 1]
        line_end = starts[pos.line] - 1 if pos.line < len(starts) else len(self.source)
        off = start + pos.column - 1
        return off if off <= line_end else None

    def position(self, offset: int) -> Position:
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return Position(index + 1, offset - self.line_starts[index] + 1)

    def _span(self, node: Node) -> Range:
        return Range(self.position(node.start_byte), self.position(node.end_byte))

    def node_at(self, pos: Position) -> Node | None:
        off = self.offset(pos)
        if off is None:
            return None
        return self.tree.root_node.descendant_for_byte_range(off, off)

    def is_wrapper_site(self, pos: Position) -> bool:
        """True where only code the compiler generated can be: a ``go``/``defer`` keyword
        (its wrapper closure), or a method of an interface type (the wrappers that call
        that method through the interface). Nothing there can be changed by hand."""
        node = self.node_at(pos)
        if node is None:
            return False
        if node.type in ("go", "defer"):
            return True
        off = self.offset(pos)
        starts, methods = self._node_index["method_elem"]
        i = bisect.bisect_right(starts, off if off is not None else -1) - 1
        return i >= 0 and methods[i].start_byte <= node.start_byte < methods[i].end_byte

    def expression_range(self, pos: Position, subject: str) -> Range | None:
        """The range of the expression the compiler calls ``subject`` at ``pos``."""
        off = self.offset(pos)
        if off is None:
            return None
        root = self.tree.root_node
        leaf = root.descendant_for_byte_range(off, off)
        if leaf is None:
            return None
        candidates = _candidates(leaf)
        if not candidates:
            elided = self._elided_literal(leaf, subject)
            if elided is not None:
                return elided
            return self._span(leaf) if leaf.end_byte > leaf.start_byte else None
        if subject == "func literal":
            for node in candidates:
                if node.type == "func_literal":
                    return self._span(node)
        if subject == "... argument":
            # The compiler reports a call's variadic arguments at its `(`: the argument
            # list, parentheses and all, holds that point.
            for node in candidates:
                if node.type == "call_expression":
                    args = node.child_by_field_name("arguments")
                    if args is not None and args.named_child_count:
                        return self._span(args)
        if subject:
            matcher = _subject_matcher(subject)
            for node in candidates:
                if matcher(_squash(node.text or b"")):
                    return self._span(node)
            elided = self._elided_literal(leaf, subject)
            if elided is not None:
                return elided
        # No textual match. At a call's `(`, where code inlined from the callee is
        # reported: that call alone, from its method name on. In a fluent chain
        # (`NewArr().Int(1).Str("x")`) each call has its own findings.
        if leaf.type == "(" and leaf.parent is not None and leaf.parent.type == "argument_list":
            call = leaf.parent.parent
            if call is not None and call.type == "call_expression":
                fn = call.child_by_field_name("function")
                named = fn.child_by_field_name("field") if fn is not None else None
                operand = fn.child_by_field_name("operand") if fn is not None else None
                if named is not None and operand is not None and _is_call(operand):
                    return Range(self.position(named.start_byte), self.position(call.end_byte))
                return self._span(call)
        # The largest expression that starts exactly at the point.
        starting = [n for n in candidates if n.start_byte == off]
        if starting:
            return self._span(starting[-1])
        return self._span(candidates[0])

    def shows(self, rng: Range, subject: str) -> bool:
        """Whether the text at ``rng`` is the expression the compiler calls ``subject``
        (not, say, a call that code inlined from elsewhere was reported at)."""
        if subject in ("... argument", "func literal", ""):
            return True  # ranges found by shape, not text
        text = _squash(self.text(rng).encode())
        if subject.endswith("}") and text.startswith("{"):
            return True  # a composite literal that leaves its type out
        return _subject_matcher(subject)(text)

    def inlined_call(self, rng: Range, subject: str) -> str:
        """The function called at ``rng`` when what the compiler reports there is code
        inlined from it (the text is the call, not ``subject``); "" otherwise."""
        lo, hi = self.offset(rng.start), self.offset(rng.end)
        if lo is None or hi is None:
            return ""
        node = self.tree.root_node.descendant_for_byte_range(lo, hi)
        while node is not None and node.type == "parenthesized_expression":
            node = node.named_children[0] if node.named_children else None
        if node is None or node.type != "call_expression" or self.shows(rng, subject):
            return ""
        fn = node.child_by_field_name("function")
        if fn is None or fn.type == "func_literal":
            return ""  # called where it is written: its code is right there
        name = _compact(fn)
        # A builtin or a conversion is no inlined function: its text may just differ
        # (`make([]T, 1<<10)` is reported as `make([]T, 1024)`).
        if name in _PREDECLARED or subject.startswith(name) or not name[:1].isalpha():
            return ""
        return name

    def _elided_literal(self, leaf: Node, subject: str) -> Range | None:
        """An element of a composite literal may leave its type out (``{1, 2}`` in
        ``[][]int{{1, 2}}``, ``{A: 1}`` for ``&T{A: 1}``): only its braces are there."""
        if not subject.endswith("}"):
            return None
        cur: Node | None = leaf
        while cur is not None and cur.start_byte == leaf.start_byte:
            if cur.type == "literal_value":
                whole = cur.parent
                if whole is None or whole.type != "composite_literal":
                    return self._span(cur)
                # The type is written, but not as the compiler prints it (an alias, an
                # import name, `[...]int` for `[3]int`): the whole literal, with its `&`.
                outer = whole.parent
                if (
                    subject.startswith("&")
                    and outer is not None
                    and outer.type == "unary_expression"
                    and _text_of(outer.child_by_field_name("operator") or outer) == "&"
                ):
                    return self._span(outer)
                return self._span(whole)
            cur = cur.parent
        return None

    def identifier_range(self, pos: Position, name: str) -> Range | None:
        """The range of the identifier ``name`` at ``pos`` (a variable or parameter)."""
        off = self.offset(pos)
        if off is None:
            return None
        node = self.tree.root_node.descendant_for_byte_range(off, off)
        if node is not None and node.type in ("identifier", "field_identifier"):
            return self._span(node)
        raw = name.encode()
        if raw and self.source[off : off + len(raw)] == raw:
            return Range(pos, self.position(off + len(raw)))
        return None

    @cached_property
    def _top_level(self) -> tuple[list[int], list[Node]]:
        nodes = self.tree.root_node.children
        return [n.start_byte for n in nodes], nodes

    def path_at(self, offset: int) -> list[Node]:
        """The nodes that hold byte ``offset``, outermost first, from a top-level
        declaration down to the token. Found by bisecting the top-level declarations and
        walking down: ``Node.parent`` walks down from the root on every call, which on a
        one-line file of a hundred thousand declarations costs a scan of them all."""
        starts, nodes = self._top_level
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0 or nodes[i].end_byte <= offset:
            return []
        path = [nodes[i]]
        # Never asked of a leaf: py-tree-sitter 0.26 crashes the process there.
        while path[-1].child_count:
            child = path[-1].first_child_for_byte(offset)
            if child is None or child.start_byte > offset:
                break
            path.append(child)
        return path

    def ranges_around(self, pos: Position) -> list[Range]:
        """The ranges of the nodes holding ``pos``, smallest first."""
        off = self.offset(pos)
        return [self._span(n) for n in reversed(self.path_at(off))] if off is not None else []

    def declaration_range(self, pos: Position) -> Range | None:
        """The top-level declaration holding ``pos``."""
        off = self.offset(pos)
        path = self.path_at(off) if off is not None else []
        return self._span(path[0]) if path else None

    def matching_expression(self, offset: int, subject: str) -> tuple[Range, Position] | None:
        """The smallest expression holding byte ``offset`` whose text is what the compiler
        calls ``subject``, and the point the compiler reports it at; None if there is
        none: no fallback to a nearby expression (see ``expression_range`` for that)."""
        matcher = _subject_matcher(subject)
        # Whitespace aside, a subject without abbreviations is as long as its text: a
        # larger node cannot match, and squashing it would make a long line quadratic.
        limit = None
        if not _abbreviated(subject) and subject != "func literal":
            limit = 4 * len(subject.encode()) + 64
        for node in reversed(self.path_at(offset)):
            if limit is not None and node.end_byte - node.start_byte > limit:
                break
            if node.type in _STOP:
                # A flow step may be a statement (`return p`): the first one up, no more.
                if node.type.endswith("_statement") and matcher(_squash(node.text or b"")):
                    return self._span(node), self.position(node.start_byte)
                break
            if not node.is_named or node.type in _NOT_EXPRESSIONS or node.type == "ERROR":
                continue
            if subject == "func literal" and node.type != "func_literal":
                continue
            if subject == "func literal" or matcher(_squash(node.text or b"")):
                return self._span(node), self.position(_compiler_point(node))
        return None

    def name_at(self, offset: int, name: str) -> tuple[Range, bool] | None:
        """The identifier ``name`` written at byte ``offset`` (not a word of a string or
        a comment), and whether it is a name being declared there: a parameter, result,
        receiver, ``var`` or ``:=`` name, range variable. That is where the compiler
        reports a variable moved to the heap, or a parameter that leaks."""
        path = self.path_at(offset)
        if not path or path[-1].type != "identifier" or path[-1].text != name.encode():
            return None
        leaf = path[-1]
        declares = False
        if len(path) >= 2 and path[-2].type in _DECLARING:
            declares = leaf in path[-2].children_by_field_name("name")
        elif len(path) >= 3 and path[-2].type == "expression_list":
            decl = path[-3]
            declares = decl.type in ("short_var_declaration", "range_clause") and (
                decl.child_by_field_name("left") == path[-2]
            )
        return self._span(leaf), declares

    def enclosing_call_arguments(self, rng: Range) -> Position | None:
        """The ``(`` of the smallest call around ``rng`` that has arguments: where the
        compiler puts the slice of a variadic call's ``... argument``."""
        lo, hi = self.offset(rng.start), self.offset(rng.end)
        if lo is None or hi is None:
            return None
        for node in reversed(self.path_at(lo)):
            if node.type == "call_expression" and node.end_byte >= hi:
                args = node.child_by_field_name("arguments")
                if args is not None and args.start_byte <= lo < args.end_byte:
                    return self.position(args.start_byte)
        return None

    def function_points(self, lo: int, hi: int) -> list[Range]:
        """Where the compiler reports each function declared from byte ``lo`` to ``hi``
        (its inlining notes): a function's name, a method's receiver, a literal's
        ``func``; the whole point's token, in source order."""
        out: list[tuple[int, int]] = []
        for type_name, field_name in (
            ("function_declaration", "name"),
            ("method_declaration", "receiver"),
            ("func_literal", ""),
        ):
            starts, nodes = self._node_index[type_name]
            # A point is a few bytes into its declaration (`func (`, `func F`).
            for decl in nodes[bisect.bisect_left(starts, lo - 1024) :]:
                if decl.start_byte >= hi:
                    break
                point = decl.child_by_field_name(field_name) if field_name else decl.children[0]
                if point is not None and lo <= point.start_byte < hi:
                    out.append((point.start_byte, point.end_byte))
        return [Range(self.position(a), self.position(b)) for a, b in sorted(out)]

    def function_name_range(self, pos: Position) -> Range | None:
        """The name of the function declared at ``pos`` (where inlining notes point).

        For a method the compiler points at the receiver; the name is what a reader wants
        underlined. A function literal has no name: its ``func`` keyword stands in.
        """
        decl = self._declaration_at(pos)
        if decl is None:
            return None
        if decl.type == "func_literal":
            return self._span(decl.children[0]) if decl.children else None
        name = decl.child_by_field_name("name")
        return self._span(name) if name is not None else None

    def _declaration_at(self, pos: Position) -> Node | None:
        cur = self.node_at(pos)
        while cur is not None and cur.type not in _FUNCTIONS:
            cur = cur.parent
        return cur

    def enclosing_function(self, pos: Position, init_closures_before: int = 0) -> str:
        """The compiler-style name of the function containing ``pos``.

        ``F``, ``T.M``, ``(*T).M``; closures are ``F.func1``, nested ``F.func1.1``;
        closures in package-level initialisers belong to ``init``, numbered across the
        package: ``init_closures_before`` of them are in files compiled before this one.
        """
        off = self.offset(pos)
        if off is None or self.node_at(pos) is None:
            return ""
        # From the index rather than walking up the tree: a parent costs tree-sitter a
        # walk down from the root, and this runs for every finding.
        top = self._declaration_around(off)
        starts, all_literals = self._node_index["func_literal"]
        first = bisect.bisect_left(starts, top.start_byte if top is not None else 0)
        literals: list[Node] = []  # outermost first
        for lit in all_literals[first : bisect.bisect_right(starts, off)]:
            params = lit.child_by_field_name("parameters")
            # The literal itself (where the compiler reports it escaping: its `func`)
            # belongs to the function around it; its parameters and body are the
            # closure's own.
            if off < lit.end_byte and params is not None and params.start_byte <= off:
                literals.append(lit)
        if top is None:
            base = "init"
        else:
            base = self._names.get(top.id) or self._names.setdefault(top.id, _declared_name(top))
        container = top if top is not None else self.tree.root_node
        if top is None and not literals:
            # A package variable's initial value is computed by the package's init.
            return "init" if self.package_var_at(pos) else ""
        # Number closures the way the compiler does: in source order, per enclosing body.
        name = base
        parent: Node = container
        for index, lit in enumerate(literals):
            siblings = self._closures_in(parent)
            n = siblings.index(lit.id) + 1 if lit.id in siblings else 1
            if index == 0 and top is None:
                n += init_closures_before
            name = f"{name}.func{n}" if index == 0 else f"{name}.{n}"
            parent = lit
        return name

    def function_at(self, pos: Position, init_closures_before: int = 0) -> str:
        """The name of the function *declared* at ``pos`` (for inlining notes)."""
        decl = self._declaration_at(pos)
        if decl is None:
            return ""
        if decl.type == "func_literal":
            body = decl.child_by_field_name("body")
            if body is None:
                return ""
            return self.enclosing_function(self.position(body.start_byte), init_closures_before)
        return _declared_name(decl)

    @cached_property
    def package_name(self) -> str:
        for node in self.tree.root_node.named_children:
            if node.type == "package_clause":
                for child in node.named_children:
                    return _text_of(child)
        return ""

    @cached_property
    def init_closures(self) -> int:
        """Closures in package variables' initial values (``init.funcN`` to the compiler)."""
        return len(self._direct_literals(self.tree.root_node))

    def text(self, rng: Range) -> str:
        start = self.offset(rng.start)
        end = self.offset(rng.end)
        if start is None or end is None:
            return ""
        return self.source[start:end].decode("utf-8", "replace")

    def compact_text(self, rng: Range) -> str:
        """The expression at ``rng`` as one short line (long arguments and literal bodies
        abbreviated), for naming it in a message."""
        lo, hi = self.offset(rng.start), self.offset(rng.end)
        if lo is None or hi is None or hi <= lo:
            return ""
        node = self.tree.root_node.descendant_for_byte_range(lo, hi)
        if node is not None and (node.start_byte, node.end_byte) == (lo, hi):
            return _compact(node)
        return _WS.sub(" ", self.text(rng)).strip()

    def pointer_free_param(
        self,
        pos: Position,
        scalars: Collection[str] = (),
        imported: Callable[[str, str], bool] = lambda _path, _name: False,
    ) -> bool:
        """Whether the parameter declared at ``pos`` has a type known to hold no pointers:
        a number, a bool, one of ``scalars`` (the package's types defined as those), a
        type ``imported(import path, name)`` says is one (``time.Duration``), an array of
        them. The compiler reports no leak for those."""
        cur = self.node_at(pos)
        while cur is not None and cur.type != "parameter_declaration":
            if cur.type in _STOP or cur.type == "variadic_parameter_declaration":
                return False
            cur = cur.parent
        typ = cur.child_by_field_name("type") if cur is not None else None
        while typ is not None and typ.type == "array_type":
            typ = typ.child_by_field_name("element")
        if typ is not None and typ.type == "qualified_type":
            pkg, name = typ.child_by_field_name("package"), typ.child_by_field_name("name")
            path = self.imports.get(_text_of(pkg)) if pkg is not None else None
            return path is not None and name is not None and imported(path, _text_of(name))
        return typ is not None and _is_scalar(_text_of(typ), scalars)

    @cached_property
    def scalar_types(self) -> frozenset[str]:
        """Types this file defines as a number or a bool (``type ErrorType uint64``), or
        as another of its own such types."""
        defined: dict[str, str] = {}
        for spec in self._node_index["type_spec"][1]:
            name, typ = spec.child_by_field_name("name"), spec.child_by_field_name("type")
            if (
                name is not None
                and typ is not None
                and spec.child_by_field_name("type_parameters") is None
            ):
                defined[_text_of(name)] = _text_of(typ)
        found: set[str] = set()
        grew = True
        while grew:
            grew = False
            for defined_name, underlying in defined.items():
                if defined_name not in found and _is_scalar(underlying, found):
                    found.add(defined_name)
                    grew = True
        return frozenset(found)

    @cached_property
    def storage_types(self) -> frozenset[str]:
        """Types this file defines as a map or a slice (``type Fields map[string]any``)."""
        names: set[str] = set()
        for spec in self._node_index["type_spec"][1]:
            name, typ = spec.child_by_field_name("name"), spec.child_by_field_name("type")
            if name is not None and typ is not None and typ.type in ("map_type", "slice_type"):
                names.add(_text_of(name))
        return frozenset(names)

    def in_generic_function(self, pos: Position) -> bool:
        """Whether ``pos`` is in a generic function or a method of a generic type. The
        compiler's ``-m`` reports no leaks for their instantiations (they are dupok),
        though its log has them."""
        off = self.offset(pos)
        decl = self._declaration_around(off) if off is not None else None
        if decl is None:
            return False
        if decl.child_by_field_name("type_parameters") is not None:
            return True
        receiver = decl.child_by_field_name("receiver")
        return receiver is not None and b"[" in (receiver.text or b"")

    def enclosing_call(self, pos: Position, value: Range | None = None) -> str:
        """The function called with the value at ``pos`` among its arguments, if any.

        ``fmt.Sprint(s, n)`` with ``pos`` at ``n`` gives ``fmt.Sprint``. Used to say which
        call an implicit interface conversion is made for. With ``value`` (the range of
        the whole value), the call's arguments must contain all of it: in
        ``log.Print(string(b))`` the conversion ``string(b)`` is the value, not the call
        it is passed to.
        """
        bounds = None
        if value is not None:
            lo, hi = self.offset(value.start), self.offset(value.end)
            if lo is not None and hi is not None:
                bounds = (lo, hi)
        cur = self.node_at(pos)
        while cur is not None and cur.type not in _STOP:
            if cur.type == "literal_value" and (bounds is None or cur.start_byte < bounds[0]):
                return ""  # an element of a composite literal: boxed for its field
            parent = cur.parent
            if parent is not None and parent.type == "argument_list":
                call = parent.parent
                # (A value can start at the `(` only when it is the argument list
                # itself: the compiler's "... argument".)
                inside = bounds is None or (
                    parent.start_byte <= bounds[0] and bounds[1] <= parent.end_byte
                )
                if call is not None and call.type == "call_expression" and inside:
                    return _callee_name(call.child_by_field_name("function"))
            cur = parent
        return ""

    def result_names(self, pos: Position) -> frozenset[str]:
        """The named results of the function (or closure) whose body holds ``pos``."""
        off = self.offset(pos)
        cur = self.node_at(pos)
        while cur is not None:
            if cur.type in _FUNCTIONS:
                params = cur.child_by_field_name("parameters")
                # A literal's `func` is the value of the function around it.
                if cur.type != "func_literal" or (
                    params is not None and off is not None and params.start_byte <= off
                ):
                    break
            cur = cur.parent
        result = cur.child_by_field_name("result") if cur is not None else None
        if result is None or result.type != "parameter_list":
            return frozenset()
        return frozenset(
            _text_of(name)
            for param in result.named_children
            for name in param.children_by_field_name("name")
        )

    def in_signature(self, pos: Position) -> bool:
        """Whether ``pos`` is in a function or method declaration but not in its body:
        its name, receiver, parameters or results."""
        off = self.offset(pos)
        decl = self._declaration_around(off) if off is not None else None
        if decl is None or off is None:
            return False
        body = decl.child_by_field_name("body")
        return body is None or off < body.start_byte

    def _declaration_around(self, off: int) -> Node | None:
        """The function or method declaration ``off`` is in (they are top-level and do not
        nest: the last one starting before it, if it ends after)."""
        for type_name in ("function_declaration", "method_declaration"):
            starts, decls = self._node_index[type_name]
            i = bisect.bisect_right(starts, off) - 1
            if i >= 0 and off < decls[i].end_byte:
                return decls[i]
        return None

    def in_called_literal(self, call: Position, origin: Position) -> bool:
        """Whether ``origin`` is inside a function literal that is called, where it is
        written, by the call at ``call``."""
        at = self.offset(origin)
        cur = self.node_at(call)
        while at is not None and cur is not None and cur.type not in _STOP:
            if cur.type == "call_expression":
                fn = cur.child_by_field_name("function")
                if fn is not None and fn.type == "func_literal":
                    return fn.start_byte <= at < fn.end_byte
            cur = cur.parent
        return False

    def at_identifier(self, pos: Position) -> bool:
        node = self.node_at(pos)
        return node is not None and node.type in ("identifier", "field_identifier")

    def call_arguments_range(self, pos: Position) -> Range | None:
        """The parentheses and arguments of the call reported at ``pos`` (its ``(``)."""
        node = self.node_at(pos)
        if node is not None and node.type == "(" and node.parent is not None:
            node = node.parent
        if node is None or node.type != "argument_list":
            return None
        return self._span(node)

    def checked_at(self, pos: Position) -> Checked | None:
        """What a bounds or nil check the compiler logged at ``pos`` is about; None when
        no expression there can be checked.

        Measured (Go 1.26): a bounds check is logged at the ``[`` of its index or slice
        expression, one record per bound (``s[i:j]`` has two); a nil check at the ``.``
        of a selector, the ``[`` of an index into a pointer to an array, the ``*`` of a
        dereference or the ``range`` of a loop over a pointer to an array."""
        off = self.offset(pos)
        path = self.path_at(off) if off is not None else []
        if len(path) < 2 or path[-1].start_byte != off:
            return None
        token, node = path[-1], path[-2]
        operand = node.child_by_field_name("operand")
        if token.type == "[" and node.type in ("index_expression", "slice_expression"):
            if operand is None:
                return None
            if node.type == "index_expression":
                index = node.child_by_field_name("index")
                bounds = _compact(index) if index is not None else ""
            else:
                inner = self.source[token.end_byte : node.end_byte - 1]
                bounds = _WS.sub("", inner.decode("utf-8", "replace"))
            form = "index" if node.type == "index_expression" else "slice"
            return Checked(self._span(node), form, _compact(node), _compact(operand), bounds)
        if token.type == "." and node.type == "selector_expression" and operand is not None:
            return Checked(self._span(node), "field", _compact(node), _compact(operand))
        if token.type == "*" and node.type == "unary_expression" and operand is not None:
            return Checked(self._span(node), "deref", _compact(node), _compact(operand))
        right = node.child_by_field_name("right")
        if token.type == "range" and node.type == "range_clause" and right is not None:
            # From `range` on: the left side is not what is dereferenced.
            span = Range(pos, self.position(right.end_byte))
            return Checked(span, "range", f"range {_compact(right)}", _compact(right))
        return None

    def package_var_at(self, pos: Position) -> str:
        """The package variable whose initial value ``pos`` is part of; "" elsewhere
        (a function, or a closure in the initial value: that runs later, as itself)."""
        off = self.offset(pos)
        cur = self.node_at(pos)
        while cur is not None:
            if cur.type == "func_literal":
                params = cur.child_by_field_name("parameters")
                if off is None or params is None or off >= params.start_byte:
                    return ""  # inside the closure; its `func` is the initial value's
            elif cur.type in _FUNCTIONS:
                return ""
            if cur.type == "var_spec":
                if not _top_level(cur):
                    return ""  # `var x = ...` in a function: a local
                names = cur.children_by_field_name("name")
                value = cur.child_by_field_name("value")
                if value is not None and off is not None and len(names) > 1:
                    # `var a, b = x, y`: the name whose value holds the position.
                    values = value.named_children
                    for name, one in zip(names, values, strict=False):
                        if one.start_byte <= off < one.end_byte:
                            return _text_of(name)
                return ", ".join(_text_of(n) for n in names)
            cur = cur.parent
        return ""

    def in_go_statement(self, pos: Position) -> bool:
        """True when ``pos`` is part of a ``go`` statement's call (not inside a closure body)."""
        cur = self.node_at(pos)
        while cur is not None and cur.type not in ("block", "source_file"):
            if cur.type == "go_statement":
                return True
            cur = cur.parent
        return False

    def declares_local(self, name: str, pos: Position) -> bool:
        """Whether ``name`` at ``pos`` is a local of the function around it (a parameter,
        result, receiver or variable declared in it), which shadows any package variable
        of that name. Declarations anywhere in the function count: a flow step's position
        is a statement, not the scope the name was resolved in."""
        off = self.offset(pos)
        if off is None:
            return False
        cur = self.tree.root_node.descendant_for_byte_range(off, off)
        raw = name.encode()
        while cur is not None:
            if cur.type in _FUNCTIONS and raw in (cur.text or b""):
                for decl in _local_declarations(cur):
                    if decl.text == raw:
                        return True
            cur = cur.parent
        return False

    def value_kind(
        self,
        rng: Range,
        methods: Collection[str],
        fields: Collection[str],
        storage_types: Collection[str] = (),
    ) -> str:
        """What the expression at ``rng`` is, for telling an interface conversion from a
        closure when the compiler's flow cannot (``reasons.ValueKind``).

        ``methods`` and ``fields`` are the names of the package's methods and struct
        fields: ``x.f`` is a method value when ``f`` can only be a method, a field when it
        can only be a field, and cannot be told when it could be either or neither.
        ``storage_types`` are the package's types defined as maps or slices, whose
        literals allocate (``Fields{...}`` for ``type Fields map[string]any``).
        """
        node = self._expression_spanning(rng)
        if node is None:
            return ""
        kind_of = _VALUE_KINDS.get(node.type)
        if kind_of is not None:
            return kind_of(node, _KindContext(self, methods, fields, storage_types))
        if node.type in _BOXED_NODES:
            return "boxed"
        return ""

    def _expression_spanning(self, rng: Range) -> Node | None:
        """The expression that is exactly ``rng``, inside any parentheses; None if no node
        spans exactly that."""
        lo, hi = self.offset(rng.start), self.offset(rng.end)
        if lo is None or hi is None:
            return None
        node = self.tree.root_node.descendant_for_byte_range(lo, hi)
        while node is not None and node.type == "parenthesized_expression" and node.named_children:
            node = node.named_children[0]
        if node is None or (node.start_byte, node.end_byte) != (lo, hi):
            return None
        return node

    @cached_property
    def imports(self) -> dict[str, str]:
        """Import paths by the name this file knows them by (``fmt``, or the alias)."""
        names: dict[str, str] = {}
        # Imports are top-level declarations: no query over the whole tree is needed.
        specs = [
            spec
            for decl in self.tree.root_node.named_children
            if decl.type == "import_declaration"
            for group in decl.named_children
            for spec in (group.named_children if group.type == "import_spec_list" else [group])
            if spec.type == "import_spec"
        ]
        for spec in specs:
            alias = spec.child_by_field_name("name")
            path_node = spec.child_by_field_name("path")
            if path_node is None:
                continue
            path = _text_of(path_node).strip('"`')
            if alias is not None and alias.type == "package_identifier":
                names[_text_of(alias)] = path
            elif alias is None:
                # Named by its package clause, conventionally the last element:
                # `gopkg.in/yaml.v3` is yaml, `go-foo` is foo, `x/v2` is x.
                parts = path.split("/")
                base = (
                    parts[-2] if re.fullmatch(r"v\d+", parts[-1]) and len(parts) > 1 else parts[-1]
                )
                base = re.sub(r"\.v\d+$", "", base).removeprefix("go-")
                names[re.sub(r"\W", "", base.split(".")[0]) or base] = path
        return names

    @property
    def imported_names(self) -> frozenset[str]:
        return frozenset(self.imports)

    @cached_property
    def declared_methods(self) -> frozenset[str]:
        """Names of the methods this file declares."""
        names: set[str] = set()
        for decl in self._node_index["method_declaration"][1]:
            name = decl.child_by_field_name("name")
            if name is not None:
                names.add(_text_of(name))
        return frozenset(names)

    @cached_property
    def declared_fields(self) -> frozenset[str]:
        """Names of the struct fields (embedded ones by their type's name) this file declares."""
        names: set[str] = set()
        for decl in nodes_of_type(self.tree.root_node, "field_declaration"):
            found = decl.children_by_field_name("name")
            if found:
                names.update(_text_of(n) for n in found)
                continue
            typ = decl.child_by_field_name("type")
            if typ is not None:
                names.add(_text_of(typ).lstrip("*").rsplit(".", 1)[-1].split("[", 1)[0])
        return frozenset(names)

    def _direct_literals(self, container: Node) -> list[Node]:
        """Function literals inside ``container`` that are not nested in another literal
        (nor, for the file itself, in a function: package initialisers number their own)."""
        direct: list[Node] = []
        for node in self.nodes_of_type("func_literal", within=container):
            if node.id == container.id:
                continue
            cur = node.parent
            nested = False
            while cur is not None and cur.id != container.id:
                if cur.type in _FUNCTIONS:
                    nested = True
                    break
                cur = cur.parent
            if not nested:
                direct.append(node)
        return direct

    @cached_property
    def declared_types(self) -> frozenset[str]:
        """Names of the types this file declares."""
        names = set()
        for spec in self.nodes_of_type("type_spec"):
            name = spec.child_by_field_name("name")
            if name is not None and name.text:
                names.add(name.text.decode("utf-8", "replace"))
        return frozenset(names)

    @cached_property
    def declared_names(self) -> frozenset[str]:
        """Names of the functions, types and constants declared anywhere in this file."""
        names: set[str] = set()
        for kind in ("function_declaration", "type_spec", "const_spec"):
            for n in self.nodes_of_type(kind):
                for c in n.children_by_field_name("name"):
                    if c.text:
                        names.add(c.text.decode("utf-8", "replace"))
        return frozenset(names)

    def package_vars(self) -> frozenset[str]:
        """Names declared by top-level ``var`` declarations."""
        return self._package_vars

    @cached_property
    def _package_vars(self) -> frozenset[str]:
        names: set[str] = set()
        for decl in self.tree.root_node.named_children:
            if decl.type != "var_declaration":
                continue
            # `var x = ...` holds a var_spec; `var ( ... )` a var_spec_list of them. Only
            # those levels: the values below can be table literals of thousands of nodes.
            for spec in decl.named_children:
                specs = spec.named_children if spec.type == "var_spec_list" else [spec]
                for one in specs:
                    if one.type != "var_spec":
                        continue
                    for child in one.children_by_field_name("name"):
                        if child.text:
                            names.add(child.text.decode("utf-8", "replace"))
        return frozenset(names)


#: Expressions whose value can reach the heap only by being boxed in an interface: they
#: allocate nothing of their own.
_BOXED_NODES = frozenset(
    {
        "identifier",
        "int_literal",
        "float_literal",
        "imaginary_literal",
        "rune_literal",
        "interpreted_string_literal",
        "raw_string_literal",
        "true",
        "false",
        "iota",
        "index_expression",
        "type_assertion_expression",
    }
)


@dataclass(frozen=True)
class _KindContext:
    """What ``SourceFile.value_kind`` knows beyond the expression itself."""

    source: SourceFile
    methods: Collection[str]
    fields: Collection[str]
    storage_types: Collection[str]


def _composite_kind(node: Node, ctx: _KindContext) -> str:
    # A slice or map literal allocates its storage; a struct or array value can reach
    # the heap only boxed.
    typ = node.child_by_field_name("type")
    if typ is not None and typ.type == "generic_type":
        typ = typ.child_by_field_name("type")
    if typ is None:
        return ""
    if typ.type in ("slice_type", "map_type"):
        return "alloc"
    if typ.type in ("struct_type", "array_type"):
        return "boxed"
    if typ.type == "type_identifier":
        return "alloc" if _text_of(typ) in ctx.storage_types else "boxed"
    return ""  # another package's type: a struct, or a map, cannot be told


def _unary_kind(node: Node, ctx: _KindContext) -> str:
    op = node.child_by_field_name("operator")
    return "alloc" if op is not None and op.type == "&" else "boxed"


def _call_kind(node: Node, ctx: _KindContext) -> str:
    fn = node.child_by_field_name("function")
    if fn is None:
        return ""
    if fn.type in ("slice_type", "array_type", "map_type", "parenthesized_type"):
        return "alloc"
    name = _text_of(fn)
    if name in ("make", "new", "append", "string") or name.startswith("("):
        return "alloc"  # `([]byte)(s)` is printed so; `string(b)` copies
    return "boxed"  # a call's result (or a conversion to a named type): a value


def _selector_kind(node: Node, ctx: _KindContext) -> str:
    operand = node.child_by_field_name("operand")
    field_node = node.child_by_field_name("field")
    sel = _text_of(field_node) if field_node is not None else ""
    if (
        operand is not None
        and operand.type == "identifier"
        and _text_of(operand) in ctx.source.imported_names
    ):
        return "boxed"  # a package's variable; its functions never allocate
    if sel in ctx.methods and sel not in ctx.fields:
        return "func"
    if sel in ctx.fields and sel not in ctx.methods:
        return "boxed"
    return ""


def _binary_kind(node: Node, ctx: _KindContext) -> str:
    op = node.child_by_field_name("operator")
    # `a + b` may join strings, which allocates; other operators make a number or a
    # bool, which can reach the heap only boxed.
    return "" if op is None or op.type == "+" else "boxed"


#: ``value_kind`` of the expressions whose kind depends on more than their node type.
_VALUE_KINDS: dict[str, Callable[[Node, _KindContext], str]] = {
    "func_literal": lambda node, ctx: "func",
    "composite_literal": _composite_kind,
    # A slice header: the memory it shares is not allocated here.
    "slice_expression": lambda node, ctx: "boxed",
    "unary_expression": _unary_kind,
    "call_expression": _call_kind,
    "selector_expression": _selector_kind,
    "binary_expression": _binary_kind,
}


def _callee_name(fn: Node | None) -> str:
    """How a message names the function a call calls: its text, abbreviated. A func
    literal called where it is written is "a func literal"; a method of a chain
    (`Arr().Bool(true).Interface`) is ".Interface", since the chain says nothing of it."""
    if fn is None:
        return ""
    if fn.type == "func_literal":
        return "a func literal"
    if fn.type == "selector_expression":
        operand = fn.child_by_field_name("operand")
        field = fn.child_by_field_name("field")
        if operand is not None and field is not None and _is_call(operand):
            return "." + _text_of(field)
    return _compact(fn)


def _is_scalar(type_text: str, scalars: Collection[str]) -> bool:
    return type_text in scalars or (type_text in BASIC_TYPES and type_text != "string")


def _is_call(node: Node) -> bool:
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    return node.type == "call_expression"


def _top_level(spec: Node) -> bool:
    """Whether a ``var_spec`` is a package-level declaration."""
    cur = spec.parent
    while cur is not None and cur.type in ("var_spec_list", "var_declaration"):
        cur = cur.parent
    return cur is not None and cur.type == "source_file"


def _local_declarations(fn: Node) -> list[Node]:
    """The identifiers a function (or literal) declares: receiver, parameters, results,
    ``var``/``const``/``:=`` names, range variables."""
    out: list[Node] = []
    for part in ("receiver", "parameters", "result"):
        params = fn.child_by_field_name(part)
        if params is not None and params.type == "parameter_list":
            for p in params.named_children:
                out.extend(p.children_by_field_name("name"))
    body = fn.child_by_field_name("body")
    if body is None:
        return out
    for spec in nodes_of_type(body, "var_spec") + nodes_of_type(body, "const_spec"):
        out.extend(spec.children_by_field_name("name"))
    for decl in nodes_of_type(body, "short_var_declaration") + nodes_of_type(body, "range_clause"):
        left = decl.child_by_field_name("left")
        if left is not None:
            out.extend(n for n in left.named_children if n.type == "identifier")
    return out


def _candidates(leaf: Node) -> list[Node]:
    """Expression nodes from the leaf upwards, smallest first, stopping at statements."""
    out: list[Node] = []
    cur: Node | None = leaf
    while cur is not None and cur.type not in _STOP:
        if cur.is_named and cur.type not in _NOT_EXPRESSIONS and cur.type != "ERROR":
            out.append(cur)
        cur = cur.parent
    return out


def nodes_of_type(node: Node, type_name: str) -> list[Node]:
    """Every node of a type below ``node``, in source order, found by a tree-sitter query
    (in C: a Python walk of a large file costs milliseconds per call)."""
    found = _query_cursor(type_name).captures(node).get("n", [])
    return sorted(found, key=lambda n: n.start_byte)


_queries: dict[str, Query] = {}


#: Node types asked for on most files, found together by one query (``_node_index``).
_INDEXED = (
    "for_statement",
    "assignment_statement",
    "func_literal",
    "function_declaration",
    "method_declaration",
    "type_spec",
    "const_spec",
    "method_elem",  # an interface's method
)


def _index_cursor() -> QueryCursor:
    import tree_sitter
    import tree_sitter_go

    with _lock:
        query = _queries.get("")
        if query is None:
            language = tree_sitter.Language(tree_sitter_go.language())
            query = tree_sitter.Query(language, " ".join(f"({t}) @{t}" for t in _INDEXED))
            _queries[""] = query
        return tree_sitter.QueryCursor(query)


def _query_cursor(type_name: str) -> QueryCursor:
    import tree_sitter
    import tree_sitter_go

    with _lock:
        query = _queries.get(type_name)
        if query is None:
            language = tree_sitter.Language(tree_sitter_go.language())
            query = tree_sitter.Query(language, f"({type_name}) @n")
            _queries[type_name] = query
        return tree_sitter.QueryCursor(query)


def _text_of(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _long(node: Node) -> bool:
    """Too long to quote in a one-line message: ``(s, n)`` is not, a table is."""
    return node.end_byte - node.start_byte > 24 or b"\n" in (node.text or b"")


def _compact(node: Node) -> str:
    """An expression's text for a one-line message: arguments, function literals and
    composite literal bodies abbreviated, whitespace squashed. ``Chain(func(...) {...})``
    would otherwise print whole."""
    source = node.text or b""
    base = node.start_byte
    out: list[bytes] = []
    at = base
    stack = [node]
    while stack:
        n = stack.pop()
        short = None
        if n.type == "func_literal":
            short = b"func literal"
        elif n.type == "argument_list" and _long(n):
            short = b"(...)"
        elif n.type == "literal_value" and _long(n):
            short = b"{...}"
        if short is not None and n.id != node.id:
            out.append(source[at - base : n.start_byte - base] + short)
            at = n.end_byte
            continue
        stack.extend(reversed(n.children))
    out.append(source[at - base :])
    return _WS.sub(" ", b"".join(out).decode("utf-8", "replace")).strip()


def _declared_name(decl: Node) -> str:
    name_node = decl.child_by_field_name("name")
    name = name_node.text.decode("utf-8", "replace") if name_node and name_node.text else "?"
    if decl.type != "method_declaration":
        return name
    receiver = decl.child_by_field_name("receiver")
    rtype = ""
    pointer = False
    if receiver is not None:
        for param in receiver.named_children:
            t = param.child_by_field_name("type")
            if t is None:
                continue
            if t.type == "pointer_type":
                pointer = True
                t = t.named_children[0] if t.named_children else t
            if t.type == "generic_type":
                base = t.child_by_field_name("type")
                t = base if base is not None else t
            rtype = (t.text or b"?").decode("utf-8", "replace")
    return f"(*{rtype}).{name}" if pointer else f"{rtype}.{name}"


def _squash(text: bytes) -> str:
    return _WS.sub("", text.decode("utf-8", "replace"))


#: The predeclared types that are not interfaces.
BASIC_TYPES = frozenset(
    {
        "bool",
        "byte",
        "complex64",
        "complex128",
        "float32",
        "float64",
        "int",
        "int8",
        "int16",
        "int32",
        "int64",
        "rune",
        "string",
        "uint",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "uintptr",
    }
)

#: Builtin functions and predeclared types: calls of these are not calls of functions.
_PREDECLARED = BASIC_TYPES | frozenset(
    {
        "append",
        "cap",
        "clear",
        "close",
        "complex",
        "copy",
        "delete",
        "imag",
        "len",
        "make",
        "max",
        "min",
        "new",
        "panic",
        "print",
        "println",
        "real",
        "recover",
        "error",
        "any",
    }
)

_RESULT_NAME = re.compile(r"~[rR]\d+")

#: ``([]byte)(s)``: how the compiler prints a conversion to a type written with brackets
#: or a star, where the source has ``[]byte(s)``.
_PARENTHESISED_TYPE = re.compile(r"^\(((?:\[\]|map\[|\*|chan\b|func\().*?)\)\(")


@lru_cache(maxsize=1024)
def _subject_matcher(subject: str) -> Callable[[str], bool]:
    # ``string(~r0)``: the compiler names a call's result, the source has the call.
    # ``f(x, ... argument...)``: the compiler's word for a call's variadic arguments.
    squashed = _RESULT_NAME.sub(_CALL_HOLE, _squash(subject.encode())).replace(
        "...argument...", _CALL_HOLE
    )
    unwrapped = _PARENTHESISED_TYPE.sub(r"\1(", squashed)
    if "{...}" not in squashed and _CALL_HOLE not in squashed:
        # Most subjects are plain text; comparing strings spares a regex compile each
        # (a first check meets hundreds of distinct subjects).
        if unwrapped != squashed:
            return lambda text: text in (squashed, unwrapped)
        return squashed.__eq__
    # The compiler abbreviates composite literal bodies as {...}; anything may stand there.
    pattern = re.compile(
        "|".join(
            "".join(
                re.escape(part) + ("" if i == len(parts) - 1 else _HOLES[holes[i]])
                for i, part in enumerate(parts)
            )
            for parts, holes in (_split_holes(squashed), _split_holes(unwrapped))
        ),
        re.DOTALL,
    )
    return lambda text: pattern.fullmatch(text) is not None


#: What may stand where the compiler abbreviates: a composite literal's body, or a call.
_CALL_HOLE = "\0call\0"
_HOLES = {"{...}": r"\{.*\}", _CALL_HOLE: r".+"}


def _split_holes(squashed: str) -> tuple[list[str], list[str]]:
    """``T{...}.f(~r0)`` → the literal text between holes, and the kind of each hole."""
    parts = re.split("(" + re.escape("{...}") + "|" + re.escape(_CALL_HOLE) + ")", squashed)
    return parts[0::2], parts[1::2]


def _abbreviated(subject: str) -> bool:
    """Whether the compiler left part of ``subject`` out (``T{...}``, a call's ``~r0``)."""
    return "{...}" in subject or "... argument" in subject or "~" in subject


#: A word of Go text as bytes: any non-ASCII byte counts as a letter (identifiers may be
#: Unicode; a word that is really part of a string literal only finds nothing).
WORD = re.compile(rb"(?:[A-Za-z_]|[\x80-\xff])(?:\w|[\x80-\xff])*")


def subject_words(subject: str) -> list[bytes]:
    """The words of what the compiler calls ``subject`` that are also written in the
    source: not its own names for results (``~r0``), temporaries (``.autotmp_1``), a
    variadic call's slice (``... argument``) or a loop's state (``#state1``)."""
    text = _RESULT_NAME.sub(" ", subject.replace("... argument", " "))
    text = re.sub(r"[.#]autotmp_\w*|#\w+", " ", text)
    return WORD.findall(text.encode("utf-8", "surrogateescape"))


#: Where the compiler puts an expression of each kind (cmd/compile/internal/syntax): at
#: the token that makes it what it is, found as the first child of that type.
_POINT_TOKENS = {
    "call_expression": "argument_list",
    "type_conversion_expression": "(",
    "composite_literal": "literal_value",
    "slice_expression": "[",
    "index_expression": "[",
    "selector_expression": ".",
    "type_assertion_expression": ".",
}


def _compiler_point(node: Node) -> int:
    """The byte the compiler reports ``node`` at: a call's ``(``, a literal's ``{``, a
    slice's ``[``, a selector's ``.``, a binary operator; the start of anything else."""
    if node.type == "binary_expression":
        op = node.child_by_field_name("operator")
        return op.start_byte if op is not None else node.start_byte
    token = _POINT_TOKENS.get(node.type)
    for child in node.children if token is not None else ():
        if child.type == token:
            return child.start_byte
    return node.start_byte


def build_constraint(source: bytes) -> str:
    """A Go file's ``//go:build`` line (else its first ``// +build`` line), or "".

    Constraints count only among the comments before the package clause (go/build's
    ``parseFileHeader``)."""
    legacy = ""
    for node in parse_tree(source).root_node.children:
        if node.type != "comment":
            break
        text = (node.text or b"").decode("utf-8", "replace").strip()
        if text.startswith("//go:build"):
            return text
        if text.startswith("// +build") and not legacy:
            legacy = text
    return legacy

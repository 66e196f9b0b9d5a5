"""Ranges and names on a real Go syntax tree."""

from __future__ import annotations

from heaplens.model import Position, Range
from heaplens.syntax import SourceFile

SRC = b"""package p

type T struct{ A, B int }

var g = func() int { return 1 }

func (t *T) Ptr() {}

func (t T) Val() {}

func F(s, u string, n int) {
	_ = &T{A: 1,
		B: 2}
	_ = s + u
	_ = make([]byte, n)
	f := func() {
		h := func() {}
		h()
	}
	k := func() {}
	f()
	k()
	go func(x int) {}(n)
}
"""


def _src() -> SourceFile:
    return SourceFile("/x/p.go", SRC)


def _pos(needle: bytes, nth: int = 0) -> Position:
    offset = -1
    for _ in range(nth + 1):
        offset = SRC.index(needle, offset + 1)
    line = SRC.count(b"\n", 0, offset) + 1
    col = offset - (SRC.rfind(b"\n", 0, offset) + 1) + 1
    return Position(line, col)


def test_composite_literal_spanning_lines() -> None:
    src = _src()
    rng = src.expression_range(_pos(b"&T{A"), "&T{...}")
    assert rng is not None
    assert src.text(rng) == "&T{A: 1,\n\t\tB: 2}"


def test_binary_expression_from_its_operator() -> None:
    src = _src()
    rng = src.expression_range(_pos(b"+ u"), "s + u")
    assert rng is not None and src.text(rng) == "s + u"


def test_make_call_and_unmatched_text_falls_back_to_expression() -> None:
    src = _src()
    rng = src.expression_range(_pos(b"make("), "make([]byte, n)")
    assert rng is not None and src.text(rng) == "make([]byte, n)"
    other = src.expression_range(_pos(b"make("), "something the compiler renamed")
    assert other is not None and src.text(other) == "make([]byte, n)"


def test_function_literal() -> None:
    src = _src()
    rng = src.expression_range(_pos(b"func() {\n\t\th"), "func literal")
    assert rng is not None and src.text(rng).startswith("func() {") and src.text(rng).endswith("}")


def test_identifier_range() -> None:
    src = _src()
    assert src.identifier_range(_pos(b"s, u string"), "s") == Range(
        _pos(b"s, u string"), Position(_pos(b"s, u string").line, _pos(b"s, u string").column + 1)
    )


def test_enclosing_function_names() -> None:
    src = _src()
    assert src.enclosing_function(_pos(b"&T{A")) == "F"
    assert src.enclosing_function(_pos(b"h := func")) == "F.func1"
    assert src.enclosing_function(_pos(b"h()")) == "F.func1"
    assert src.enclosing_function(_pos(b"{}\n\t\th()")) == "F.func1.1"
    assert src.enclosing_function(_pos(b"k := func")) == "F"
    assert src.enclosing_function(_pos(b"return 1")) == "init.func1"
    assert src.function_at(_pos(b"Ptr")) == "(*T).Ptr"
    assert src.function_at(_pos(b"Val")) == "T.Val"


def test_go_statement_and_wrapper_site() -> None:
    src = _src()
    assert src.is_wrapper_site(_pos(b"go func"))
    assert src.in_go_statement(_pos(b"func(x int)"))
    assert not src.in_go_statement(_pos(b"&T{A"))


def test_package_vars_and_enclosing_call() -> None:
    src = SourceFile(
        "/x/q.go", b'package q\n\nvar a, b = 1, 2\n\nfunc F(n int) { fmt.Println("x", n) }\n'
    )
    assert src.package_vars() == {"a", "b"}
    n = SourceFile.position(src, src.source.index(b"n)"))
    assert src.enclosing_call(n) == "fmt.Println"


def test_broken_source_never_raises() -> None:
    src = SourceFile("/x/broken.go", b"package p\nfunc F( { x := &T{\n")
    first, end = (1, 1), (3, 1)  # the text ends where line 3 would begin
    for line in range(0, 5):
        for col in range(0, 20):
            pos = Position(line, col)
            ranges = [src.expression_range(pos, "&T{...}"), src.identifier_range(pos, "x")]
            names = (src.enclosing_function(pos), src.function_at(pos))
            if line in (0, 4) or col == 0:  # not a position in the text: nothing there
                assert ranges == [None, None] and names == ("", "")
            for r in filter(None, ranges):
                start, stop = (r.start.line, r.start.column), (r.end.line, r.end.column)
                assert first <= start <= stop <= end, (pos, r)
            assert set(names) <= {"", "F"}, (pos, names)
    # What the parser recovered still finds the one variable by its name.
    x = src.identifier_range(Position(2, 11), "x")
    assert x is not None and (x.start.column, x.end.column) == (11, 12)


def test_indexed_node_lookups_match_a_query_of_the_subtree() -> None:
    """``SourceFile.nodes_of_type`` answers from one indexed pass over the tree; within a
    subtree it must give what a query of that subtree gives, the subtree's root included."""
    from heaplens.syntax import _INDEXED, nodes_of_type

    src = _src()
    root = src.tree.root_node
    containers = [root, *nodes_of_type(root, "block"), *nodes_of_type(root, "func_literal")]
    assert len(containers) > 5
    for type_name in (*_INDEXED, "call_expression"):  # the last is not indexed
        assert [n.id for n in src.nodes_of_type(type_name)] == [
            n.id for n in nodes_of_type(root, type_name)
        ]
        for node in containers:
            assert [n.id for n in src.nodes_of_type(type_name, within=node)] == [
                n.id for n in nodes_of_type(node, type_name)
            ], (type_name, node)
    literals = src.nodes_of_type("func_literal")
    assert literals[0].id in [n.id for n in src.nodes_of_type("func_literal", within=literals[0])]


def test_value_kinds_tell_boxed_values_from_closures_and_allocations() -> None:
    """What a value is decides whether a spill into a call is an interface conversion."""
    text = (
        b'package p\n\nimport "os"\n\ntype T struct{ f int }\n\nfunc (T) M() {}\n\n'
        b"func F(t T, a, b int, s string, bs []byte) {\n"
        b"\tuse(t.M, t.f, os.Args, func() {}, &T{}, T{}, []int{1}, a+b, a*b, s+s, "
        b'string(bs), a, len(s), bs[1:], "x")\n}\n'
    )
    src = SourceFile("/p.go", text)
    line = (
        text.decode()
        .splitlines()
        .index(next(x for x in text.decode().splitlines() if x.startswith("\tuse(")))
        + 1
    )
    call = text.decode().splitlines()[line - 1]

    def kind(expr: str) -> str:
        col = call.index(expr) + 1
        rng = Range(Position(line, col), Position(line, col + len(expr)))
        return src.value_kind(rng, {"M"}, {"f"})

    assert kind("t.M") == "func"  # a method value: a closure
    assert kind("t.f") == "boxed"  # a field
    assert kind("os.Args") == "boxed"  # another package's variable
    assert kind("func() {}") == "func"
    assert kind("&T{}") == "alloc"
    assert kind("T{}") == "boxed"
    assert (
        src.value_kind(
            Range(Position(line, call.index("T{}") + 1), Position(line, call.index("T{}") + 4)),
            set(),
            set(),
            {"T"},
        )
        == "alloc"
    )  # were T a map or a slice type, its literal would allocate
    assert kind("[]int{1}") == "alloc"
    assert kind("a+b") == ""  # `+` may join strings, which allocates
    assert kind("a*b") == "boxed"
    assert kind("string(bs)") == "alloc"
    assert kind("len(s)") == "boxed"
    assert kind('"x"') == "boxed"


def test_callees_of_chains_and_literals_are_named_briefly() -> None:
    text = (
        b"package p\n\nfunc F(a *A, x int) {\n\ta.B().C(1).D(x)\n"
        b"\tfunc(v int) {\n\t\t_ = v\n\t}(x)\n}\n"
    )
    src = SourceFile("/p.go", text)
    assert src.enclosing_call(Position(4, 15)) == ".D"  # the flow names it better
    assert src.enclosing_call(Position(7, 4)) == "a func literal"

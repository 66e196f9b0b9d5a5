"""Names, ranges and reasons for shapes real modules are full of, checked against the real
compiler: closure parameters, package initialisers, interface methods, conversions,
composite literals without their type, calls through function values."""

from __future__ import annotations

from pathlib import Path

import pytest

from heaplens import wording
from heaplens.analysis import Engine, Options
from heaplens.cache import ResultCache
from heaplens.model import Finding

A = """package shapes

import (
	"fmt"
	"io"
	"log"
	"net/http"
)

type Router interface {
	Use(middlewares ...func(http.Handler) http.Handler)
	Tee(io.Writer)
}

type Wrapped struct{ Router }

func Charset(names ...string) func(next http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
		})
	}
}

var table = map[string][]int{"a": {1, 2}, "b": {3}}

var first = func(val interface{}) *interface{} { return &val }

func Log(label []byte, n int64) {
	log.Printf("%s %v", string(label), float64(n))
}

func Conv(s string) {
	fmt.Println([]byte(s))
}

type R struct{ Runs []string }

func Multi(r *R, run []string, n int) int {
	var skip int
	r.Runs, skip = run, n
	return skip
}

func Call(fs []func(*T), t *T) {
	fs[len(fs)-1](t)
}

type T struct{ A int }

type Buf struct{ b []byte }

func (b *Buf) Bytes() []byte { return b.b }

func Res(b *Buf, done chan struct{}) {
	fmt.Println("x", string(b.Bytes()))
	go func() {
		close(done)
	}()
}

type Keeper struct{ fs []func() }

func Keep(k *Keeper, fs ...func()) { k.fs = fs }

func UseKeep(k *Keeper) {
	Keep(k, func() {}, func() {})
}

func Inline() {
	func() {
		y := &T{A: 2}
		fmt.Println(y)
	}()
}

func NewT() *T { return &T{A: 3} }

func UseNew() {
	fmt.Println(NewT())
}

type Box[V any] struct{ v V }

func NewBox[V any](v V) *Box[V] {
	if any(v) == nil {
		panic("no box")
	}
	return &Box[V]{v: v}
}

func UseBox() *Box[int] { return NewBox(1) }

type List []string

var kept []string

func (l List) Keep() { kept = l }

type KeepIt interface{ Keep() }

var _ KeepIt = &List{}

type Names = []string

func Alias() any { return Names{"a"} }

func Collect(xs []int) (out []*int) {
	for i := range xs {
		out = append(out, &xs[i])
	}
	return
}

func Handler() (h func() error) {
	h = func() error { return nil }
	return
}

func Nested() {
	x := [][]int{{1, 2}, {3}}
	p := []*T{{A: 1}}
	fmt.Println(x, p)
}
"""

# Package initialisers' closures are numbered across the package's files.
B = """package shapes

var second = func(val interface{}) *interface{} { return &val }
"""


def _why(f: Finding) -> str:
    return wording.reason_text(f.reason, f.kind)


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Finding]]:
    mod = tmp_path_factory.mktemp("shapes")
    (mod / "go.mod").write_text("module example.com/shapes\n\ngo 1.22\n")
    (mod / "a.go").write_text(A)
    (mod / "b.go").write_text(B)
    engine = Engine(Options(tests=False), ResultCache(None))
    result = engine.check(["./..."], str(mod))
    assert not result.all_errors
    out: dict[str, list[Finding]] = {}
    for f in result.findings:
        out.setdefault(Path(f.file).name, []).append(f)
    return out


def _text(f: Finding, source: str) -> str:
    lines = source.encode().split(b"\n")
    assert f.range.start.line == f.range.end.line, f
    line = lines[f.range.start.line - 1]
    return line[f.range.start.column - 1 : f.range.end.column - 1].decode()


def _at(found: dict[str, list[Finding]], file: str, needle: str) -> list[Finding]:
    """The findings (but inlining notes) on the line of ``file`` that holds ``needle``."""
    source = A if file == "a.go" else B
    (line,) = [i for i, text in enumerate(source.split("\n"), 1) if needle in text]
    return [f for f in found[file] if f.range.start.line == line and f.kind.value != "inlining"]


def test_parameters_of_a_closure_belong_to_it(found: dict[str, list[Finding]]) -> None:
    (nxt,) = [f for f in _at(found, "a.go", "return func(next") if f.subject == "next"]
    assert nxt.function == "Charset.func1"
    (w,) = [f for f in _at(found, "a.go", "HandlerFunc(func(w") if f.subject == "w"]
    assert w.function == "Charset.func1.1"
    # The literal itself escapes from the function around it.
    (lit,) = [f for f in _at(found, "a.go", "return func(next") if f.subject == "func literal"]
    assert lit.function == "Charset"


def test_package_initialisers_are_init_and_number_closures_across_files(
    found: dict[str, list[Finding]],
) -> None:
    table = _at(found, "a.go", "var table")
    assert {f.function for f in table} == {"init"}
    assert {_why(f) for f in table} == {"stored in a package variable (table)"}
    (val_a,) = _at(found, "a.go", "var first")
    (val_b,) = _at(found, "b.go", "var second")
    assert (val_a.function, val_b.function) == ("init.func1", "init.func2")
    names = {f.message for f in found["b.go"] if f.kind.value == "inlining"}
    assert "can inline init.func2 with cost 3" in names


def test_nothing_is_reported_on_interface_methods(found: dict[str, list[Finding]]) -> None:
    methods = {
        i for i, text in enumerate(A.split("\n"), 1) if text.startswith(("\tUse(", "\tTee("))
    }
    assert len(methods) == 2
    assert [f for f in found["a.go"] if f.range.start.line in methods] == []


def test_composite_literals_without_their_type_are_covered_whole(
    found: dict[str, list[Finding]],
) -> None:
    assert sorted(
        _text(f, A) for f in _at(found, "a.go", "var table") if f.subject == "[]int{...}"
    ) == [
        "{1, 2}",
        "{3}",
    ]
    nested = _at(found, "a.go", "x := [][]int")
    inner = [f for f in nested if f.subject == "[]int{...}"]
    assert sorted(_text(f, A) for f in inner) == ["{1, 2}", "{3}"]
    assert {_why(f) for f in inner} == {"placed in [][]int{...}, which escapes"}
    (elem,) = [f for f in _at(found, "a.go", "p := []*T") if f.subject == "&T{...}"]
    assert _text(elem, A) == "{A: 1}"


def test_conversions_are_covered_and_name_the_call_they_are_passed_to(
    found: dict[str, list[Finding]],
) -> None:
    boxed = [f for f in _at(found, "a.go", "log.Printf") if _why(f).startswith("converted")]
    assert {(_text(f, A), _why(f)) for f in boxed} == {
        ("string(label)", "converted to an interface for log.Printf"),
        ("float64(n)", "converted to an interface for log.Printf"),
    }
    conv = _at(found, "a.go", "fmt.Println([]byte(s))")
    assert conv and {_text(f, A) for f in conv} == {"[]byte(s)"}


def test_reasons_name_what_the_source_names(found: dict[str, list[Finding]]) -> None:
    (run,) = _at(found, "a.go", "func Multi")
    assert _why(run) == "stored in r.Runs, which outlives the call"
    (t,) = _at(found, "a.go", "func Call")
    assert _why(t) == "passed to fs[len(fs)-1], which may keep it"


def test_results_of_calls_goroutines_and_variadic_arguments(
    found: dict[str, list[Finding]],
) -> None:
    # The compiler prints string(b.Bytes()) as string(~r0): the call is in the source,
    # and the subject a person reads is that call; only the verbatim message keeps ~r0.
    boxed = [f for f in _at(found, "a.go", "string(b.Bytes())") if "~r0" in f.message]
    assert boxed and {_text(f, A) for f in boxed} == {"string(b.Bytes())"}
    assert {f.subject for f in boxed} == {"string(b.Bytes())"}
    assert "converted to an interface for fmt.Println" in {_why(f) for f in boxed}
    (goroutine,) = _at(found, "a.go", "go func() {")
    assert _why(goroutine) == "used by a goroutine, which may outlive the call"
    literals = [f for f in _at(found, "a.go", "Keep(k, func") if f.subject == "func literal"]
    assert len(literals) == 2
    assert {_why(f) for f in literals} == {"passed to Keep, which keeps its ... arguments"}


def test_a_literal_called_where_it_is_written_is_not_underlined_whole(
    found: dict[str, list[Finding]],
) -> None:
    assert [
        f
        for f in found["a.go"]
        if f.range.start.line != f.range.end.line and f.subject != "func literal"
    ] == []
    (y,) = [f for f in _at(found, "a.go", "y := &T{A: 2}") if f.subject == "&T{...}"]
    assert (_text(y, A), y.function) == ("&T{A: 2}", "Inline.func1")


def test_code_inlined_at_a_call_says_where_it_comes_from(
    found: dict[str, list[Finding]],
) -> None:
    (inlined,) = [f for f in _at(found, "a.go", "fmt.Println(NewT())") if f.subject == "&T{...}"]
    assert _text(inlined, A) == "NewT()"
    assert _why(inlined).endswith("; from NewT, inlined here"), _why(inlined)
    assert inlined.function == "UseNew"
    # Where the text is the value itself, nothing is added.
    assert not any("inlined here" in _why(f) for f in _at(found, "a.go", "x := [][]int"))


def test_generics_wrappers_and_aliases(found: dict[str, list[Finding]]) -> None:
    # Shapes are an implementation detail: F[go.shape.int] reads F[...] in every text a
    # person reads; only the verbatim message keeps them.
    assert not any("go.shape" in wording.message(f) + f.subject for f in found["a.go"])
    # Each instantiation's wrapper inlines the body at the function's name, and -m counts
    # its allocations there: they are underlined at the name alone.
    at_name = _at(found, "a.go", "func NewBox[V any]")
    assert at_name and {_text(f, A) for f in at_name} == {"NewBox"}
    # Both values NewBox allocates are reported where it is inlined, not just one.
    inlined = _at(found, "a.go", "func UseBox()")
    assert {wording.headline(f) for f in inlined} == {
        '"no box" escapes to heap',
        "&Box[...]{...} escapes to heap",
    }
    # The compiler's (*List).Keep wrapper leaks nothing the source could change; the
    # method's own leak is reported once.
    keep = _at(found, "a.go", "func (l List) Keep()")
    assert [(f.subject, _why(f)) for f in keep] == [("l", "stored in a package variable (kept)")]
    # An alias: the compiler prints []string{...}; the literal is underlined whole, once.
    (alias,) = _at(found, "a.go", "return Names{")
    assert _text(alias, A) == 'Names{"a"}'


def test_values_assigned_to_named_results_are_returned(found: dict[str, list[Finding]]) -> None:
    (grown,) = [
        f for f in _at(found, "a.go", "out = append(out, &xs[i])") if f.subject.startswith("append")
    ]
    assert _why(grown) == "returned to the caller (as out)"
    (handler,) = _at(found, "a.go", "h = func() error")
    assert _why(handler) == "returned to the caller (as h)"

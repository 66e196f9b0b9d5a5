"""The type-parameter fix against the real compiler: where it applies, where it must not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixes.runner import Case, assert_clean_build, find_fix, heap_escapes, module

SHAPE = (
    "type Shape interface{ Area() float64 }\n\n"
    "type Rect struct{ W, H float64 }\n\n"
    "func (r Rect) Area() float64 { return r.W * r.H }\n\n"
)

APPLIES = [
    Case(
        "named_interface",
        SHAPE + "//go:noinline\nfunc Total(s Shape) float64 { return s.Area() }\n\n"
        "func Use() float64 { return Total(Rect{1, 2}) }",
        True,
        "func Total[S Shape](s S) float64",
    ),
    Case(
        "stringer_from_fmt",
        'import "fmt"\n\ntype ID struct{ A, B int }\n\n'
        'func (i ID) String() string { return fmt.Sprint(i.A, "-", i.B) }\n\n'
        "//go:noinline\nfunc Label(s fmt.Stringer) string { return s.String() }\n\n"
        "func Use() string { return Label(ID{1, 2}) }",
        True,
        "func Label[S fmt.Stringer](s S) string",
    ),
    Case(
        "interface_literal",
        "type Rect struct{ W, H float64 }\n\nfunc (r Rect) Area() float64 { return r.W * r.H }\n\n"
        "//go:noinline\nfunc Total(s interface{ Area() float64 }) float64 { return s.Area() }\n\n"
        "func Use() float64 { return Total(Rect{1, 2}) }",
        True,
        "func Total[T interface{ Area() float64 }](s T) float64",
    ),
    Case(
        "two_methods",
        "type Sized interface {\n\tLen() int\n\tCap() int\n}\n\n"
        "type Buf struct{ b [4]int }\n\nfunc (b Buf) Len() int { return 1 }\n\n"
        "func (b Buf) Cap() int { return 4 }\n\n"
        "//go:noinline\nfunc Free(s Sized) int { return s.Cap() - s.Len() }\n\n"
        "func Use() int { return Free(Buf{}) }",
        True,
        "func Free[S Sized](s S) int",
    ),
    Case(
        "other_parameters",
        SHAPE + "//go:noinline\nfunc Scale(k float64, s Shape, n int) float64 {\n"
        "\treturn k * s.Area() * float64(n)\n}\n\n"
        "func Use() float64 { return Scale(2, Rect{1, 2}, 3) }",
        True,
        "func Scale[S Shape](k float64, s S, n int) float64",
    ),
    Case(
        "existing_type_parameters",
        SHAPE + "//go:noinline\nfunc Sum[N int | float64](s Shape, n N) float64 {\n"
        "\treturn s.Area() * float64(n)\n}\n\n"
        "func Use() float64 { return Sum(Rect{1, 2}, 3) }",
        True,
        "func Sum[N int | float64, S Shape](s S, n N) float64",
    ),
    Case(
        "several_call_sites",
        SHAPE + "//go:noinline\nfunc Total(s Shape) float64 { return s.Area() }\n\n"
        "func Use(n float64) float64 {\n\ta := Total(Rect{1, n})\n\tb := Total(Rect{n, 1})\n"
        "\treturn a + b\n}",
        True,
        "func Total[S Shape](s S) float64",
    ),
    Case(
        "embedded_interface",
        'import "fmt"\n\ntype Named interface {\n\tfmt.Stringer\n\tName() string\n}\n\n'
        'type P struct{ n, m int }\n\nfunc (p P) String() string { return "p" }\n\n'
        'func (p P) Name() string { return "name" }\n\n'
        "//go:noinline\nfunc Show(v Named) string { return v.Name() + v.String() }\n\n"
        "func Use() string { return Show(P{1, 2}) }",
        True,
        "func Show[N Named](v N) string",
    ),
]

DOES_NOT_APPLY = [
    Case(
        "type_switch",
        SHAPE + "//go:noinline\nfunc Kind(s Shape) int {\n\tswitch s.(type) {\n"
        "\tcase Rect:\n\t\treturn 1\n\t}\n\treturn 0\n}\n\nfunc Use() int { return Kind(Rect{1, 2}) }",
        False,
    ),
    Case(
        "type_assertion",
        SHAPE + "//go:noinline\nfunc W(s Shape) float64 {\n\tif r, ok := s.(Rect); ok {\n"
        "\t\treturn r.W\n\t}\n\treturn s.Area()\n}\n\nfunc Use() float64 { return W(Rect{1, 2}) }",
        False,
    ),
    Case(
        "compared_with_nil",
        SHAPE + "//go:noinline\nfunc Area(s Shape) float64 {\n\tif s == nil {\n"
        "\t\treturn 0\n\t}\n\treturn s.Area()\n}\n\nfunc Use() float64 { return Area(Rect{1, 2}) }",
        False,
    ),
    Case(
        "stored_as_interface_anyway",
        SHAPE + "var last Shape\n\n//go:noinline\nfunc Remember(s Shape) { last = s }\n\n"
        "func Use() { Remember(Rect{1, 2}) }",
        False,
    ),
    Case(
        "method_cannot_have_type_parameters",
        SHAPE + "type Box struct{ n int }\n\n"
        "//go:noinline\nfunc (b Box) Total(s Shape) float64 { return s.Area() }\n\n"
        "func Use() float64 { return Box{}.Total(Rect{1, 2}) }",
        False,
    ),
    Case(
        "parameter_reassigned",
        SHAPE + "//go:noinline\nfunc Pick(s Shape) float64 {\n\tif s.Area() > 10 {\n"
        "\t\ts = Rect{1, 1}\n\t}\n\treturn s.Area()\n}\n\nfunc Use() float64 { return Pick(Rect{5, 5}) }",
        False,
    ),
    Case(
        "shared_parameter_declaration",
        SHAPE + "//go:noinline\nfunc Both(a, b Shape) float64 { return a.Area() + b.Area() }\n\n"
        "func Use() float64 { return Both(Rect{1, 2}, Rect{3, 4}) }",
        False,
    ),
]


@pytest.mark.parametrize("case", APPLIES, ids=str)
def test_type_parameter_applies(case: Case, tmp_path: Path) -> None:
    mod = module(tmp_path, case)
    before = heap_escapes(mod)
    fix = find_fix(mod, "type-parameter")
    assert fix is not None, "no verified type-parameter fix"
    text = fix.fixed.decode()
    assert case.expect in text, text
    assert fix.removed_escapes >= 1 and "heap escape" in fix.title and "verified" in fix.title
    (mod / "p.go").write_bytes(fix.fixed)
    assert_clean_build(mod)
    assert before - heap_escapes(mod) == fix.removed_escapes


@pytest.mark.parametrize("case", DOES_NOT_APPLY, ids=str)
def test_type_parameter_does_not_apply(case: Case, tmp_path: Path) -> None:
    assert find_fix(module(tmp_path, case), "type-parameter") is None


def test_a_fix_that_gains_nothing_is_dropped_by_verification(tmp_path: Path) -> None:
    """Storing the parameter in an interface-typed variable boxes it inside F instead of
    at the call site: the rewrite builds, but the compiler shows no escape removed."""
    from heaplens.cache import ResultCache
    from heaplens.engine import Engine, Options
    from heaplens.fixes import propose
    from heaplens.fixes.verify import verify
    from heaplens.syntax import SourceFile
    from heaplens.workspace import plan

    case = next(c for c in DOES_NOT_APPLY if c.name == "stored_as_interface_anyway")
    mod = module(tmp_path, case)
    engine = Engine(Options(), ResultCache(None))
    result = engine.check(["."], str(mod))
    candidates = propose(
        result.findings, lambda p: SourceFile(p, Path(p).read_bytes()), ("type-parameter",)
    )
    assert candidates, "the syntax allows it; only the compiler can say it gains nothing"
    query = plan([str(mod)], str(mod), engine.base_env())[0]
    assert all(verify(engine, query, {}, c, result.findings) is None for c in candidates)

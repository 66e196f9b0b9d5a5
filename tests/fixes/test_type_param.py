"""The type-parameter fix against the real compiler: where it applies, where it must not."""

from __future__ import annotations

from pathlib import Path

import pytest

from heaplens.analysis import Engine, Options
from heaplens.cache import ResultCache
from heaplens.fixes import propose
from heaplens.fixes.edits import finish
from heaplens.fixes.fixer import NEW_ESCAPE, NO_CANDIDATE, Stage
from heaplens.fixes.service import FixService
from heaplens.fixes.type_param import TypeParameterCandidate, still_boxed
from heaplens.model import HEAP_KINDS, Finding
from heaplens.syntax import SourceFile
from tests.fixes.runner import (
    Case,
    allocations,
    assert_clean_build,
    assert_refused,
    find_fix,
    fixed,
    heap_escapes,
    module,
)

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
    Case(
        "methods_only_many_callers",
        "type Sizer interface {\n\tSize() int\n\tName() string\n}\n\n"
        "type File struct{ n, mode int }\n\n"
        "func (f File) Size() int { return f.n }\n\n"
        'func (f File) Name() string { return "f" }\n\n'
        "//go:noinline\nfunc Weight(s Sizer) int { return s.Size() * len(s.Name()) }\n\n"
        "func Use(n int) int {\n"
        "\treturn Weight(File{n, 1}) + Weight(File{n, 2}) + Weight(File{n, 3})\n}",
        True,
        "func Weight[S Sizer](s S) int",
        # Small enough a total for the driver's own boxing of it not to allocate.
        driver="Use(7)",
    ),
]

DOES_NOT_APPLY = [
    # The compiler reports no leak for a generic function's parameters (its
    # instantiations are dupok), so there is no finding to anchor a fix to.
    Case(
        "existing_type_parameters",
        SHAPE + "//go:noinline\nfunc Sum[N int | float64](s Shape, n N) float64 {\n"
        "\treturn s.Area() * float64(n)\n}\n\n"
        "func Use() float64 { return Sum(Rect{1, 2}, 3) }",
        False,
    ),
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
    # Each converts the parameter back to an interface: as a type parameter the boxing
    # only moves from the call sites into the function, once per call as before. With
    # three callers, the compiler's count of findings would still drop by two.
    Case(
        "stored_in_a_map_of_any",
        'import "fmt"\n\ntype Point struct{ X, Y int }\n\n'
        "//go:noinline\nfunc tag(typeName string, data any) string {\n"
        '\tm := map[string]any{"type": typeName, "data": data}\n\treturn fmt.Sprint(len(m))\n}\n\n'
        'func Use(n int) string {\n\treturn tag("a", Point{n, 1}) + tag("b", Point{n, 2}) + '
        'tag("c", Point{n, 3})\n}',
        False,
        driver="Use(7)",
    ),
    Case(
        "passed_to_fmt_sprint",
        'import "fmt"\n\ntype Point struct{ X, Y int }\n\n'
        "//go:noinline\nfunc Describe(v any) string { return fmt.Sprint(v) }\n\n"
        "func Use() string {\n"
        "\treturn Describe(Point{1, 2}) + Describe(Point{3, 4}) + Describe(Point{5, 6})\n}",
        False,
    ),
    Case(
        "passed_to_a_method_taking_any",
        'import "encoding/json"\n\ntype Point struct{ X, Y int }\n\n'
        "type Codec struct{ out []byte }\n\n"
        "func (c *Codec) Encode(v any) error {\n\tb, err := json.Marshal(v)\n"
        "\tc.out = append(c.out, b...)\n\treturn err\n}\n\n"
        "//go:noinline\nfunc Encode(c *Codec, v any) error { return c.Encode(v) }\n\n"
        "func Use(c *Codec) {\n\tEncode(c, Point{1, 2})\n\tEncode(c, Point{3, 4})\n"
        "\tEncode(c, Point{5, 6})\n}",
        False,
    ),
    Case(
        "converted_explicitly",
        SHAPE + "var last any\n\n"
        "//go:noinline\nfunc Keep(s Shape) float64 {\n\tlast = any(s)\n\treturn s.Area()\n}\n\n"
        "func Use() float64 { return Keep(Rect{1, 2}) + Keep(Rect{3, 4}) + Keep(Rect{5, 6}) }",
        False,
    ),
    Case(
        "boxed_in_a_closure",
        'import "fmt"\n\ntype Point struct{ X, Y int }\n\n'
        "//go:noinline\nfunc Width(v any) int {\n"
        "\tf := func() int { return len(fmt.Sprint(v)) }\n\treturn f()\n}\n\n"
        "func Use() int { return Width(Point{1, 2}) + Width(Point{3, 4}) + Width(Point{5, 6}) }",
        False,
    ),
]


@pytest.mark.parametrize("case", APPLIES, ids=str)
def test_type_parameter_applies(case: Case, tmp_path: Path) -> None:
    mod = module(tmp_path, case)
    before = heap_escapes(mod)
    fix = fixed(mod, "type-parameter")
    text = fix.fixed.decode()
    assert case.expect in text, text
    assert fix.removed_escapes >= 1 and " off the heap (verified" in fix.title
    (mod / "p.go").write_bytes(fix.fixed)
    assert_clean_build(mod)
    assert before - heap_escapes(mod) == fix.removed_escapes


#: Where each case is refused, and why; a case not listed is never proposed. Those the
#: syntax allows, the compiler refuses: the parameter itself now escapes inside F.
REFUSED: dict[str, tuple[Stage, str]] = {
    "stored_as_interface_anyway": (Stage.ACCEPT, f"{NEW_ESCAPE}: s at"),
    "stored_in_a_map_of_any": (Stage.ACCEPT, f"{NEW_ESCAPE}: data at"),
    "passed_to_fmt_sprint": (Stage.ACCEPT, f"{NEW_ESCAPE}: v at"),
    "passed_to_a_method_taking_any": (Stage.ACCEPT, f"{NEW_ESCAPE}: v at"),
    "converted_explicitly": (Stage.ACCEPT, f"{NEW_ESCAPE}: any(s) at"),
    "boxed_in_a_closure": (Stage.ACCEPT, f"{NEW_ESCAPE}: v at"),
}


def test_every_refusal_named_is_a_case() -> None:
    assert set(REFUSED) <= {c.name for c in DOES_NOT_APPLY}


@pytest.mark.parametrize("case", DOES_NOT_APPLY, ids=str)
def test_type_parameter_does_not_apply(case: Case, tmp_path: Path) -> None:
    stage, reason = REFUSED.get(case.name, (Stage.PROPOSE, NO_CANDIDATE))
    assert_refused(find_fix(module(tmp_path, case), "type-parameter"), stage, reason)


_BOXED_INSIDE = (
    "stored_in_a_map_of_any",
    "passed_to_fmt_sprint",
    "passed_to_a_method_taking_any",
    "converted_explicitly",
    "boxed_in_a_closure",
)


def test_a_fix_that_gains_nothing_is_dropped_by_verification(tmp_path: Path) -> None:
    """Storing the parameter in an interface-typed variable boxes it inside F instead of
    at the call site: the rewrite builds, but the compiler shows no escape removed."""
    case = next(c for c in DOES_NOT_APPLY if c.name == "stored_as_interface_anyway")
    mod = module(tmp_path, case)
    engine = Engine(Options(), ResultCache(None))
    result = engine.check(["."], str(mod))
    candidates = propose(
        result.findings, lambda p: SourceFile(p, Path(p).read_bytes()), ("type-parameter",)
    )
    assert candidates, "the syntax allows it; only the compiler can say it gains nothing"
    service = FixService(engine)
    query = service.query_for(str(mod))
    assert query is not None
    for c in candidates:
        refused = service.verify(query, {}, c, result.findings)
        assert_refused(refused, Stage.ACCEPT, f"{NEW_ESCAPE}: s at")


def _propose(mod: Path) -> tuple[list[TypeParameterCandidate], list[Finding]]:
    engine = Engine(Options(), ResultCache(None))
    result = engine.check(["."], str(mod))
    found = propose(
        result.findings, lambda p: SourceFile(p, Path(p).read_bytes()), ("type-parameter",)
    )
    return [c for c in found if isinstance(c, TypeParameterCandidate)], result.findings


@pytest.mark.parametrize("case", [c for c in DOES_NOT_APPLY if c.name in _BOXED_INSIDE], ids=str)
def test_boxing_moved_into_the_function_is_refused(case: Case, tmp_path: Path) -> None:
    """The rewrite builds and the package has fewer findings (one inside the function
    instead of one per call site), which is what the fix used to claim as its gain.
    The compiler's own findings for the rewritten function show the parameter still
    converted to an interface, so there is no fix."""
    mod = module(tmp_path, case)
    candidates, before = _propose(mod)
    assert candidates, "the syntax allows it; only the compiler can say it gains nothing"
    engine = Engine(Options(), ResultCache(None))
    service = FixService(engine)
    query = service.query_for(str(mod))
    assert query is not None
    goroot = engine.go_env(str(mod)).goroot
    for cand in candidates:
        original = Path(cand.file).read_bytes()
        fixed, _ = finish(original, cand.alternatives[0].edits, goroot)
        after = engine.check_queries([query], {cand.file: fixed})
        assert not after.all_errors
        heap = [f for f in after.findings if f.kind in HEAP_KINDS]
        assert len(heap) < sum(1 for f in before if f.kind in HEAP_KINDS)
        assert still_boxed(cand, after.findings)
        # The new escape inside F is what refuses it, before ``still_boxed`` is asked.
        stage, reason = REFUSED[case.name]
        assert_refused(service.verify(query, {}, cand, before), stage, reason)
        if case.driver:
            # And at run time: the rewrite allocates no less per call than the original.
            boxed = allocations(mod, case.driver)
            (mod / "p.go").write_bytes(fixed)
            assert allocations(mod, case.driver) >= boxed
            (mod / "p.go").write_bytes(original)


def test_only_interface_parameters_are_candidates(tmp_path: Path) -> None:
    """`typeName string` sits next to a parameter the callers box: it is no candidate."""
    case = next(c for c in DOES_NOT_APPLY if c.name == "stored_in_a_map_of_any")
    candidates, _ = _propose(module(tmp_path, case))
    assert [c.parameter for c in candidates] == ["data"]


def test_type_parameter_removes_allocations(tmp_path: Path) -> None:
    """What the title claims, measured: the callers' boxing is gone from every call."""
    case = next(c for c in APPLIES if c.name == "methods_only_many_callers")
    mod = module(tmp_path, case)
    before = allocations(mod, case.driver)
    fix = fixed(mod, "type-parameter")
    assert fix.removed_escapes == 3, fix
    (mod / "p.go").write_bytes(fix.fixed)
    assert (before, allocations(mod, case.driver)) == (3, 0)


def test_a_struct_parameter_is_never_made_a_constraint(tmp_path: Path) -> None:
    """The callers box the interface argument, not the struct one beside it (which also
    leaks, and is declared in another file, as zapcore's Entry is): only the parameter
    the conversion is for is a candidate."""
    code = (
        SHAPE + "var last *int\n\n"
        "//go:noinline\nfunc record(e Entry, s Shape) float64 {\n\tlast = e.p\n"
        "\treturn s.Area()\n}\n\n"
        "func Use(e Entry) float64 { return record(e, Rect{1, 2}) + record(e, Rect{3, 4}) }"
    )
    mod = module(tmp_path, Case("struct_beside", code, False))
    (mod / "entry.go").write_text("package p\n\ntype Entry struct{ p *int }\n")
    candidates, findings = _propose(mod)
    assert any(f.kind.value == "leaking-param" and f.subject == "e" for f in findings)
    assert [c.parameter for c in candidates] == ["s"]


def test_exported_functions_change_the_api(tmp_path: Path) -> None:
    """Callers outside the module may pass nil or use the function as a value: making an
    exported function generic is flagged, so that it is applied only when asked."""
    case = next(c for c in APPLIES if c.name == "methods_only_many_callers")
    candidates, _ = _propose(module(tmp_path, case))
    exported = [c for c in candidates if c.function[:1].isupper()]
    assert exported and all(c.changes_api for c in exported)
    unexported = Case(
        "unexported",
        SHAPE
        + "//go:noinline\nfunc area(s Shape) float64 { return s.Area() }\n\nfunc Use() float64 { return area(Rect{1, 2}) }",
        False,
    )
    found, _ = _propose(module(tmp_path, unexported))
    assert found and not any(c.changes_api for c in found)

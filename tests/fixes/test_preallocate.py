"""The preallocate fix against the real compiler: where it applies, where it must not."""

from __future__ import annotations

from pathlib import Path

import pytest

from heaplens.fixes.fixer import NO_CANDIDATE, Stage
from heaplens.fixes.verify import DOES_NOT_BUILD
from tests.fixes.runner import (
    Case,
    allocations,
    assert_clean_build,
    assert_refused,
    find_fix,
    fixed,
    module,
)

APPLIES = [
    Case(
        "range_slice_nil",
        "func F(xs []int) []int {\n\tvar out []int\n\tfor _, x := range xs {\n"
        "\t\tout = append(out, x*2)\n\t}\n\treturn out\n}",
        True,
        "out := make([]int, 0, len(xs))",
        "F(make([]int, 200))",
    ),
    Case(
        "range_map_keys",
        "func F(m map[string]int) []string {\n\tkeys := []string{}\n\tfor k := range m {\n"
        "\t\tkeys = append(keys, k)\n\t}\n\treturn keys\n}",
        True,
        "keys := make([]string, 0, len(m))",
        'F(map[string]int{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9})',
    ),
    Case(
        "make_zero_length",
        "func F(ss []string) []string {\n\tout := make([]string, 0)\n\tfor _, s := range ss {\n"
        '\t\tout = append(out, s+"!")\n\t}\n\treturn out\n}',
        True,
        "out := make([]string, 0, len(ss))",
        'F([]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"})',
    ),
    Case(
        "counted_loop",
        "func F(n int) []int {\n\tvar out []int\n\tfor i := 0; i < n; i++ {\n"
        "\t\tout = append(out, i*i)\n\t}\n\treturn out\n}",
        True,
        "out := make([]int, 0, max(n, 0))",
        "F(300)",
    ),
    Case(
        "counted_from_a",
        "func F(a, n int) []int {\n\tvar out []int\n\tfor i := a; i < n; i++ {\n"
        "\t\tout = append(out, i)\n\t}\n\treturn out\n}",
        True,
        "out := make([]int, 0, max(n, a)-a)",
        "F(5, 300)",
    ),
    Case(
        "range_string_runes",
        "func F(s string) []rune {\n\tvar rs []rune\n\tfor _, r := range s {\n"
        "\t\trs = append(rs, r)\n\t}\n\treturn rs\n}",
        True,
        "rs := make([]rune, 0, len(s))",
        'F("a string that is long enough to need more than one growth step")',
    ),
    Case(
        "range_over_int",
        "func F(n int) []int {\n\tvar sq []int\n\tfor i := range n {\n"
        "\t\tsq = append(sq, i*i)\n\t}\n\treturn sq\n}",
        True,
        "sq := make([]int, 0, max(n, 0))",
        "F(300)",
    ),
    Case(
        "map_fill",
        "func F(words []string) map[string]int {\n\tidx := map[string]int{}\n"
        "\tfor i, w := range words {\n\t\tidx[w] = i\n\t}\n\treturn idx\n}",
        True,
        "idx := make(map[string]int, len(words))",
        'F([]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"})',
    ),
    Case(
        "statement_between",
        "func F(xs []int) ([]int, int) {\n\tvar out []int\n\ttotal := 0\n"
        "\tfor _, x := range xs {\n\t\ttotal += x\n\t\tout = append(out, x)\n\t}\n"
        "\treturn out, total\n}",
        True,
        "total := 0\n\tout := make([]int, 0, len(xs))\n\tfor",
        "func() any { s, _ := F(make([]int, 100)); return s }()",
    ),
    Case(
        "range_over_a_hex_count",
        "func F() []int {\n\tvar out []int\n\tfor i := range 0x120 {\n"
        "\t\tout = append(out, i)\n\t}\n\treturn out\n}",
        True,
        "out := make([]int, 0, 288)",
        "F()",
    ),
    Case(
        "break_leaves_a_switch_only",
        "func F(xs []int) []int {\n\tvar out []int\n\tfor _, x := range xs {\n"
        "\t\tswitch {\n\t\tcase x < 0:\n\t\t\tx = -x\n\t\t\tbreak\n\t\t}\n"
        "\t\tout = append(out, x)\n\t}\n\treturn out\n}",
        True,
        "out := make([]int, 0, len(xs))",
        "F(make([]int, 200))",
    ),
]

DOES_NOT_APPLY = [
    Case(
        "also_appended_in_an_inner_loop",
        "func F(xss [][]int) []int {\n\tvar out []int\n\tfor _, xs := range xss {\n"
        "\t\tout = append(out, len(xs))\n\t\tfor _, x := range xs {\n"
        "\t\t\tout = append(out, x)\n\t\t}\n\t}\n\treturn out\n}",
        False,
    ),
    Case(
        "also_appended_in_a_closure",
        "func F(xs []int, each func(func())) []int {\n\tvar out []int\n"
        "\tfor _, x := range xs {\n\t\tout = append(out, x)\n"
        "\t\teach(func() { out = append(out, -x) })\n\t}\n\treturn out\n}",
        False,
    ),
    Case(
        "range_over_a_literal",
        "func F() []string {\n\tvar out []string\n"
        '\tfor _, s := range []string{"a", "b", "c"} {\n\t\tout = append(out, s+"!")\n\t}\n'
        "\treturn out\n}",
        False,
    ),
    # Filtered loops: sizing to the trip count allocates where nothing passes the filter
    # (append would not have) and over-allocates where an if/else splits the input.
    Case(
        "filtered_by_continue",
        "func F(xs []int) []int {\n\tvar pos []int\n\tfor _, x := range xs {\n"
        "\t\tif x < 0 {\n\t\t\tcontinue\n\t\t}\n\t\tpos = append(pos, x)\n\t}\n\treturn pos\n}",
        False,
    ),
    Case(
        "append_under_if",
        "func F(xs []int) []int {\n\tvar pos []int\n\tfor _, x := range xs {\n"
        "\t\tif x > 0 {\n\t\t\tpos = append(pos, x)\n\t\t}\n\t}\n\treturn pos\n}",
        False,
    ),
    Case(
        "if_else_split",
        "func F(xs []int) ([]int, []int) {\n\tvar odd []int\n\tvar even []int\n"
        "\tfor _, x := range xs {\n\t\tif x%2 == 1 {\n\t\t\todd = append(odd, x)\n"
        "\t\t} else {\n\t\t\teven = append(even, x)\n\t\t}\n\t}\n\treturn odd, even\n}",
        False,
    ),
    Case(
        "continue_inside_a_switch",
        "func F(xs []int) []int {\n\tvar out []int\n\tfor _, x := range xs {\n"
        "\t\tswitch {\n\t\tcase x < 0:\n\t\t\tcontinue\n\t\t}\n"
        "\t\tout = append(out, x)\n\t}\n\treturn out\n}",
        False,
    ),
    Case(
        "map_write_under_if",
        "func F(words []string) map[string]int {\n\tidx := map[string]int{}\n"
        '\tfor i, w := range words {\n\t\tif w != "" {\n\t\t\tidx[w] = i\n\t\t}\n\t}\n'
        "\treturn idx\n}",
        False,
    ),
    Case(
        "loop_breaks",
        "func F(xs []int) []int {\n\tvar out []int\n\tfor _, x := range xs {\n"
        "\t\tif x == 0 {\n\t\t\tbreak\n\t\t}\n\t\tout = append(out, x)\n\t}\n\treturn out\n}",
        False,
    ),
    Case(
        "loop_returns",
        "func F(xs []int) []int {\n\tvar out []int\n\tfor _, x := range xs {\n"
        "\t\tif x == 0 {\n\t\t\treturn nil\n\t\t}\n\t\tout = append(out, x)\n\t}\n\treturn out\n}",
        False,
    ),
    Case(
        "range_over_channel",
        "func F(ch chan int) []int {\n\tvar out []int\n\tfor x := range ch {\n"
        "\t\tout = append(out, x)\n\t}\n\treturn out\n}",
        False,
    ),
    Case(
        "range_over_iterator_func",
        "func F(seq func(func(int) bool)) []int {\n\tvar out []int\n\tfor x := range seq {\n"
        "\t\tout = append(out, x)\n\t}\n\treturn out\n}",
        False,
    ),
    Case(
        "variadic_append",
        "func F(xss [][]int) []int {\n\tvar out []int\n\tfor _, xs := range xss {\n"
        "\t\tout = append(out, xs...)\n\t}\n\treturn out\n}",
        False,
    ),
    Case(
        "append_in_inner_loop",
        "func F(xss [][]int) []int {\n\tvar out []int\n\tfor _, xs := range xss {\n"
        "\t\tfor _, x := range xs {\n\t\t\tout = append(out, x)\n\t\t}\n\t}\n\treturn out\n}",
        False,
    ),
    Case(
        "used_between_declaration_and_loop",
        "func F(xs []int) []int {\n\tvar out []int\n\tout = append(out, -1)\n"
        "\tfor _, x := range xs {\n\t\tout = append(out, x)\n\t}\n\treturn out\n}",
        False,
    ),
    Case(
        "goto_out",
        "func F(xs []int) []int {\n\tvar out []int\n\tfor _, x := range xs {\n"
        "\t\tif x < 0 {\n\t\t\tgoto done\n\t\t}\n\t\tout = append(out, x)\n\t}\ndone:\n\treturn out\n}",
        False,
    ),
]


@pytest.mark.parametrize("case", APPLIES, ids=str)
def test_preallocate_applies(case: Case, tmp_path: Path) -> None:
    mod = module(tmp_path, case)
    before_allocs = allocations(mod, case.driver)
    fix = fixed(mod, "preallocate")
    assert fix.verified and "verified" in fix.title
    text = fix.fixed.decode()
    assert case.expect in text, text
    (mod / "p.go").write_bytes(fix.fixed)
    assert_clean_build(mod)
    after_allocs = allocations(mod, case.driver)
    assert after_allocs < before_allocs, (before_allocs, after_allocs)  # less growth
    if "var " in case.code.split("for")[0] and "make(" not in case.code.split("for")[0]:
        assert "no longer nil" in fix.title


#: Where each case is refused, and why; a case not listed is never proposed.
REFUSED: dict[str, tuple[Stage, str]] = {
    "range_over_channel": (Stage.COMPILE, DOES_NOT_BUILD),
    "range_over_iterator_func": (Stage.COMPILE, DOES_NOT_BUILD),
}


def test_every_refusal_named_is_a_case() -> None:
    assert set(REFUSED) <= {c.name for c in DOES_NOT_APPLY}


@pytest.mark.parametrize("case", DOES_NOT_APPLY, ids=str)
def test_preallocate_does_not_apply(case: Case, tmp_path: Path) -> None:
    stage, reason = REFUSED.get(case.name, (Stage.PROPOSE, NO_CANDIDATE))
    assert_refused(find_fix(module(tmp_path, case), "preallocate"), stage, reason)

"""Bounds checks and nil checks (kinds ``bounds-check`` and ``nil-check``), from the real
compiler's ``-json`` log: where the compiler keeps a check, the finding underlines the whole
checked expression; where it proves one away, there is none. They are opt-in: the engine
always finds them, and only the presentations leave them out by default.

What the log says, measured with Go 1.26.8 (``heaplens.checks`` says more): a bounds check
is logged at the ``[``, once per bound of a slice expression; a nil check at the ``.``,
``[``, ``*`` or ``range`` of the access that needs it; a load that faults by itself
(``return p.A``) needs none.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import ROOT, check_json, run_cli
from heaplens.analysis import Engine, Options
from heaplens.cache import ResultCache
from heaplens.model import Kind

SOURCE = """package p

type T struct {
	A, B int
	Arr  [8]int
}

func Index(s []int, i int) int {
	return s[i]
}

func Slice(s []int, i, j int) []int {
	return s[i:j]
}

func Const(s []int) int {
	return s[3] + s[1]
}

func Range(s []int) int {
	t := 0
	for i := range s {
		t += s[i]
	}
	return t
}

func Addr(p *T) *int {
	return &p.B
}

func Load(p *T) int {
	return p.A
}

func Deref(p *int) {
	_ = *p
}

func Wide(s []int, i int) int {
	x := "é"; return s[i] + len(x)
}
"""


def _span(line: str, expr: str, nth: int = 1) -> tuple[int, int, int, int]:
    """(line, column, end line, end column) of the ``nth`` ``expr`` on the first line of
    ``SOURCE`` holding ``line``, in 1-based byte columns, as the compiler counts."""
    for number, text in enumerate(SOURCE.encode().splitlines(), 1):
        if line.encode() in text:
            at = -1
            for _ in range(nth):
                at = text.index(expr.encode(), at + 1)
            return number, at + 1, number, at + 1 + len(expr.encode())
    raise AssertionError(f"no line with {line!r}")


def _where(f: dict[str, Any]) -> tuple[int, int, int, int]:
    return f["line"], f["column"], f["end_line"], f["end_column"]


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mod = tmp_path_factory.mktemp("checks")
    (mod / "go.mod").write_text("module example.com/checks\n\ngo 1.22\n")
    (mod / "p").mkdir()
    (mod / "p" / "p.go").write_text(SOURCE)
    return mod


@pytest.fixture(scope="module")
def shown(module: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    env = {**os.environ, "HEAPLENS_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    rc, data, err = check_json("--kinds", "bounds-check,nil-check", "./...", cwd=module, env=env)
    assert rc == 0, err
    found: list[dict[str, Any]] = data["findings"]
    return found


def _of(found: list[dict[str, Any]], function: str) -> list[dict[str, Any]]:
    return [f for f in found if f["function"] == function]


def test_an_index_is_checked_on_the_whole_expression(shown: list[dict[str, Any]]) -> None:
    [f] = _of(shown, "Index")
    assert f["kind"] == "bounds-check"
    assert _where(f) == _span("return s[i]", "s[i]")
    assert f["message"] == "bounds check on s[i]: the compiler cannot prove i is within s"
    assert f["subject"] == "s[i]"


def test_a_slice_expression_is_one_finding_for_its_two_bounds(
    shown: list[dict[str, Any]],
) -> None:
    [f] = _of(shown, "Slice")
    assert _where(f) == _span("return s[i:j]", "s[i:j]")
    assert f["count"] == 2  # j <= cap(s) and i <= j: two checks the log reports apart
    assert "the slice bounds [i:j] are within s" in f["message"]


def test_a_constant_index_after_a_larger_one_is_not_checked(
    shown: list[dict[str, Any]],
) -> None:
    """``s[3]`` proves ``len(s) > 3``, so ``s[1]`` needs no check."""
    [f] = _of(shown, "Const")
    assert _where(f) == _span("s[3] + s[1]", "s[3]")
    assert f["message"] == "bounds check on s[3]: the compiler cannot prove 3 is within s"


def test_an_index_by_a_range_loop_is_not_checked(shown: list[dict[str, Any]]) -> None:
    assert _of(shown, "Range") == []


def test_a_nil_check_covers_the_dereferenced_expression(shown: list[dict[str, Any]]) -> None:
    [addr] = _of(shown, "Addr")
    assert addr["kind"] == "nil-check"
    assert _where(addr) == _span("return &p.B", "p.B")
    assert addr["message"] == "nil check of p before p.B"
    [deref] = _of(shown, "Deref")
    assert _where(deref) == _span("_ = *p", "*p")
    assert deref["message"] == "nil check of p before *p"


def test_a_load_that_faults_by_itself_has_no_nil_check(shown: list[dict[str, Any]]) -> None:
    assert _of(shown, "Load") == []


def test_columns_count_bytes(shown: list[dict[str, Any]]) -> None:
    [f] = _of(shown, "Wide")
    line, col, _, end = _span("return s[i] + len(x)", "s[i]")
    assert (f["line"], f["column"], f["end_column"]) == (line, col, end)
    assert col == 20  # "é" is two bytes: one column more than it has characters


def test_default_check_shows_neither_kind(module: Path, cli_env: dict[str, str]) -> None:
    rc, data, err = check_json("./...", cwd=module, env=cli_env)
    assert rc == 0, err
    kinds = {f["kind"] for f in data["findings"]}
    assert not kinds & {"bounds-check", "nil-check"}
    text = run_cli("check", "./...", cwd=module, env=cli_env)
    assert "bounds check" not in text.stdout and "nil check" not in text.stdout


def test_the_engine_finds_them_whatever_is_shown(module: Path) -> None:
    """Assertions (``//gcassert:bce``) read bounds checks even when they are not shown."""
    result = Engine(Options(tests=False), ResultCache(None)).check(["./..."], str(module))
    found = {(f.kind, f.function) for f in result.findings}
    assert (Kind.BOUNDS_CHECK, "Index") in found
    assert (Kind.NIL_CHECK, "Deref") in found


def test_sarif_has_their_rules_and_results(module: Path, cli_env: dict[str, str]) -> None:
    proc = run_cli(
        "check",
        "--format",
        "sarif",
        "--kinds",
        "bounds-check,nil-check",
        "./...",
        cwd=module,
        env=cli_env,
    )
    assert proc.returncode == 0, proc.stderr
    sarif = json.loads(proc.stdout)
    schema = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema, cls=jsonschema.Draft4Validator)
    run = sarif["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["bounds-check"]["name"] == "BoundsCheck"
    assert rules["nil-check"]["shortDescription"]["text"] == "A pointer is checked for nil"
    used = {r["ruleId"] for r in run["results"]}
    assert used == {"bounds-check", "nil-check"}


def test_fail_on_a_bounds_check(module: Path, cli_env: dict[str, str]) -> None:
    proc = run_cli("check", "--fail-on", "bounds-check", "./...", cwd=module, env=cli_env)
    assert proc.returncode == 1, proc.stderr
    assert "bounds check on s[i]" in proc.stdout

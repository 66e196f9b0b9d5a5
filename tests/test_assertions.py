"""Assertions in the source (``//heaplens:noescape``, ``//gcassert:noescape|bce|inline``)
judged by ``heaplens check``: the real CLI, the real compiler, modules written here."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import ROOT, check_json, line_of, run_cli

GO_MOD = "module example.com/a\n\ngo 1.22\n"

#: Each directive holding and breaking. The comment after a case says what must happen.
SOURCE = """\
package a

type T struct{ a, b int }

var sink *T

func Stmt() *T {
	p := &T{1, 2} //heaplens:noescape
	return p
}

func StmtHolds() int {
	//heaplens:noescape
	v := T{1, 2}
	return v.a
}

//heaplens:noescape
func Fn(n int) []int {
	return make([]int, n)
}

// FnHolds is documented.
//
//heaplens:noescape
func FnHolds(n int) int {
	v := T{n, n}
	return v.b
}

func FnLine() *T { //heaplens:noescape
	return &T{3, 4}
}

func Param(
	p *T, //heaplens:noescape
	//heaplens:noescape
	q *T,
	r *T, //heaplens:noescape
) (int, *T) {
	sink = p
	return q.a, r
}

//heaplens:noescape q, zz
func Named(p, q *T) *T {
	sink = q
	return p
}

func Sum(xs []int, k int) int {
	s := 0
	for i := range xs {
		s += xs[i] //gcassert:bce
	}
	s += xs[k] //gcassert:bce
	var arr [4]int
	s += arr[2] //gcassert:bce
	//gcassert:bce
	s += xs[3]
	return s
}

//gcassert:inline
func Inlinable(n int) int { return n + 1 }

//gcassert:inline
//go:noinline
func NotInlinable(n int) int { return n + 2 }

func Calls(n int) int {
	//gcassert:inline
	return Inlinable(n) + NotInlinable(n)
}

func CallsNone(n int) int {
	return NotInlinable(n) //gcassert:inline
}

//gcassert:noescape
func (t T) SetA(a int) *T {
	t.a = a
	return &t
}

//gcassert:noescape
func (t T) ReturnA(
	//gcassert:noescape
	a int,
	b int,
) *int {
	return &a
}

func GcStmt() *T {
	//gcassert:noescape
	v := T{1, 2}
	return &v
}

func Typos() {
	//heaplens:noscape
	_ = 1
	//gcassert:noesacpe
	_ = 2
	//gcassert:bce,wat
	_ = 3
}

func Nothing() {
	_ = 1
	//heaplens:noescape
}
"""


#: Every directive, holding; and prose that only looks like one.
HOLDING = """\
package a

// heaplens: this comment is prose, not a directive.
type T struct{ a int }

//heaplens:noescape
func Sum(xs []int) int {
	s := 0
	for i := range xs {
		s += xs[i] //gcassert:bce
	}
	v := T{s} //gcassert:noescape
	return v.a
}
"""


def _module(root: Path, source: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text(GO_MOD)
    (root / "a.go").write_text(source)
    return root


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path]:
    """One check of the module with every case, with only inlining notes asked for:
    assertions and directive warnings are reported anyway."""
    base = tmp_path_factory.mktemp("assertions")
    module = _module(base / "a", SOURCE)
    env = _env(base)
    rc, data, stderr = check_json("--kinds", "inlining", "./...", cwd=module, env=env)
    assert data["findings"], stderr
    return rc, data, module / "a.go"


def _env(base: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HEAPLENS_CACHE_DIR"] = str(base / "cache")
    return env


def _at(data: dict[str, Any], kind: str, line: int) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["kind"] == kind and f["line"] == line]


def _one(data: dict[str, Any], kind: str, line: int) -> dict[str, Any]:
    found = _at(data, kind, line)
    assert len(found) == 1, (line, [(f["line"], f["message"]) for f in data["findings"]])
    return found[0]


def _line(path: Path, needle: str, after: str = "") -> int:
    """The line of the first ``needle`` (after the first ``after``, when given)."""
    if not after:
        return line_of(path, needle)[0]
    lines = path.read_text().splitlines()
    start = _line(path, after)
    return next(i for i, text in enumerate(lines, 1) if i > start and needle in text)


def test_a_broken_statement_assertion_names_the_verdict(report: Any) -> None:
    rc, data, go = report
    assert rc == 1  # a broken assertion fails the check without --fail-on
    line = _line(go, "p := &T{1, 2} //heaplens:noescape")
    f = _one(data, "assertion", line)
    assert f["message"] == (
        "//heaplens:noescape broken: &T{...} escapes to heap (returned to the caller)"
    )
    assert (f["column"], f["end_line"]) == (2, line)  # the whole statement
    assert [(s["line"], s["column"]) for s in f["flow"]] == [(line, 7)]
    # --kinds inlining hid the escape itself, not the assertion about it.
    assert not _at(data, "escapes-to-heap", line)
    assert not _at(data, "assertion", _line(go, "v := T{1, 2}", after="func StmtHolds"))


def test_a_function_assertion(report: Any) -> None:
    _, data, go = report
    f = _one(data, "assertion", _line(go, "func Fn(n int)"))
    assert f["message"].startswith("//heaplens:noescape broken: make([]int, n) escapes to heap")
    assert f["function"] == "Fn" and f["column"] == len("func ") + 1
    assert not _at(data, "assertion", _line(go, "func FnHolds"))
    # At the end of the func line, it is the function's too.
    line = _line(go, "func FnLine() *T { //heaplens:noescape")
    assert _one(data, "assertion", line)["message"].startswith(
        "//heaplens:noescape broken: &T{...} escapes to heap"
    )


def test_parameter_assertions(report: Any) -> None:
    _, data, go = report
    p = _one(data, "assertion", _line(go, "p *T, //heaplens:noescape"))
    assert p["message"] == "//heaplens:noescape broken: leaking param: p"
    # q is only read; r leaks to the result only, which is the caller's to judge.
    assert not _at(data, "assertion", _line(go, "\tq *T,"))
    assert not _at(data, "assertion", _line(go, "r *T, //heaplens:noescape"))


def test_parameters_named_above_a_function(report: Any) -> None:
    _, data, go = report
    named = _line(go, "func Named(p, q *T)")
    q = _one(data, "assertion", named)
    assert q["message"] == "//heaplens:noescape q broken: leaking param: q"
    assert q["column"] == len("func Named(p, ") + 1  # at q, not p (which leaks to a result)
    unknown = _one(data, "directive", _line(go, "//heaplens:noescape q, zz"))
    assert "no parameter zz" in unknown["message"]


def test_bce_on_a_range_loop_a_variable_and_a_constant_index(report: Any) -> None:
    _, data, go = report
    assert not _at(data, "assertion", _line(go, "s += xs[i] //gcassert:bce"))
    by_var = _one(data, "assertion", _line(go, "s += xs[k] //gcassert:bce"))
    assert by_var["message"] == (
        "//gcassert:bce broken: bounds check on xs[k]: the compiler cannot prove k is within xs"
    )
    # A constant index into an array needs no check; into a slice of unknown length it
    # does (and the directive above the statement judges it).
    assert not _at(data, "assertion", _line(go, "s += arr[2]"))
    const = _one(data, "assertion", _line(go, "s += xs[3]"))
    assert const["message"] == (
        "//gcassert:bce broken: bounds check on xs[3]: the compiler cannot prove 3 is within xs"
    )


def test_gcassert_inline_on_a_declaration(report: Any) -> None:
    _, data, go = report
    assert not _at(data, "assertion", _line(go, "func Inlinable("))
    f = _one(data, "assertion", _line(go, "func NotInlinable("))
    assert f["message"].startswith("//gcassert:inline broken: cannot inline NotInlinable")
    # On a statement gcassert asks that some call is inlined. The log never says one
    # was, but it says NotInlinable cannot be: a line calling nothing else breaks, one
    # that also calls Inlinable holds.
    assert not _at(data, "assertion", _line(go, "return Inlinable(n) + NotInlinable(n)"))
    none = _one(data, "assertion", _line(go, "return NotInlinable(n) //gcassert:inline"))
    assert none["message"] == (
        "//gcassert:inline broken: cannot inline NotInlinable: marked go:noinline"
    )
    assert none["flow"][0]["line"] == _line(go, "func NotInlinable(")


def test_gcassert_noescape_with_gcassert_meaning(report: Any) -> None:
    _, data, go = report
    set_a = _one(data, "assertion", _line(go, "func (t T) SetA("))
    assert set_a["message"].startswith("//gcassert:noescape broken: moved to heap: t")
    # gcassert judges a function by its first line: ReturnA's a, declared below it,
    # has its own directive, which breaks.
    assert not _at(data, "assertion", _line(go, "func (t T) ReturnA("))
    a = _one(data, "assertion", _line(go, "\ta int,"))
    assert a["message"].startswith("//gcassert:noescape broken: moved to heap: a")
    stmt = _one(data, "assertion", _line(go, "v := T{1, 2}", after="func GcStmt"))
    assert stmt["message"].startswith("//gcassert:noescape broken: moved to heap: v")


def test_misspelt_directives_are_warnings(report: Any) -> None:
    _, data, go = report
    heaplens = _one(data, "directive", _line(go, "//heaplens:noscape"))
    assert (
        "unknown directive //heaplens:noscape: did you mean //heaplens:noescape?"
        in (heaplens["message"])
    )
    gcassert = _one(data, "directive", _line(go, "//gcassert:noesacpe"))
    assert "did you mean //gcassert:noescape?" in gcassert["message"]
    wat = _one(data, "directive", _line(go, "//gcassert:bce,wat"))
    assert "unknown directive //gcassert:wat" in wat["message"]
    assert (heaplens["column"], heaplens["end_column"]) == (2, 2 + len("//heaplens:noscape"))
    nothing = _one(data, "directive", _line(go, "//heaplens:noescape", after="func Nothing"))
    assert nothing["message"].startswith("//heaplens:noescape applies to nothing")


def test_holding_assertions_say_nothing_and_exit_0(tmp_path: Path) -> None:
    module = _module(tmp_path / "ok", HOLDING)
    rc, data, stderr = check_json("./...", cwd=module, env=_env(tmp_path))
    assert (rc, data["findings"]) == (0, []), stderr


def test_a_build_error_still_wins_over_a_broken_assertion(tmp_path: Path) -> None:
    module = _module(
        tmp_path / "m",
        "package a\n\nfunc F() *int {\n\tx := 1 //heaplens:noescape\n\treturn &x\n}\n",
    )
    (module / "b").mkdir()
    (module / "b" / "b.go").write_text("package b\n\nfunc G() { undefined() }\n")
    proc = run_cli("check", "./...", cwd=module, env=_env(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "//heaplens:noescape broken: moved to heap: x" in proc.stdout
    # Fixed, the broken assertion alone fails the run; a warning alone does not.
    (module / "b" / "b.go").write_text("package b\n\nfunc G() {\n\t//heaplens:wat\n}\n")
    proc = run_cli("check", "./...", cwd=module, env=_env(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (module / "a.go").write_text(
        "package a\n\nfunc F() int {\n\tx := 1 //heaplens:noescape\n\treturn x\n}\n"
    )
    proc = run_cli("check", "./...", cwd=module, env=_env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "unknown directive //heaplens:wat" in proc.stdout


def test_the_cache_keeps_assertions_and_sees_a_directive_change(tmp_path: Path) -> None:
    """A file's assertions are cached with its findings, and its text is in the key: an
    edit to a comment alone (which the compiler logs the same) is judged again."""
    source = "package a\n\nfunc F() *int {\n\tx := 1 //heaplens:noescape\n\treturn &x\n}\n"
    module = _module(tmp_path / "m", source)
    env = _env(tmp_path)
    first = check_json("./...", cwd=module, env=env)[1]["findings"]
    again = check_json("./...", cwd=module, env=env)[1]
    assert [p["cached"] for p in again["packages"]] == [True]
    assert again["findings"] == first
    assert [f["kind"] for f in first].count("assertion") == 1
    (module / "a.go").write_text(source.replace("heaplens:noescape", "heaplens:noescap"))
    edited = check_json("./...", cwd=module, env=env)[1]["findings"]
    assert "assertion" not in [f["kind"] for f in edited]
    assert any("did you mean //heaplens:noescape?" in f["message"] for f in edited)


def test_sarif_carries_assertions_as_errors(report: Any) -> None:
    _, _, go = report
    proc = run_cli("check", "--format", "sarif", "./...", cwd=go.parent, env=_env(go.parent.parent))
    assert proc.returncode == 1, proc.stderr
    sarif = json.loads(proc.stdout)
    schema = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema, cls=jsonschema.Draft4Validator)
    results = sarif["runs"][0]["results"]
    broken = [r for r in results if r["ruleId"] == "assertion"]
    assert broken and all(r["level"] == "error" and r["relatedLocations"] for r in broken)
    warned = [r for r in results if r["ruleId"] == "directive"]
    assert warned and all(r["level"] == "warning" for r in warned)

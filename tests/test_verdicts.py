"""Verdicts real modules are full of, on the oldest and newest supported Go and this
machine's: a parameter kept by a heap object, a callee inlined twice, a method value, a
local shadowing a package variable, a fluent chain, compiler temporaries and duplicate
verdicts. Each is checked against what the compiler prints with ``-m`` and for the words
a person reads."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from heaplens import wording
from test_go_versions import VERSIONS, _toolchain

MODULE = {
    "go.mod": "module example.com/v\n\ngo 1.21\n",
    "v.go": """package v

import (
	"encoding/hex"
	"fmt"
	"time"
)

type Core struct{ enc fmt.Stringer }

func NewCore(enc fmt.Stringer) *Core { return &Core{enc: enc} }

func must(ok bool, n int) {
	if !ok {
		panic(fmt.Sprintf("bad %d", n))
	}
}

func mk(n int) []byte {
	must(n >= 0, n)
	return make([]byte, n)
}

func Twice(n int) []byte { return mk(n) }

type Req struct{ x int }

func (r Req) Read(p []byte) (int, error) { return r.x, nil }

var readers []func([]byte) (int, error)

//go:noinline
func run(f func([]byte) (int, error)) { readers = append(readers, f) }

var req *Req

func Local() {
	var req Req
	run(req.Read)
}

type Body struct{ n int }

func (b *Body) Read(p []byte) (int, error) { return b.n, nil }

func LocalPtr() {
	var body Body
	run(body.Read)
}

type Arr struct{ b []byte }

func NewArr() *Arr               { return &Arr{} }
func (a *Arr) Int(i int) *Arr    { a.b = append(a.b, byte(i)); return a }
func (a *Arr) Str(s string) *Arr { a.b = append(a.b, s...); return a }

var keep *Arr

func Chain() {
	keep = NewArr().Int(1).Int(2).Str("x")
}

func Hex(b []byte) {
	fmt.Println(hex.EncodeToString(b))
}

var sink []any

func twice(x int) { sink = append(sink, x, x) }

func Dup(n int) {
	twice(n)
}

type Level int8

type opts struct {
	d time.Duration
	n Level
}

type Option func(*opts)

// Captured by value, with no pointers: the compiler reports no leak.
func WithTimeout(d time.Duration) Option { return func(o *opts) { o.d = d } }

func WithLevel(n Level) Option { return func(o *opts) { o.n = n } }

// A literal called where it is written, and inlined there.
var defaults = func() *opts { o := opts{d: time.Second}; return &o }()

//go:noinline
func logf(template string, args []any) { sink = append(sink, template, args) }

// Inlined into package sub: its compile logs these parameters too, as v.template.
func Debugf(template string, args ...any) { logf(template, args) }

var anySink any

// A generic function: -m reports no leak for its instantiations.
func Keep[T any](x T) { anySink = x }

func UseKeep() { Keep(1) }
""",
    "sub/sub.go": """package sub

import "example.com/v"

func Use(n int) { v.Debugf("n=%d", n) }
""",
    # Range-over-func is Go 1.23's: its loop state is a compiler variable, #state1.
    "r.go": """//go:build go1.23

package v

import "iter"

func Gather(all iter.Seq[[]byte]) [][]byte {
	var out [][]byte
	for b := range all {
		if len(b) > 3 {
			break
		}
		out = append(out, b)
	}
	return out
}
""",
    # new(expr) is Go 1.26's; older toolchains leave this file out.
    "n.go": '//go:build go1.26\n\npackage v\n\nfunc NewExpr() *string { return new("a") }\n',
}

_VERDICT = re.compile(r"^(?:\./)?([\w/]+\.go):(\d+):(\d+): (.*)$")


def _go(request: pytest.FixtureRequest) -> str:
    version = request.param
    if version == "local":
        return shutil.which("go") or "go"
    return str(_toolchain(version))


@pytest.fixture(scope="module", params=("local", *VERSIONS))
def checked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[dict[str, Any]], list[tuple[str, int, int, str]], str]:
    go = _go(request)
    module = tmp_path_factory.mktemp("verdicts")
    for name, text in MODULE.items():
        (module / name).parent.mkdir(parents=True, exist_ok=True)
        (module / name).write_text(text)
    env = dict(os.environ, GOFLAGS="", GOTOOLCHAIN="local", GOPROXY="off")
    proc = run_cli(
        "check", "--go", go, "--no-cache", "--format", "json", "./...", cwd=module, env=env
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    text = run_cli("check", "--go", go, "--no-cache", "./...", cwd=module, env=env).stdout
    build = subprocess.run(
        [go, "build", "-gcflags=-m", "./..."],
        cwd=module,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    verdicts = []
    for line in build.stderr.splitlines():
        m = _VERDICT.match(line)
        if m:
            verdicts.append((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)))
    return module, data["findings"], verdicts, text


def _at(findings: list[dict[str, Any]], line: int, kind: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["line"] == line and f["kind"] == kind]


def _line(needle: str) -> int:
    return next(i for i, text in enumerate(MODULE["v.go"].splitlines(), 1) if needle in text)


def test_a_parameter_kept_by_a_heap_object_is_a_leak(checked: Any) -> None:
    _, findings, verdicts, _ = checked
    line = _line("func NewCore")
    assert ("v.go", line, 14, "leaking param: enc") in verdicts
    (leak,) = _at(findings, line, "leaking-param")
    assert leak["subject"] == "enc"
    assert leak["reason_code"] == "kept-by-object"
    assert leak["reason"] == "kept by the &Core{...} returned to the caller"
    assert leak["reason_args"]["then"]["code"] == "returned"


def test_a_callee_inlined_twice_keeps_every_allocation(checked: Any) -> None:
    _, findings, verdicts, _ = checked
    line = _line("func Twice")
    said = {v[3] for v in verdicts if v[1] == line and "escapes to heap" in v[3]}
    assert len(said) == 3, said  # the panic text, its boxed n, and the make
    found = _at(findings, line, "escapes-to-heap")
    assert sorted(f["message"] for f in found) == sorted(said)
    n = next(f for f in found if f["subject"] == "n")
    assert n["reason"] == "converted to an interface for fmt.Sprintf; from must, inlined here"


def test_a_method_value_is_a_closure_not_an_interface(checked: Any) -> None:
    _, findings, verdicts, _ = checked
    line = _line("run(req.Read)")
    assert any(v[1] == line and v[3] == "req.Read escapes to heap" for v in verdicts)
    (f,) = _at(findings, line, "escapes-to-heap")
    assert f["reason_code"] == "func-value-passed"
    assert f["reason"] == "a closure passed to run, which keeps it"
    # `req` is a local here, whatever the package variable of that name.
    assert "package variable" not in f["reason"]


def test_a_local_variable_is_never_a_package_variable(checked: Any) -> None:
    """`var body Body` in a function is a local, though a `var` declaration holds it."""
    _, findings, verdicts, _ = checked
    line = _line("var body Body")
    assert any(v[1] == line and v[3] == "moved to heap: body" for v in verdicts)
    (moved,) = _at(findings, line, "moved-to-heap")
    assert moved["reason_code"] != "package-variable", moved["reason"]
    assert "package variable" not in moved["reason"]
    # Its address is the receiver of the method value, which escapes.
    assert moved["reason_code"] == "kept-by-object"
    assert moved["reason_args"]["name"] == "body.Read"
    assert moved["reason_args"]["then"]["code"] == "func-value-passed"


def test_a_fluent_chain_puts_each_finding_on_its_own_call(checked: Any) -> None:
    _, findings, verdicts, _ = checked
    line = _line("keep = NewArr()")
    text = MODULE["v.go"].splitlines()[line - 1]
    # Each call of the chain, by the column of its `(`, where the compiler reports the
    # code inlined from it (older compilers report only the &Arr{}).
    calls = {
        text.index(call) + len(call.split("(")[0]) + 1: (call, callee)
        for call, callee in (
            ("NewArr()", "NewArr"),
            ("Int(1)", "(*Arr).Int"),
            ("Int(2)", "(*Arr).Int"),
            ('Str("x")', "(*Arr).Str"),
        )
    }
    points = sorted(v[2] for v in verdicts if v[1] == line and "escapes to heap" in v[3])
    found = sorted(_at(findings, line, "escapes-to-heap"), key=lambda f: f["column"])
    assert points and len(found) == len(points)
    for f, point in zip(found, points, strict=True):
        call, callee = calls[point]
        assert text.encode()[f["column"] - 1 : f["end_column"] - 1].decode() == call
        assert f["reason_args"].get("inlined_from") == callee
        assert "NewArr()." not in f["reason"]


def test_compiler_temporaries_read_as_the_source(checked: Any) -> None:
    _, findings, verdicts, _ = checked
    line = _line("hex.EncodeToString(b))")
    # The compiler names the call's result ~r0 (~R0 before Go 1.22).
    said = {v[3] for v in verdicts if v[1] == line and v[3].startswith("~")}
    assert said <= {"~r0 escapes to heap", "~R0 escapes to heap"} and len(said) == 1
    hexed = [f for f in _at(findings, line, "escapes-to-heap") if f["message"] in said]
    assert [f["subject"] for f in hexed] == ["hex.EncodeToString(b)"]
    if any(v[0] == "n.go" for v in verdicts):  # Go 1.26 and newer
        assert ("n.go", 5, 36, "moved to heap: .autotmp_1") in verdicts
        (new,) = [f for f in findings if f["file"].endswith("n.go")]
        assert new["subject"] == 'new("a")'
        assert new["message"] == "moved to heap: .autotmp_1"  # verbatim, for tools


def test_identical_verdicts_on_one_range_are_one_finding_that_counts(checked: Any) -> None:
    _, findings, verdicts, text = checked
    line = _line("twice(n)")
    assert [v[3] for v in verdicts if v[1] == line].count("x escapes to heap") == 2
    (boxed,) = [f for f in _at(findings, line, "escapes-to-heap") if f["subject"] == "x"]
    assert boxed["count"] == 2
    assert "x escapes to heap (×2)" in text


def test_no_compiler_names_in_what_a_person_reads(checked: Any) -> None:
    _, findings, _, text = checked
    for f in findings:
        for field in ("reason", "subject"):
            assert not wording.has_internals(f[field]), (field, f[field])
    assert not wording.has_internals(text), text


_KINDS = (
    ("moved to heap: ", "moved-to-heap"),
    ("leaking param", "leaking-param"),
)


def _kind_of(verdict: str) -> str | None:
    if verdict.endswith(" escapes to heap"):
        return "escapes-to-heap"
    return next((kind for prefix, kind in _KINDS if verdict.startswith(prefix)), None)


def test_every_verdict_is_covered_and_none_invented(checked: Any) -> None:
    """Recall against -m on this module, in every supported Go: a finding covers a
    verdict when the kinds match and the verdict's point is in its range."""
    module, findings, verdicts, _ = checked
    heap = [
        f for f in findings if f["kind"] in ("moved-to-heap", "escapes-to-heap", "leaking-param")
    ]

    def covers(f: dict[str, Any], v: tuple[str, int, int, str]) -> bool:
        return (
            f["file"] == str(module / v[0])
            and f["kind"] == _kind_of(v[3])
            and (f["line"], f["column"]) <= (v[1], v[2]) <= (f["end_line"], f["end_column"])
        )

    said = [v for v in verdicts if _kind_of(v[3])]
    assert len(said) > 30
    missed = [v for v in said if not any(covers(f, v) for f in heap)]
    invented = [f for f in heap if not any(covers(f, v) for v in said)]
    assert missed == [] and invented == [], (missed, [(f["line"], f["message"]) for f in invented])


def test_leaks_the_compiler_does_not_report_are_not_shown(checked: Any) -> None:
    _, findings, _, _ = checked
    leaks = {f["subject"]: f for f in findings if f["kind"] == "leaking-param"}
    # Captured by value without pointers (time.Duration, a type defined as int8), a
    # generic function's parameter, and another package's inlined copy of Debugf's.
    assert not {"d", "n", "x", "v.template", "v.args"} & leaks.keys()
    assert leaks["template"]["line"] == _line("func Debugf")


def test_a_literal_called_in_place_is_shown_at_its_call(checked: Any) -> None:
    _, findings, verdicts, _ = checked
    line = _line("var defaults = func()")
    text = MODULE["v.go"].splitlines()[line - 1]
    at_call = text.rindex("()") + 1
    if any(v[1] == line and v[2] == at_call for v in verdicts):
        shown = [f for f in findings if f["line"] == line and f["column"] == at_call]
        assert shown and all(f["end_column"] == at_call + 2 for f in shown)


def test_a_range_over_func_loop_state_reads_in_words(checked: Any) -> None:
    _, findings, verdicts, _ = checked
    if not any(v[0] == "r.go" and "#state" in v[3] for v in verdicts):
        pytest.skip("this Go reports no range-over-func state on the heap")
    (state,) = [f for f in findings if f["file"].endswith("r.go") and "#state" in f["message"]]
    assert state["kind"] == "moved-to-heap"
    assert state["subject"] == "the range-over-func loop's state"

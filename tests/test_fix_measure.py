"""``heaplens fix --test`` and ``--bench``: fixes judged by the package's own tests and
benchmarks, run with real ``go`` on the fix in an overlay; and the statistics that decide
whether a benchmark got worse, on hand-made samples."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from heaplens import cli
from heaplens.analysis import Engine
from heaplens.fixes.measure import (
    BenchJudge,
    GoTest,
    TestRun,
    compare,
    compare_benchmarks,
    compare_tests,
    parse_bench,
    parse_test_json,
)
from heaplens.fixes.model import VerifiedFix

# Not inlined: the tests' own heap verdicts, which verification compares too, then do not
# depend on what is inlined into them.
SQUARES = """\
// Package sq squares numbers.
package sq

// Squares returns the square of each element, or nil for no elements.
//
//go:noinline
func Squares(xs []int) []int {
\tvar out []int
\tfor _, x := range xs {
\t\tout = append(out, x*x)
\t}
\treturn out
}
"""

NIL_TEST = """\
func TestSquaresOfNothingIsNil(t *testing.T) {
\tif Squares(nil) != nil {
\t\tt.Fatal("Squares(nil) is not nil")
\t}
}
"""

TESTS = """\
package sq

import "testing"

func TestSquares(t *testing.T) {
\tgot := Squares([]int{2, 3})
\tif len(got) != 2 || got[0] != 4 || got[1] != 9 {
\t\tt.Fatal("wrong squares")
\t}
}

func BenchmarkSquares(b *testing.B) {
\txs := make([]int, 1000)
\tfor i := range xs {
\t\txs[i] = i
\t}
\tb.ResetTimer()
\tfor i := 0; i < b.N; i++ {
\t\tSquares(xs)
\t}
}
"""

TITLE = "Preallocate out: make([]int, 0, len(xs))"


def _module(tmp_path: Path, nil_test: bool) -> Path:
    """A package whose Squares heaplens preallocates; with ``nil_test``, a test that
    Squares(nil) is nil, which the preallocation breaks."""
    mod = tmp_path / "sq"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/sq\n\ngo 1.21\n")
    (mod / "sq.go").write_text(SQUARES)
    (mod / "sq_test.go").write_text(TESTS + ("\n" + NIL_TEST if nil_test else ""))
    return mod


def _listing(mod: Path) -> list[str]:
    return sorted(str(p.relative_to(mod)) for p in mod.rglob("*"))


def test_test_drops_a_fix_that_breaks_a_test(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(tmp_path, nil_test=True)
    files = _listing(mod)
    # The fix is proposed and verified: the compiler alone would take it.
    dry = run_cli("fix", ".", cwd=mod, env=cli_env)
    assert dry.returncode == 0, dry.stderr
    assert "+\tout := make([]int, 0, len(xs))" in dry.stdout

    proc = run_cli("fix", "--write", "--test", ".", cwd=mod, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert (mod / "sq.go").read_text() == SQUARES
    assert _listing(mod) == files  # nothing written, not even an overlay
    dropped = next(x for x in proc.stderr.splitlines() if ": dropped: " in x)
    assert dropped.startswith(f"sq.go: dropped: {TITLE}"), proc.stderr
    why = "go test: TestSquaresOfNothingIsNil failed with it (passed before): sq_test.go:"
    assert why in dropped, dropped
    assert dropped.endswith(": Squares(nil) is not nil"), dropped
    assert "heaplens: no verified fix applies." in proc.stderr

    # With --bench too, the tests come first: a fix they refuse is never benchmarked.
    both = run_cli("fix", "--test", "--bench", ".", ".", cwd=mod, env=cli_env)
    assert both.returncode == 0 and both.stdout == "", both.stderr
    assert "TestSquaresOfNothingIsNil failed" in both.stderr
    assert "BenchmarkSquares" not in both.stderr

    # The test is not vacuous: without --test the fix is written.
    plain = run_cli("fix", "--write", ".", cwd=mod, env=cli_env)
    assert plain.returncode == 0, plain.stderr
    assert "out := make([]int, 0, len(xs))" in (mod / "sq.go").read_text()


def test_test_keeps_a_fix_whose_tests_pass(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(tmp_path, nil_test=False)
    proc = run_cli("fix", "--write", "--test", ".", cwd=mod, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert "dropped" not in proc.stderr
    assert proc.stderr.startswith(f"sq.go: {TITLE}")
    assert "applied 1 fix(es) to 1 file(s)" in proc.stderr
    assert "out := make([]int, 0, len(xs))" in (mod / "sq.go").read_text()


def test_bench_reports_and_keeps_a_fix_with_fewer_allocations(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    mod = _module(tmp_path, nil_test=False)
    proc = run_cli(
        "fix",
        "--write",
        "--bench",
        "Squares",
        "--count",
        "5",
        "--benchtime",
        "20ms",
        ".",
        cwd=mod,
        env=cli_env,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    at = next(i for i, x in enumerate(lines) if x.startswith(f"sq.go: {TITLE}"))
    row = lines[at + 1]
    assert row.startswith("  BenchmarkSquares: allocs/op "), proc.stderr
    metrics = dict(part.split(" ", 1) for part in row.split(": ", 1)[1].split(", "))
    assert list(metrics) == ["allocs/op", "B/op", "ns/op"]
    before, _, rest = metrics["allocs/op"].partition(" → ")
    after, _, p = rest.partition(" ")
    assert int(before) > int(after) == 1, row  # regrowth allocations gone
    assert p.startswith("(p=") and float(p[3:-1]) < 0.05, row
    assert "heaplens: benchmarks are medians of 5 runs" in proc.stderr
    assert "out := make([]int, 0, len(xs))" in (mod / "sq.go").read_text()


def test_bench_without_a_matching_benchmark_keeps_the_fix(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    mod = _module(tmp_path, nil_test=False)
    proc = run_cli("fix", "--bench", "NoSuchThing", ".", cwd=mod, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert "+\tout := make([]int, 0, len(xs))" in proc.stdout
    lines = proc.stderr.splitlines()
    at = next(i for i, x in enumerate(lines) if x.startswith(f"sq.go: {TITLE}"))
    assert lines[at + 1] == "  no benchmark matched 'NoSuchThing'"


def test_bench_without_scipy_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mod = _module(tmp_path, nil_test=False)
    monkeypatch.chdir(mod)
    # A module set to None in sys.modules cannot be imported: as if never installed.
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    assert cli.main(["fix", "--bench", ".", "."]) == 2
    err = capsys.readouterr().err
    assert "heaplens[bench]" in err and "SciPy" in err, err
    assert (mod / "sq.go").read_text() == SQUARES


def test_count_needs_bench(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(tmp_path, nil_test=False)
    proc = run_cli("fix", "--count", "3", ".", cwd=mod, env=cli_env)
    assert proc.returncode == 2 and "--count and --benchtime need --bench" in proc.stderr
    bad = run_cli("fix", "--bench", ".", "--count", "0", ".", cwd=mod, env=cli_env)
    assert bad.returncode == 2 and "must be at least 1" in bad.stderr


def test_go_test_on_an_overlay_names_the_users_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build failure in the overlay is reported against sq.go, not our copy of it, and
    the copy's directory is gone afterwards."""
    mod = _module(tmp_path, nil_test=False)
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    go = GoTest(Engine())
    broken = SQUARES.replace("return out", "return nope")
    line = SQUARES.splitlines().index("\treturn out") + 1
    ran = go.run(str(mod), {str(mod / "sq.go"): broken.encode()}, ["-json"], "")
    result = parse_test_json(ran)
    assert result.build_error is not None
    assert result.build_error.startswith(f"sq.go:{line}:9: undefined: nope"), result.build_error
    assert os.listdir(private) == []
    clean = parse_test_json(go.run(str(mod), {}, ["-json"], ""))
    assert clean.build_error is None and clean.passed
    assert clean.tests == {"TestSquares": "pass"}
    assert compare_tests(clean, result) == (
        f"go test: the tests no longer build with it: sq.go:{line}:9: undefined: nope"
    )


def test_bench_judge_caches_the_baseline(tmp_path: Path) -> None:
    """The measurement with a taken fix is the next fix's baseline: not run again."""
    mod = _module(tmp_path, nil_test=False)
    runs: list[str] = []

    class Counting(GoTest):
        def run(
            self, directory: str, overlays: Mapping[str, bytes], flags: Sequence[str], label: str
        ) -> Any:
            runs.append(label)
            return super().run(directory, overlays, flags, label)

    judge = BenchJudge(Counting(Engine()), "Squares", count=2, benchtime="1x")
    path = str(mod / "sq.go")
    one = {path: SQUARES.replace("var out []int", "out := make([]int, 0, len(xs))").encode()}
    two = {path: one[path] + b"\n// two\n"}
    fix = VerifiedFix("preallocate", path, "one", (), "", ())
    assert judge(str(mod), {}, one, fix) is None
    assert judge(str(mod), one, two, fix) is None
    assert len(runs) == 3, runs
    assert [r.kept for r in judge.reports] == [True, True]


# -- the statistics, on hand-made samples -----------------------------------------------


def test_compare_allocations_down_is_not_worse() -> None:
    c = compare("allocs/op", [12.0] * 6, [1.0] * 6)
    assert (c.before, c.after) == (12, 1) and c.p < 0.01 and not c.worse
    assert c.text() == f"allocs/op 12 → 1 (p={c.p:.3f})"


def test_compare_significantly_slower_is_worse() -> None:
    before = [100.0, 101, 99, 100.5, 100.2, 99.8]
    after = [110.0, 111, 109, 110.5, 112, 109.5]
    c = compare("ns/op", before, after)
    assert c.worse and c.p < 0.05
    # The same shift is noise when the runs overlap.
    noisy = compare("ns/op", before, [100.1, 99.9, 101.5, 98, 100.4, 100.6])
    assert not noisy.worse and noisy.p > 0.05


def test_compare_small_n_counts_only_for_deterministic_metrics() -> None:
    """Three runs a side can never reach p < 0.05; a higher B/op in every run still
    counts as worse, a higher ns/op does not."""
    c = compare("B/op", [1024.0] * 3, [2048.0] * 3)
    assert c.p >= 0.05 and c.worse
    one = compare("allocs/op", [2.0], [3.0])
    assert one.p == 1.0 and one.worse
    assert not compare("ns/op", [100.0, 101, 102], [200.0, 201, 202]).worse
    # Partly overlapping runs are not "higher in all runs".
    assert not compare("allocs/op", [2.0, 2, 3], [3.0, 3, 3]).worse


def test_compare_all_equal() -> None:
    c = compare("allocs/op", [3.0] * 6, [3.0] * 6)
    assert c.p == 1.0 and not c.worse


def test_parse_bench_and_rows() -> None:
    text = (
        "goos: linux\n"
        "BenchmarkEncode-8   \t  1000\t  1510 ns/op\t  1216 B/op\t  3 allocs/op\n"
        "BenchmarkEncode-8   \t  1000\t  1490 ns/op\t  1216 B/op\t  3 allocs/op\n"
        "BenchmarkSpeed/small-8 \t 50 \t 12.5 ns/op \t 80.00 MB/s\n"
        "PASS\n"
    )
    samples = parse_bench(text)
    assert samples["BenchmarkEncode"]["ns/op"] == [1510.0, 1490.0]
    assert samples["BenchmarkSpeed/small"] == {"ns/op": [12.5], "MB/s": [80.0]}
    after = parse_bench(text.replace("3 allocs", "2 allocs").replace("1216 B", "1088 B"))
    rows = compare_benchmarks(samples, after)
    assert [r.name for r in rows] == ["BenchmarkEncode", "BenchmarkSpeed/small"]
    assert rows[0].text().startswith("BenchmarkEncode: allocs/op 3 → 2 (p=")
    assert ", B/op 1216 → 1088 (p=" in rows[0].text()
    assert ", ns/op 1500 → 1500 (p=" in rows[0].text()
    assert rows[1].text() == "BenchmarkSpeed/small: ns/op 12.5 → 12.5 (p=1.000)"
    assert not rows[0].worse


def _tests(passed: bool = True, **verdicts: str) -> TestRun:
    return TestRun(None, verdicts, {}, passed)


def test_compare_tests_rules() -> None:
    before = _tests(False, TestA="pass", TestB="fail", TestC="pass")
    # A test that failed before does not count; one that passed and fails does.
    assert compare_tests(before, _tests(False, TestA="pass", TestB="fail", TestC="pass")) is None
    assert compare_tests(before, _tests(False, TestA="fail", TestB="fail", TestC="pass")) == (
        "go test: TestA failed with it (passed before)"
    )
    assert compare_tests(before, _tests(False, TestA="pass", TestB="pass")) == (
        "go test: TestC no longer ran with it (passed before)"
    )
    # The subtest that failed is named, not its parent.
    sub = _tests(True, TestA="pass", **{"TestA/case": "pass"})
    assert compare_tests(sub, _tests(False, TestA="fail", **{"TestA/case": "fail"})) == (
        "go test: TestA/case failed with it (passed before)"
    )
    # A package that passed and fails for no test in particular (TestMain).
    after = TestRun(None, {"TestA": "pass"}, {}, False, tail="exit status 3")
    assert compare_tests(_tests(TestA="pass"), after) == (
        "go test: fails with it (passed before): exit status 3"
    )
    # Tests that did not build before have nothing to compare against.
    unbuilt = TestRun("x.go:1:1: oops", {}, {}, False)
    assert compare_tests(unbuilt, unbuilt) is None

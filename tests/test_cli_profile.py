"""``heaplens check --profile`` and ``heaplens fix --profile``, end to end: a module
written here with a benchmark, profiled once by a real ``go test -bench -memprofile
-memprofilerate 1 -cpuprofile``, then the real CLI on it. What each finding is charged is
the engine's to prove (its own tests compare with ``go tool pprof``); these check what
the reports make of it: the JSON's fields, the order, the filter, the text, SARIF."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import ROOT, check_json, line_of, run_cli

HEAP = ("escapes-to-heap", "moved-to-heap")

HOT_GO = """\
package hot

import (
\t"bytes"
\t"encoding/json"
\t"io"
)

type T struct{ A, B int }

var sink *T
var big []byte

// Keep allocates a small T on every call.
//
//go:noinline
func Keep(n int) { sink = &T{A: n} }

// Fill allocates 4 kB on every call: most of the profile.
//
//go:noinline
func Fill() { big = make([]byte, 4096) }

// Never is not run by the benchmark: the profile never saw it allocate.
//
//go:noinline
func Never(n int) *T { return &T{B: n} }

// Both makes two allocations on one line, which a profile cannot tell apart.
//
//go:noinline
func Both(n int) (*T, *T) { a, b := &T{A: n}, &T{B: n}; return a, b }

// Encode uses a scratch buffer per call: a pool keeps it off the heap.
//
//go:noinline
func Encode(w io.Writer, v any) error {
\tbuf := &bytes.Buffer{}
\tif err := json.NewEncoder(buf).Encode(v); err != nil {
\t\treturn err
\t}
\t_, err := w.Write(buf.Bytes())
\treturn err
}
"""

HOT_TEST_GO = """\
package hot

import (
\t"io"
\t"testing"
)

var p1, p2 *T

func BenchmarkHot(b *testing.B) {
\tfor i := 0; i < b.N; i++ {
\t\tKeep(i)
\t\tFill()
\t\tp1, p2 = Both(i)
\t\t_ = Encode(io.Discard, i)
\t}
}
"""


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module, with mem.out and cpu.out from one benchmark run (a slow step: once
    for every test here)."""
    root = tmp_path_factory.mktemp("profiled")
    mod = root / "hot"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/hot\n\ngo 1.21\n")
    (mod / "hot.go").write_text(HOT_GO)
    (mod / "hot_test.go").write_text(HOT_TEST_GO)
    proc = subprocess.run(
        # -o keeps the test binary go test leaves behind out of the module.
        [
            *("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "300ms"),
            *("-memprofile", "mem.out", "-memprofilerate", "1", "-cpuprofile", "cpu.out"),
            *("-o", str(root / "hot.test"), "."),
        ],
        cwd=mod,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (mod / "mem.out").stat().st_size > 0 and (mod / "cpu.out").stat().st_size > 0
    return mod


def _heap_at(data: dict[str, Any], mod: Path, needle: str) -> list[dict[str, Any]]:
    """The heap findings on the line of hot.go that holds ``needle``."""
    line, _ = line_of(mod / "hot.go", needle)
    return [
        f
        for f in data["findings"]
        if f["kind"] in HEAP and f["file"] == str(mod / "hot.go") and f["line"] == line
    ]


def _space(f: dict[str, Any]) -> int:
    """What a heap finding ranks by: its line's bytes when the line is shared."""
    cost = f["cost"]
    return int(
        cost["shared_total"]["alloc_space"] if "shared_total" in cost else cost["alloc_space"]
    )


def test_json_gains_cost_hot_and_profile(profiled: Path, cli_env: dict[str, str]) -> None:
    rc, data, err = check_json(
        "--kinds", "all", "--profile", "mem.out", "--profile", "cpu.out", ".",
        cwd=profiled, env=cli_env,
    )  # fmt: skip
    assert rc == 0, err
    assert data["version"] == 1
    (fill,) = _heap_at(data, profiled, "make([]byte, 4096)")
    assert fill["cost"]["alloc_space"] >= 4096 * 1000  # 300ms of the loop: thousands of calls
    assert fill["cost"]["alloc_objects"] > 0 and 0.5 < fill["cost"]["share"] <= 1
    assert "shared_by" not in fill["cost"]
    (never,) = _heap_at(data, profiled, "return &T{B: n}")
    assert never["cost"] == {"alloc_space": 0, "alloc_objects": 0, "share": 0.0}
    both = _heap_at(data, profiled, "a, b := &T{A: n}")
    assert len(both) == 2
    for f in both:
        assert f["cost"]["shared_by"] == 2
        total = f["cost"]["shared_total"]
        assert total["alloc_objects"] > 0 and total["alloc_space"] > f["cost"]["alloc_space"]
    others = [f for f in data["findings"] if f["kind"] not in HEAP]
    assert others and all(f["cost"] is None for f in others)
    hot = [f["hot"] for f in data["findings"]]
    assert all(isinstance(h, float) and 0.0 <= h <= 1.0 for h in hot) and max(hot) > 0
    profile = data["profile"]
    assert [Path(p).name for p in profile["files"]] == ["mem.out", "cpu.out"]
    assert profile["alloc_space_total"] >= fill["cost"]["alloc_space"]
    assert profile["alloc_objects_total"] > 0 and 0.5 < profile["attributed_share"] <= 1
    assert profile["warnings"] == []
    shares = sum(f["cost"]["share"] for f in data["findings"] if f["kind"] in HEAP)
    assert shares == pytest.approx(profile["attributed_share"], abs=1e-6)


def test_without_a_profile_the_json_is_unchanged(profiled: Path, cli_env: dict[str, str]) -> None:
    rc, data, err = check_json("--kinds", "all", ".", cwd=profiled, env=cli_env)
    assert rc == 0, err
    assert "profile" not in data
    assert data["findings"] and all("cost" not in f and "hot" not in f for f in data["findings"])


def test_sort_cost_puts_the_costliest_first(profiled: Path, cli_env: dict[str, str]) -> None:
    rc, data, err = check_json(
        "--kinds", "all", "--profile", "mem.out", "--sort", "cost", ".", cwd=profiled, env=cli_env
    )
    assert rc == 0, err
    kinds = [f["kind"] for f in data["findings"]]
    heap = [f for f in data["findings"] if f["kind"] in HEAP]
    # Every heap finding before every other kind, most bytes first.
    assert kinds[: len(heap)] == [f["kind"] for f in heap] and len(heap) < len(kinds)
    assert heap[0] == _heap_at(data, profiled, "make([]byte, 4096)")[0]
    spaces = [_space(f) for f in heap]
    assert spaces == sorted(spaces, reverse=True) and spaces[-1] == 0
    # Ties by position: the two findings of the shared line, then the unseen ones.
    unseen = [(f["file"], f["line"], f["column"]) for f in heap if _space(f) == 0]
    assert unseen == sorted(unseen)


def test_min_share_hides_cheap_heap_findings_only(profiled: Path, cli_env: dict[str, str]) -> None:
    args = ("--kinds", "all", "--profile", "mem.out", ".")
    _, everything, _ = check_json(*args, cwd=profiled, env=cli_env)
    rc, data, err = check_json("--min-share", "0.5", *args, cwd=profiled, env=cli_env)
    assert rc == 0, err
    heap = [f for f in data["findings"] if f["kind"] in HEAP]
    assert heap == _heap_at(data, profiled, "make([]byte, 4096)")
    kept = [f for f in everything["findings"] if f["kind"] not in HEAP]
    assert [f for f in data["findings"] if f["kind"] not in HEAP] == kept
    # --fail-on counts what is shown: no moved-to-heap finding costs half the bytes.
    failing = run_cli(
        "check", "--profile", "mem.out", "--min-share", "0.5", "--fail-on", "escapes-to-heap",
        ".", cwd=profiled, env=cli_env,
    )  # fmt: skip
    assert failing.returncode == 1, failing.stderr
    passing = run_cli(
        "check", "--profile", "mem.out", "--min-share", "0.99", "--fail-on", "escapes-to-heap",
        ".", cwd=profiled, env=cli_env,
    )  # fmt: skip
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "below 99% of allocated bytes not shown (--min-share)" in passing.stdout


def test_text_shows_share_and_bytes(profiled: Path, cli_env: dict[str, str]) -> None:
    proc = run_cli("check", "--profile", "mem.out", ".", cwd=profiled, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    fill_line, _ = line_of(profiled / "hot.go", "make([]byte, 4096)")
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith(f"{fill_line}:")]
    assert re.search(r"\d+% of allocated bytes in mem\.out \([\d.]+ [kMG]B, [\d,]+ objects\)", line)
    never_line, _ = line_of(profiled / "hot.go", "return &T{B: n}")
    (never,) = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith(f"{never_line}:")]
    assert "never allocated in mem.out" in never
    both_line, _ = line_of(profiled / "hot.go", "a, b := &T{A: n}")
    shared = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith(f"{both_line}:")]
    assert len(shared) == 2 and all("the profile cannot tell them apart" in s for s in shared)
    assert re.search(
        r"^profile mem\.out: [\d.]+ [kMG]B allocated \([\d,]+ objects\), [\d.]+% of it charged "
        r"to heap findings$",
        proc.stdout,
        re.M,
    )
    by_cost = run_cli(
        "check", "--profile", "mem.out", "--sort", "cost", ".", cwd=profiled, env=cli_env
    )
    first = by_cost.stdout.splitlines()[0]
    assert first.strip().startswith(f"hot.go:{fill_line}:"), by_cost.stdout
    # A CPU profile read with it allocated none of the bytes: the words name mem.out only.
    both = run_cli(
        "check", "--profile", "mem.out", "--profile", "cpu.out", ".", cwd=profiled, env=cli_env
    )
    assert "of allocated bytes in mem.out (" in both.stdout, both.stdout
    assert "of CPU samples" in both.stdout and "mem.out, cpu.out (" not in both.stdout


def test_sarif_carries_cost_and_rank(profiled: Path, cli_env: dict[str, str]) -> None:
    proc = run_cli(
        "check", "--format", "sarif", "--kinds", "all", "--profile", "mem.out", ".",
        cwd=profiled, env=cli_env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    sarif = json.loads(proc.stdout)
    schema = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema, cls=jsonschema.Draft4Validator)
    results = sarif["runs"][0]["results"]
    fill_line, _ = line_of(profiled / "hot.go", "make([]byte, 4096)")
    heap = [r for r in results if r["ruleId"] in HEAP]
    (fill,) = [
        r for r in heap if r["locations"][0]["physicalLocation"]["region"]["startLine"] == fill_line
    ]
    share = fill["properties"]["cost"]["share"]
    assert fill["rank"] == pytest.approx(100 * share, abs=0.01) and fill["rank"] > 50
    assert max(r["rank"] for r in heap) == fill["rank"]
    for r in heap:
        cost = r["properties"]["cost"]
        group = cost.get("shared_total", cost)["share"]
        assert r["rank"] == pytest.approx(100 * group, abs=0.01)
    others = [r for r in results if r["ruleId"] not in HEAP]
    assert others and all("rank" not in r and r["properties"]["cost"] is None for r in others)
    assert sarif["runs"][0]["properties"]["profile"]["alloc_space_total"] > 0
    plain = json.loads(run_cli("check", "--format", "sarif", ".", cwd=profiled, env=cli_env).stdout)
    assert all(
        "rank" not in r and "cost" not in r["properties"] for r in plain["runs"][0]["results"]
    )


def test_a_missing_profile_stops_before_anything(profiled: Path, cli_env: dict[str, str]) -> None:
    proc = run_cli("check", "--profile", "nope.out", ".", cwd=profiled, env=cli_env)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("heaplens: ") and "nope.out" in proc.stderr
    assert "Traceback" not in proc.stderr
    fix = run_cli("fix", "--profile", "nope.out", ".", cwd=profiled, env=cli_env)
    assert fix.returncode == 2 and fix.stdout == "" and "nope.out" in fix.stderr


def test_sort_and_min_share_need_a_profile(profiled: Path, cli_env: dict[str, str]) -> None:
    for args in (("--sort", "cost"), ("--min-share", "0.1")):
        proc = run_cli("check", *args, ".", cwd=profiled, env=cli_env)
        assert proc.returncode == 2 and proc.stdout == ""
        assert f"heaplens: {args[0]}" in proc.stderr and "needs --profile" in proc.stderr
    cpu_only = run_cli(
        "check", "--profile", "cpu.out", "--min-share", "0.1", ".", cwd=profiled, env=cli_env
    )
    assert cpu_only.returncode == 2 and "needs an allocation profile" in cpu_only.stderr
    wrong = run_cli(
        "check", "--profile", "mem.out", "--min-share", "5", ".", cwd=profiled, env=cli_env
    )
    assert wrong.returncode == 2 and "fraction from 0 to 1" in wrong.stderr


def test_fix_says_what_it_saves(profiled: Path, cli_env: dict[str, str]) -> None:
    proc = run_cli("fix", "--profile", "mem.out", ".", cwd=profiled, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert "sync.Pool" in proc.stdout  # the dry run's diff: nothing is written
    saved = re.search(
        r"^hot\.go: (.+); saves ([\d.<]+)% of allocated bytes in mem\.out "
        r"\([\d.]+ [kMG]?B, ([\d,]+) objects\)$",
        proc.stderr,
        re.M,
    )
    assert saved, proc.stderr
    assert "verified" in saved.group(1) and int(saved.group(3).replace(",", "")) > 0
    # Without the profile the same fix is announced by its title alone.
    plain = run_cli("fix", ".", cwd=profiled, env=cli_env)
    assert f"hot.go: {saved.group(1)}\n" in plain.stderr and "saves" not in plain.stderr


def test_warnings_go_to_stderr(profiled: Path, tmp_path: Path, cli_env: dict[str, str]) -> None:
    """A source edited after the profile was taken: the report is still made, and a
    warning says its lines may have moved."""
    mod = tmp_path / "hot"
    shutil.copytree(profiled, mod)
    later = time.time() + 3600
    os.utime(mod / "hot.go", (later, later))
    rc, data, err = check_json("--profile", "mem.out", ".", cwd=mod, env=cli_env)
    assert rc == 0
    (warning,) = data["profile"]["warnings"]
    assert "mem.out is older than hot.go" in warning
    assert f"heaplens: warning: {warning}\n" in err

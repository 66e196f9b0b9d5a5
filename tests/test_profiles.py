"""Profiles joined to findings (``heaplens.profiles``), on real profiles: a module written
here, its benchmarks run by the real ``go test -bench -memprofile -memprofilerate 1``, and
every share checked against the toolchain's own ``go tool pprof -top -lines``."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from heaplens.analysis import CheckResult, Engine, Options
from heaplens.cache import ResultCache
from heaplens.model import HEAP_KINDS, Finding
from heaplens.profiles import ProfileError, ProfileReport, join, read_profiles

HOT = """package hot

import "fmt"

type T struct{ A, B int }

func Label(n int) *T {
	return &T{A: n}
}

var sink *T

//go:noinline
func Keep(n int) {
	sink = Label(n)
}

// A call through a variable is never inlined: Label's own body runs here.
var indirect = Label

//go:noinline
func Far(n int) {
	sink = indirect(n)
}

// Inlined at its one call, in the benchmark: its own copy never runs.
func Small(n int) *T {
	return &T{B: n}
}

func Never(n int) []int {
	return make([]int, n)
}

//go:noinline
func Say(n int) string {
	return fmt.Sprint(n+1000, n+2000)
}

//go:noinline
func Spin(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i % 7
	}
	return s
}
"""

HOT_TEST = """package hot

import "testing"

var out string
var spun int

func BenchmarkAlloc(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Keep(i)
		Far(i)
		Far(i)
		out = Say(i)
		sink = Small(i)
	}
}

func BenchmarkSpin(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Keep(i)
		spun = Spin(200000)
	}
}
"""


@dataclass(frozen=True)
class Profiled:
    module: Path
    mem: Path
    mem2: Path
    cpu: Path
    result: CheckResult


def _line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def _go_test(module: Path, bench: str, *flags: str) -> None:
    subprocess.run(
        ["go", "test", "-run", "^$", "-bench", bench, "-benchmem", *flags, "."],
        cwd=module / "hot",
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> Profiled:
    module = tmp_path_factory.mktemp("prof")
    (module / "go.mod").write_text("module example.com/prof\n\ngo 1.21\n")
    (module / "hot").mkdir()
    (module / "hot" / "hot.go").write_text(HOT)
    (module / "hot" / "hot_test.go").write_text(HOT_TEST)
    mem, mem2, cpu = module / "mem.out", module / "mem2.out", module / "cpu.out"
    rate = "-memprofilerate=1"
    _go_test(module, "Alloc", "-benchtime=3000x", f"-memprofile={mem}", rate)
    _go_test(module, "Spin", "-benchtime=1s", f"-memprofile={mem2}", f"-cpuprofile={cpu}", rate)
    # The sources predate the profiles, as they would when a profile is taken.
    past = time.time() - 3600
    for f in (module / "hot").iterdir():
        os.utime(f, (past, past))
    engine = Engine(Options(), ResultCache(None))
    return Profiled(module, mem, mem2, cpu, engine.check(["./hot"], str(module)))


def pprof_flat(*profiles: Path) -> tuple[dict[tuple[str, str, int], int], int]:
    """``go tool pprof -top -lines``'s flat bytes by (function, file, line), and the total."""
    out = subprocess.run(
        [
            "go",
            "tool",
            "pprof",
            "-top",
            "-lines",
            "-sample_index=alloc_space",
            "-unit=B",
            "-nodecount=100000",
            *map(str, profiles),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    total = int(re.search(r"of (\d+)B total", out).group(1))  # type: ignore[union-attr]
    flat: dict[tuple[str, str, int], int] = {}
    row = re.compile(r"^\s*(\d+)B\s+\S+\s+\S+\s+\d+B\s+\S+\s+(\S+) (.+):(\d+)(?: \([\w-]+\))?$")
    for line in out.splitlines():
        m = row.match(line)
        if m:
            key = (m.group(2), m.group(3), int(m.group(4)))
            flat[key] = flat.get(key, 0) + int(m.group(1))
    return flat, total


def heap(result: CheckResult, function: str, line: int) -> list[Finding]:
    return [
        f
        for f in result.findings
        if f.kind in HEAP_KINDS and f.function == function and f.range.start.line == line
    ]


def joined(p: Profiled, *files: Path) -> tuple[CheckResult, ProfileReport]:
    return join(p.result, read_profiles([str(f) for f in files]))


def test_shares_are_pprofs_flat_bytes_of_the_line(profiled: Profiled) -> None:
    result, report = joined(profiled, profiled.mem)
    flat, total = pprof_flat(profiled.mem)
    assert report.alloc_space_total == total
    hot_go = str(profiled.module / "hot" / "hot.go")
    # Far calls Label through a variable: Label's own body allocates, twice per loop.
    label_line = _line_of(HOT, "return &T{A: n}")
    (own,) = heap(result, "Label", label_line)
    assert own.cost is not None and own.cost.alloc_objects >= 6000
    # Say: two boxed arguments on one line, which the profile cannot tell apart.
    say_line = _line_of(HOT, "fmt.Sprint(n+1000")
    pair = heap(result, "Say", say_line)
    assert len(pair) == 2
    say_flat = flat[("example.com/prof/hot.Say", hot_go, say_line)]
    for f in pair:
        assert f.cost is not None and f.cost.shared_by == 2
        assert f.cost.group_alloc_space == say_flat
        assert f.cost.group_share == pytest.approx(say_flat / total)
    assert sum(f.cost.alloc_space for f in pair if f.cost) == say_flat
    # fmt's own buffers are fmt's: the boxes' cost is the line's flat bytes, not its cum.
    assert not any(key[0].startswith("fmt.") and key[1] == hot_go for key in flat)


def test_an_inlined_allocation_is_charged_at_the_call_it_was_inlined_into(
    profiled: Profiled,
) -> None:
    result, _ = joined(profiled, profiled.mem)
    flat, total = pprof_flat(profiled.mem)
    hot_go = str(profiled.module / "hot" / "hot.go")
    label_line = _line_of(HOT, "return &T{A: n}")
    (inlined,) = heap(result, "Keep", _line_of(HOT, "sink = Label(n)"))
    (own,) = heap(result, "Label", label_line)
    assert inlined.inline and inlined.inline[-1].position.line == label_line
    assert inlined.cost is not None and own.cost is not None
    # One Keep and two Far per loop: the inlined copy allocated half of what Label's own
    # body did, and pprof puts both on Label's line.
    assert inlined.cost.alloc_objects * 2 == pytest.approx(own.cost.alloc_objects, abs=4)
    both = flat[("example.com/prof/hot.Label", hot_go, label_line)]
    assert inlined.cost.alloc_space + own.cost.alloc_space == both
    assert inlined.cost.share == pytest.approx(inlined.cost.alloc_space / total)


def test_a_function_that_never_ran_costs_nothing_and_shares_add_up_to_at_most_one(
    profiled: Profiled,
) -> None:
    result, report = joined(profiled, profiled.mem)
    (never,) = heap(result, "Never", _line_of(HOT, "make([]int, n)"))
    assert never.cost is not None and not never.cost.seen
    assert (never.cost.alloc_space, never.cost.alloc_objects, never.cost.share) == (0, 0, 0.0)
    shares = [f.cost.share for f in result.findings if f.cost is not None]
    assert 0 < sum(shares) <= 1
    assert report.attributed_share == pytest.approx(sum(shares))
    assert all(f.cost is None for f in result.findings if f.kind not in HEAP_KINDS)
    assert all(f.hot is None for f in result.findings)  # no CPU profile given
    assert report.warnings == ()


def test_a_copy_that_never_ran_says_the_inlined_copies_carry_the_cost(
    profiled: Profiled,
) -> None:
    result, _ = joined(profiled, profiled.mem)
    (own,) = heap(result, "Small", _line_of(HOT, "return &T{B: n}"))
    (inlined,) = heap(result, "BenchmarkAlloc", _line_of(HOT_TEST, "sink = Small(i)"))
    assert own.cost is not None and inlined.cost is not None
    assert not own.cost.seen and own.cost.inlined_elsewhere
    assert inlined.cost.seen and inlined.cost.alloc_objects >= 3000
    (never,) = heap(result, "Never", _line_of(HOT, "make([]int, n)"))
    assert never.cost is not None and not never.cost.inlined_elsewhere


def test_two_profiles_merge(profiled: Profiled) -> None:
    one, _ = joined(profiled, profiled.mem)
    two, _ = joined(profiled, profiled.mem2)
    both, report = joined(profiled, profiled.mem, profiled.mem2)
    _, total = pprof_flat(profiled.mem, profiled.mem2)
    assert report.alloc_space_total == total
    line = _line_of(HOT, "sink = Label(n)")
    (a,), (b,), (ab,) = (heap(r, "Keep", line) for r in (one, two, both))
    assert a.cost and b.cost and ab.cost
    assert b.cost.alloc_objects > 0  # BenchmarkSpin calls Keep too
    assert ab.cost.alloc_space == a.cost.alloc_space + b.cost.alloc_space
    assert ab.cost.share == pytest.approx(ab.cost.alloc_space / total)


def test_a_gzipped_and_a_plain_profile_read_the_same(profiled: Profiled, tmp_path: Path) -> None:
    raw = profiled.mem.read_bytes()
    assert raw[:2] == b"\x1f\x8b"  # the runtime writes profiles gzipped
    plain = tmp_path / "mem.plain"
    plain.write_bytes(gzip.decompress(raw))
    gz, _ = joined(profiled, profiled.mem)
    pl, _ = joined(profiled, plain)
    assert [f.cost for f in gz.findings] == [f.cost for f in pl.findings]


def test_a_cpu_profile_gives_each_finding_its_functions_share(profiled: Profiled) -> None:
    result, report = joined(profiled, profiled.cpu)
    assert report.has_cpu and not report.has_alloc
    assert all(f.cost is None for f in result.findings)
    spin = [f for f in result.findings if f.function == "Spin"]
    never = [f for f in result.findings if f.function == "Never"]
    assert spin and never
    assert all(f.hot is not None and f.hot > 0.5 for f in spin)
    assert all(f.hot == 0.0 for f in never)


def test_a_profile_older_than_the_source_is_said_to_be(profiled: Profiled, tmp_path: Path) -> None:
    hot_go = profiled.module / "hot" / "hot.go"
    before = hot_go.stat().st_mtime
    try:
        os.utime(hot_go, None)  # edited now, after the profile
        _, report = joined(profiled, profiled.mem)
    finally:
        os.utime(hot_go, (before, before))
    assert any("older than hot.go" in w for w in report.warnings)


def test_a_profile_of_other_code_is_said_not_to_match(profiled: Profiled, tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / "p").mkdir(parents=True)
    (other / "go.mod").write_text("module example.com/other\n\ngo 1.21\n")
    (other / "p" / "p.go").write_text("package p\n\nfunc New() *int { x := 1; return &x }\n")
    result = Engine(Options(), ResultCache(None)).check(["./p"], str(other))
    _, report = join(result, read_profiles([str(profiled.mem)]))
    assert any("none of its samples is in the packages checked" in w for w in report.warnings)


def test_an_unreadable_profile_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.out"
    junk.write_text("not a profile\n")
    with pytest.raises(ProfileError, match=r"junk\.out"):
        read_profiles([str(junk)])
    with pytest.raises(ProfileError, match="no such profile file"):
        read_profiles([str(tmp_path / "missing.out")])

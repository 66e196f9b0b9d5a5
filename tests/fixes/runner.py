"""Run one fix case against the real compiler: propose and verify through ``FixService``,
apply, then build, vet and gofmt the result, and measure what the fix claims; or check
at which stage, and why, a fix was refused."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from heaplens.analysis import Engine, Options
from heaplens.cache import ResultCache
from heaplens.fixes import VerifiedFix
from heaplens.fixes.fixer import Refusal, Stage
from heaplens.fixes.service import FixService, disk_source
from heaplens.model import HEAP_KINDS


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    applies: bool
    #: Text the fixed file must contain.
    expect: str = ""
    #: For preallocate: a Go expression that calls the function, to count allocations.
    driver: str = ""

    def __str__(self) -> str:
        return self.name


def module(tmp_path: Path, case: Case) -> Path:
    mod = tmp_path / case.name
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/fixcase\n\ngo 1.23\n")
    (mod / "p.go").write_text(f"package p\n\n{case.code.strip()}\n")
    return mod


def find_fix(mod: Path, kind: str) -> VerifiedFix | Refusal:
    """The first fix of ``kind`` the compiler backs, through the service everything uses,
    or the refusal that got furthest."""
    engine = Engine(Options(), ResultCache(None))
    result = engine.check(["."], str(mod))
    assert not result.all_errors, result.all_errors
    service = FixService(engine)
    query = service.query_for(str(mod))
    assert query is not None
    return service.first(query, result.findings, disk_source, (kind,))


def fixed(mod: Path, kind: str) -> VerifiedFix:
    """The verified fix of ``kind``; fails saying why there is none."""
    fix = find_fix(mod, kind)
    assert isinstance(fix, VerifiedFix), f"no verified {kind} fix: {fix}"
    return fix


def assert_refused(result: VerifiedFix | Refusal, stage: Stage, reason: str) -> None:
    """``result`` is a refusal at ``stage`` whose reason says ``reason``."""
    assert isinstance(result, Refusal), f"expected a refusal, got a fix: {result}"
    assert result.stage is stage and reason in result.reason, (
        f"refused for the wrong reason: {result}, expected {stage.value}: {reason}"
    )


def go(mod: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["go", *args], cwd=mod, capture_output=True, text=True, timeout=300)


def assert_clean_build(mod: Path) -> None:
    build = go(mod, "build", "./...")
    assert build.returncode == 0, build.stderr
    vet = go(mod, "vet", "./...")
    assert vet.returncode == 0, vet.stderr
    fmt = subprocess.run(["gofmt", "-l", "."], cwd=mod, capture_output=True, text=True)
    assert fmt.stdout.strip() == "", f"not gofmt-clean: {fmt.stdout}"


def heap_escapes(mod: Path, function: str = "") -> int:
    """Heap escapes the compiler reports, in one function (and its closures) or all."""
    proc = subprocess.run(
        [sys.executable, "-m", "heaplens", "check", "--no-cache", "--format", "json", "."],
        cwd=mod,
        capture_output=True,
        text=True,
        timeout=300,
    )
    data = json.loads(proc.stdout)
    heap = {k.value for k in HEAP_KINDS}
    return sum(
        1
        for f in data["findings"]
        if f["kind"] in heap
        and (not function or f["function"] == function or f["function"].startswith(function + "."))
    )


def allocations(mod: Path, driver: str) -> float:
    test = mod / "allocs_test.go"
    test.write_text(
        'package p\n\nimport (\n\t"fmt"\n\t"testing"\n)\n\nvar sink any\n\n'
        "func TestAllocs(t *testing.T) {\n"
        f"\tn := testing.AllocsPerRun(50, func() {{ sink = {driver} }})\n"
        '\tfmt.Printf("ALLOCS %v\\n", n)\n}\n'
    )
    try:
        proc = go(mod, "test", "-run", "TestAllocs", "-count=1", "-v", ".")
        m = re.search(r"ALLOCS (\S+)", proc.stdout)
        assert m, proc.stdout + proc.stderr
        return float(m.group(1))
    finally:
        test.unlink()

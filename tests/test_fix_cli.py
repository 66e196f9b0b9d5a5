"""``heaplens fix``: a dry run prints a diff and touches nothing; --write applies fixes
that build and leave fewer heap escapes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import check_json, copy_module, run_cli


def _heap(data: dict) -> int:  # type: ignore[type-arg]
    return sum(1 for f in data["findings"] if f["kind"] in ("moved-to-heap", "escapes-to-heap"))


def test_fix_hotpath(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = copy_module("hotpath", tmp_path)
    original = (mod / "hotpath.go").read_text()
    _, before, _ = check_json(".", cwd=mod, env=cli_env)

    dry = run_cli("fix", ".", cwd=mod, env=cli_env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("--- a/hotpath.go")
    assert "+\tout := make([]int, 0, len(xs))" in dry.stdout
    assert (mod / "hotpath.go").read_text() == original  # a dry run changes nothing
    assert "verified" in dry.stderr

    done = run_cli("fix", "--write", ".", cwd=mod, env=cli_env)
    assert done.returncode == 0, done.stderr
    assert "applied 3 fix(es)" in done.stderr
    fixed = (mod / "hotpath.go").read_text()
    assert "bufPool" in fixed and "func TotalArea[S Shape](s S)" in fixed
    for cmd in (["go", "build", "./..."], ["go", "vet", "./..."]):
        proc = subprocess.run(cmd, cwd=mod, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert (
        subprocess.run(["gofmt", "-l", "."], cwd=mod, capture_output=True, text=True).stdout == ""
    )
    _, after, _ = check_json(".", cwd=mod, env=cli_env)
    assert _heap(after) < _heap(before)


def test_check_lists_fixes_per_finding(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = copy_module("hotpath", tmp_path)
    _, data, _ = check_json(".", cwd=mod, env=cli_env)
    by_message = {f["message"]: f for f in data["findings"]}
    append = next(f for m, f in by_message.items() if m.startswith("append(out"))
    assert [x["kind"] for x in append["fixes"]] == ["preallocate"]
    assert append["fixes"][0]["verified"] is False  # listed, not compiled
    proc = run_cli("check", "--format", "json", "--verify-fixes", ".", cwd=mod, env=cli_env)
    verified = json.loads(proc.stdout)
    boxed = next(f for f in verified["findings"] if f["message"] == "floor escapes to heap")
    assert boxed["fixes"] and boxed["fixes"][0]["verified"] is True
    assert "2 heap escapes removed" in boxed["fixes"][0]["title"]
    text = run_cli("check", ".", cwd=mod, env=cli_env).stdout
    assert "fix: sync-pool" in text and "fix: type-parameter" in text


def test_unknown_fix_kind(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = copy_module("hotpath", tmp_path)
    proc = run_cli("fix", "--kinds", "magic", ".", cwd=mod, env=cli_env)
    assert proc.returncode == 2 and "unknown fix kind 'magic'" in proc.stderr


def test_fix_mistyped_targets(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = copy_module("hotpath", tmp_path)
    loose = tmp_path / "loose"
    loose.mkdir()
    cases = {
        "nope/": "heaplens: no such file or directory: nope/",
        "./nope/...": "heaplens: ./nope/... matched no packages (no such directory: ./nope)",
        str(loose): f"heaplens: {loose} is outside any Go module (no go.mod in it or above "
        "it) and has no .go files to analyse on their own",
    }
    for arg, message in cases.items():
        proc = run_cli("fix", "--write", arg, cwd=mod, env=cli_env)
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
        assert proc.stderr.splitlines() == [message]

"""``heaplens fix``: a dry run prints a diff and touches nothing; --write applies fixes
that build and leave fewer heap escapes."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from conftest import check_json, copy_module, hanging_go, run_cli, run_cli_on_a_terminal


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
    # TotalArea is exported: making it generic is an API change, not tried by default.
    assert "applied 2 fix(es)" in done.stderr
    assert "not tried, it changes the exported API: Make s a type parameter" in done.stderr
    fixed = (mod / "hotpath.go").read_text()
    assert "bufPool" in fixed and "func TotalArea(s Shape)" in fixed
    api = run_cli("fix", "--write", "--allow-api-change", ".", cwd=mod, env=cli_env)
    assert api.returncode == 0, api.stderr
    assert "applied 1 fix(es)" in api.stderr
    fixed = (mod / "hotpath.go").read_text()
    assert "func TotalArea[S Shape](s S)" in fixed
    for cmd in (["go", "build", "./..."], ["go", "vet", "./..."]):
        proc = subprocess.run(cmd, cwd=mod, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert (
        subprocess.run(["gofmt", "-l", "."], cwd=mod, capture_output=True, text=True).stdout == ""
    )
    _, after, _ = check_json(".", cwd=mod, env=cli_env)
    assert _heap(after) < _heap(before)


def test_check_lists_only_verified_fixes(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = copy_module("hotpath", tmp_path)
    # Unverified candidates are never named: check says how many there are.
    _, data, _ = check_json(".", cwd=mod, env=cli_env)
    assert all(not f["fixes"] for f in data["findings"])
    text = run_cli("check", ".", cwd=mod, env=cli_env).stdout
    assert "; fix: " not in text
    assert "may have a fix: --verify-fixes compiles them" in text
    proc = run_cli("check", "--format", "json", "--verify-fixes", ".", cwd=mod, env=cli_env)
    verified = json.loads(proc.stdout)
    by_message = {f["message"]: f for f in verified["findings"]}
    append = next(f for m, f in by_message.items() if m.startswith("append(out"))
    assert [x["kind"] for x in append["fixes"]] == ["preallocate"]
    assert all(x["verified"] is True for f in verified["findings"] for x in f["fixes"])
    boxed = by_message["floor escapes to heap"]
    title = boxed["fixes"][0]["title"]
    assert "keeps floor and wall in Room off the heap" in title
    assert "changes the exported API of TotalArea" in title
    text = run_cli("check", "--verify-fixes", ".", cwd=mod, env=cli_env).stdout
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


def test_fix_timeout_bounds_go_env_too(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = copy_module("hotpath", tmp_path)
    go = hanging_go(tmp_path)
    start = time.monotonic()
    proc = run_cli("fix", "--go", str(go), "--timeout", "2", ".", cwd=mod, env=cli_env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "`go env` did not finish within 2 s" in proc.stderr, proc.stderr
    assert "no file was changed" in proc.stderr
    assert time.monotonic() - start < 15


def _slow_compiler_go(tmp_path: Path) -> Path:
    """The real `go`, except that the compiler heaplens runs on its own (to verify a fix
    once the packages are checked) hangs."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "compile").write_text("#!/bin/sh\nsleep 300\n")
    (tools / "compile").chmod(0o755)
    real = shutil.which("go")
    go = tmp_path / "fakebin" / "go"
    go.parent.mkdir()
    rewrite = f's#"GOTOOLDIR": ".*"#"GOTOOLDIR": "{tools}"#'
    go.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = env ]; then {real} "$@" | sed \'{rewrite}\'; exit 0; fi\n'
        f'exec {real} "$@"\n'
    )
    go.chmod(0o755)
    return go


def test_fix_stops_at_the_deadline(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """The packages are checked, then verifying a fix hangs: the fix stops when the one
    --timeout is up, says so, and writes nothing."""
    mod = copy_module("hotpath", tmp_path)
    original = (mod / "hotpath.go").read_text()
    go = _slow_compiler_go(tmp_path)
    start = time.monotonic()
    proc = run_cli(
        "fix", "--write", "--no-tests", "--go", str(go), "--timeout", "5", ".", cwd=mod, env=cli_env
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "`compile` did not finish within 5 s" in proc.stderr, proc.stderr
    assert proc.stderr.endswith("heaplens: fix stopped before it was done; no file was changed.\n")
    assert (mod / "hotpath.go").read_text() == original
    assert time.monotonic() - start < 20


def test_fix_progress_on_a_terminal(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = copy_module("hotpath", tmp_path)
    returncode, seen = run_cli_on_a_terminal("fix", "--no-cache", ".", cwd=mod, env=cli_env)
    assert returncode == 0
    assert b"\r\x1b[Kheaplens: verifying fixes in example.com/hotpath (check 1)" in seen, seen
    assert b"(check 3)" in seen
    piped = run_cli("fix", "--no-cache", ".", cwd=mod, env=cli_env)
    assert "verifying" not in piped.stderr


def test_fix_leaves_test_files_alone_unless_asked(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """A fix in a _test.go file can add an import and shift the lines its tests assert
    on: ``fix`` compiles tests but rewrites them only with ``--tests``."""
    mod = tmp_path / "m"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/m\n\ngo 1.23\n")
    (mod / "m.go").write_text('package m\n\nfunc Name() string { return "m" }\n')
    test = (
        'package m\n\nimport (\n\t"bytes"\n\t"fmt"\n\t"runtime"\n\t"testing"\n)\n\n'
        "var sink string\n\n"
        "func TestLine(t *testing.T) {\n"
        "\tif _, _, line, _ := runtime.Caller(0); line != 13 {\n"
        '\t\tt.Fatalf("line %d", line)\n\t}\n}\n\n'
        "func BenchmarkRender(b *testing.B) {\n\tfor range b.N {\n\t\trender()\n\t}\n}\n\n"
        "func render() {\n\tbuf := new(bytes.Buffer)\n"
        '\tfmt.Fprintf(buf, "%s=%d", Name(), 1)\n\tsink = buf.String()\n}\n'
    )
    (mod / "m_test.go").write_text(test)
    assert subprocess.run(["go", "test", "."], cwd=mod, capture_output=True).returncode == 0

    default = run_cli("fix", "--write", ".", cwd=mod, env=cli_env)
    assert default.returncode == 0, default.stderr
    assert (mod / "m_test.go").read_text() == test
    assert "no verified fix applies" in default.stderr

    asked = run_cli("fix", "--write", "--tests", ".", cwd=mod, env=cli_env)
    assert asked.returncode == 0, asked.stderr
    assert "bufPool" in (mod / "m_test.go").read_text()  # the fix exists: it was held back
    # ...and it moved the line TestLine asserts on, as the rule expects.
    assert subprocess.run(["go", "test", "."], cwd=mod, capture_output=True).returncode != 0

"""``heaplens check`` end to end: the real CLI process, the real ``go``, real modules."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import (
    ROOT,
    check_json,
    copy_module,
    hanging_go,
    line_of,
    run_cli,
    run_cli_on_a_terminal,
)
from heaplens.model import ReasonCode
from heaplens.positions import byte_to_units


def _find(data: dict[str, Any], **want: Any) -> dict[str, Any]:
    for f in data["findings"]:
        if all(f.get(k) == v if not callable(v) else v(f.get(k)) for k, v in want.items()):
            return f
    raise AssertionError(
        f"no finding with {want}; have:\n" + json.dumps(data["findings"], indent=1)
    )


def test_every_kind_with_reasons(corpus: Path, cli_env: dict[str, str]) -> None:
    rc, data, _ = check_json("--kinds", "all", "./...", cwd=corpus, env=cli_env)
    assert rc == 0
    assert data["version"] == 1 and data["go_version"].startswith("go1.")
    esc = str(corpus / "esc" / "esc.go")
    returned = _find(data, file=esc, function="NewConfig", kind="escapes-to-heap")
    assert returned["message"] == "&Config{...} escapes to heap"
    assert returned["reason"] == "returned to the caller"
    stored = _find(data, file=esc, function="Store", kind="escapes-to-heap")
    assert stored["reason"].startswith("stored in a package variable")
    moved = _find(data, file=esc, function="Moved", kind="moved-to-heap")
    assert moved["message"] == "moved to heap: x"
    captured = _find(data, file=esc, function="Closure", kind="moved-to-heap")
    assert captured["reason"] == "captured by a closure"
    boxed = _find(data, file=esc, function="Sprint", message="n escapes to heap")
    assert boxed["reason"] == "converted to an interface for fmt.Sprint"
    iface = _find(data, file=esc, function="UseTotal", kind="escapes-to-heap")
    assert iface["reason"] == "converted to an interface for Total"
    assert (
        _find(data, file=esc, function="Big", kind="escapes-to-heap")["reason"]
        == "too large for the stack"
    )
    assert _find(data, file=esc, message="leaking param: w")["kind"] == "leaking-param"
    assert _find(data, file=esc, message="leaking param content: p")
    assert _find(data, file=esc, message="leaking param: p to result ~r0 level=0")
    assert _find(data, file=esc, kind="inlining", function="NewConfig")
    cannot = _find(data, file=esc, kind="cannot-inline", function="Total")
    assert "go:noinline" in cannot["message"]
    method = _find(data, file=esc, function="(*Config).Clone", kind="moved-to-heap")
    assert method["message"] == "moved to heap: d"
    # Every path is absolute, every finding carries its flow with positions.
    for f in data["findings"]:
        assert Path(f["file"]).is_absolute()
        assert f["fixes"] == [] or all("kind" in x for x in f["fixes"])
        for step in f["flow"]:
            assert Path(step["file"]).is_absolute() and step["line"] > 0 and step["column"] > 0
    assert returned["flow"][-1]["message"].startswith("return &Config")


def test_ranges_are_whole_expressions(corpus: Path, cli_env: dict[str, str]) -> None:
    _, data, _ = check_json("./esc", cwd=corpus, env=cli_env)
    esc = corpus / "esc" / "esc.go"
    line_no, line = line_of(esc, "return &Config{Name")
    f = _find(data, function="NewConfig", kind="escapes-to-heap")
    start = line.index(b"&Config")
    assert (f["line"], f["column"], f["end_line"]) == (line_no, start + 1, line_no)
    assert line[f["column"] - 1 : f["end_column"] - 1] == b'&Config{Name: "x"}'
    moved = _find(data, function="Moved", kind="moved-to-heap")
    assert moved["end_column"] - moved["column"] == 1  # just the name `x`


def test_chinese_and_emoji_columns(corpus: Path, cli_env: dict[str, str]) -> None:
    _, data, _ = check_json("./esc", cwd=corpus, env=cli_env)
    line_no, line = line_of(corpus / "esc" / "esc.go", "&Point{X: 1}")
    f = _find(data, function="Unicode", kind="escapes-to-heap")
    byte_col = line.index(b"&Point{X: 1}")
    assert (f["line"], f["column"]) == (line_no, byte_col + 1)
    assert f["end_column"] == byte_col + len(b"&Point{X: 1}") + 1
    # The shared helper turns the byte column into exact UTF-16 units.
    prefix = line[:byte_col].decode()
    assert byte_to_units(line, f["column"] - 1, "utf-16") == len(prefix.encode("utf-16-le")) // 2
    assert byte_to_units(line, f["column"] - 1, "utf-16") < byte_col


def test_test_files_are_covered(corpus: Path, cli_env: dict[str, str]) -> None:
    _, data, _ = check_json("./tested", cwd=corpus, env=cli_env)
    internal = str(corpus / "tested" / "tested_test.go")
    external = str(corpus / "tested" / "ext_test.go")
    assert _find(data, file=internal, function="TestMake", message="new(int) escapes to heap")
    assert _find(data, file=external, function="TestExternal", kind="escapes-to-heap")
    assert _find(data, file=str(corpus / "tested" / "tested.go"), function="Make")
    # Without tests, only the package's own files are analysed.
    _, plain, _ = check_json("--no-tests", "./tested", cwd=corpus, env=cli_env)
    assert {f["file"] for f in plain["findings"]} == {str(corpus / "tested" / "tested.go")}


def test_broken_package_next_to_good_one(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = copy_module("mixed", tmp_path)
    rc, data, stderr = check_json("./...", cwd=mod, env=cli_env)
    assert rc == 2
    assert _find(data, file=str(mod / "good" / "good.go"), function="New")
    errors = data["errors"]
    assert errors and all(e["file"] == str(mod / "bad" / "bad.go") for e in errors)
    assert errors[0]["line"] == 4 and errors[0]["column"] > 0
    assert "did not compile" in stderr
    text = run_cli("check", "./...", cwd=mod, env=cli_env)
    assert text.returncode == 2
    assert "bad/bad.go:4:" in text.stdout
    assert "good/good.go" in text.stdout


def test_text_output_grouped_by_file(corpus: Path, cli_env: dict[str, str]) -> None:
    proc = run_cli("check", "./...", cwd=corpus, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "esc/esc.go" in lines
    assert lines.index("esc/esc.go") < lines.index("tested/tested.go")
    assert any(
        "converted to an interface for fmt.Sprint" in ln and "n escapes to heap" in ln
        for ln in lines
    )
    assert any("captured by a closure" in ln for ln in lines)
    assert not any("can inline" in ln for ln in lines)  # inlining notes are opt-in
    assert "findings" in lines[-1]


def test_kinds_and_fail_on(corpus: Path, cli_env: dict[str, str]) -> None:
    rc, data, _ = check_json("--kinds", "moved-to-heap", "./esc", cwd=corpus, env=cli_env)
    assert rc == 0 and data["findings"]
    assert {f["kind"] for f in data["findings"]} == {"moved-to-heap"}
    failing = run_cli("check", "--fail-on", "escapes-to-heap", "./esc", cwd=corpus, env=cli_env)
    assert failing.returncode == 1
    # A --fail-on kind is shown even when --kinds leaves it out: never fail silently.
    shown = run_cli(
        "check",
        "--kinds",
        "moved-to-heap",
        "--fail-on",
        "cannot-inline",
        "./esc",
        cwd=corpus,
        env=cli_env,
    )
    assert shown.returncode == 1 and "cannot inline Total" in shown.stdout
    mod = copy_module("mixed", corpus.parent)
    passing = run_cli("check", "--fail-on", "moved-to-heap", "./good", cwd=mod, env=cli_env)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    bad = run_cli("check", "--kinds", "nonsense", cwd=corpus, env=cli_env)
    assert bad.returncode == 2 and "unknown kind 'nonsense'" in bad.stderr


def test_sarif_validates_against_the_schema(corpus: Path, cli_env: dict[str, str]) -> None:
    proc = run_cli("check", "--format", "sarif", "./...", cwd=corpus, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    sarif = json.loads(proc.stdout)
    schema = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema, cls=jsonschema.Draft4Validator)
    run = sarif["runs"][0]
    assert run["columnKind"] == "utf16CodeUnits"
    unicode_line, line = line_of(corpus / "esc" / "esc.go", "&Point{X: 1}")
    hit = [
        r
        for r in run["results"]
        if r["locations"][0]["physicalLocation"]["region"]["startLine"] == unicode_line
        and r["ruleId"] == "escapes-to-heap"
    ]
    assert hit
    # Tools decide on the code, never on the words of the message.
    assert {r["properties"]["reasonCode"] for r in run["results"]} <= {c.value for c in ReasonCode}
    assert hit[0]["properties"]["reasonCode"] == "returned"
    col = hit[0]["locations"][0]["physicalLocation"]["region"]["startColumn"]
    prefix = line[: line.index(b"&Point")].decode()
    assert col == len(prefix.encode("utf-16-le")) // 2 + 1
    assert any("codeFlows" in r for r in run["results"])


def test_sarif_of_a_broken_build_validates(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = copy_module("mixed", tmp_path)
    proc = run_cli("check", "--format", "sarif", "./...", cwd=mod, env=cli_env)
    assert proc.returncode == 2
    sarif = json.loads(proc.stdout)
    schema = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema, cls=jsonschema.Draft4Validator)
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert notes and notes[0]["level"] == "error"


def test_hotpath_example_is_the_default_job(tmp_path: Path, cli_env: dict[str, str]) -> None:
    proc = run_cli("check", str(ROOT / "examples" / "hotpath"), cwd=tmp_path, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    for needle in (
        "returned to the caller",
        "stored in a package variable",
        "captured by a closure",
        "converted to an interface for fmt.Sprintf",
        "too large for the stack",
    ):
        assert needle in proc.stdout, needle


def test_console_script_and_module_agree(corpus: Path, cli_env: dict[str, str]) -> None:
    exe = shutil.which("heaplens")
    if exe is None:
        pytest.fail("the heaplens console script is not installed")
    import subprocess

    a = subprocess.run([exe, "--version"], capture_output=True, text=True)
    b = run_cli("--version", cwd=corpus, env=cli_env)
    assert a.returncode == 0 and a.stdout == b.stdout and "heaplens" in a.stdout


def test_verbose_counts_unknown_lines(corpus: Path, cli_env: dict[str, str]) -> None:
    proc = run_cli("check", "-v", "./esc", cwd=corpus, env=cli_env)
    assert "unknown compiler lines: 0" in proc.stdout


def test_progress_on_a_terminal_only(corpus: Path, cli_env: dict[str, str]) -> None:
    returncode, seen = run_cli_on_a_terminal(
        "check", "--no-cache", "./...", cwd=corpus, env=cli_env
    )
    assert returncode == 0
    assert b"heaplens: compiling ./..." in seen
    assert b"heaplens: [1/1]" not in seen  # a single unit of work gets no counter
    piped = run_cli("check", "--no-cache", "./...", cwd=corpus, env=cli_env)
    assert "heaplens:" not in piped.stderr  # not on a pipe


def test_verbose_says_how_a_changed_package_was_compiled(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    mod = copy_module("hotpath", tmp_path)
    first = run_cli("check", "-v", "--no-tests", ".", cwd=mod, env=cli_env)
    assert "(0 without the go command)" in first.stdout, first.stdout
    (source,) = mod.glob("*.go")
    source.write_text(source.read_text() + "\n// an edit\n")
    second = run_cli("check", "-v", "--no-tests", ".", cwd=mod, env=cli_env)
    assert "1 compiled (1 without the go command)" in second.stdout, second.stdout
    assert "file(s) unchanged in the compiler's log" in second.stdout


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """A mistake in what the user typed: exit 2, nothing on stdout, one line on stderr."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_path_that_does_not_exist(corpus: Path, cli_env: dict[str, str]) -> None:
    for arg in ("nope/", "esc/nope", "nope.go", "./nope"):
        line = _one_line_error(run_cli("check", arg, cwd=corpus, env=cli_env))
        assert line == f"heaplens: no such file or directory: {arg}"


def test_pattern_that_matches_no_packages(corpus: Path, cli_env: dict[str, str]) -> None:
    (corpus / "docs").mkdir()
    (corpus / "docs" / "README.md").write_text("no Go here\n")
    for arg in ("./nope/...", "./docs/...", "example.com/corpus/nope/..."):
        line = _one_line_error(run_cli("check", arg, cwd=corpus, env=cli_env))
        assert line.startswith(f"heaplens: {arg} matched no packages"), line


def test_directory_outside_any_module(tmp_path: Path, cli_env: dict[str, str]) -> None:
    loose = tmp_path / "loose"
    (loose / "cmd").mkdir(parents=True)
    main = loose / "cmd" / "main.go"
    main.write_text(
        "package main\n\nfunc p() *int {\n\tx := 1\n\treturn &x\n}\n\nfunc main() { _ = p() }\n"
    )
    env = dict(cli_env, GOFLAGS="", GOPATH=str(tmp_path / "gopath"))
    for args in ((), (".",), ("./...",)):
        line = _one_line_error(run_cli("check", *args, cwd=loose, env=env))
        assert line == (
            f"heaplens: {loose} is outside any Go module (no go.mod in it or above it) "
            "and has no .go files to analyse on their own"
        )
    # A file outside any module is still analysed on its own, as are a directory's files.
    for arg in ("cmd/main.go", "cmd"):
        rc, data, err = check_json(arg, cwd=loose, env=env)
        assert rc == 0, err
        assert [f["message"] for f in data["findings"]] == ["moved to heap: x"]
        # A directory's files, though, are said to be analysed on their own, in one line.
        said = [line for line in err.splitlines() if "outside any Go module" in line]
        assert said == (
            [
                "heaplens: cmd is outside any Go module (no go.mod in it or above it); "
                "its .go files were analysed on their own"
            ]
            if arg == "cmd"
            else []
        )


def test_timeout_bounds_go_env_too(corpus: Path, cli_env: dict[str, str], tmp_path: Path) -> None:
    """--timeout is for the whole check: a `go` that hangs from its first command on (`go
    env`) is stopped then, not after an allowance of its own."""
    go = hanging_go(tmp_path)
    start = time.monotonic()
    proc = run_cli("check", "--go", str(go), "--timeout", "2", "./esc", cwd=corpus, env=cli_env)
    elapsed = time.monotonic() - start
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "`go env` did not finish within 2 s" in proc.stderr, proc.stderr
    assert elapsed < 15, elapsed


def test_an_unwritable_report_path_is_exit_2(corpus: Path, cli_env: dict[str, str]) -> None:
    """Exit 1 means --fail-on found something; a report that cannot be written is 2."""
    target = corpus / "no" / "such" / "dir" / "report.json"
    proc = run_cli("check", "--format", "json", "-o", str(target), ".", cwd=corpus, env=cli_env)
    assert proc.returncode == 2, proc.stderr
    assert f"cannot write the report to {target}" in proc.stderr
    assert "Traceback" not in proc.stderr

"""``heaplens check --baseline``: findings matched to an earlier JSON report by a key that
names no line, SARIF ``baselineState`` and ``partialFingerprints``, ``--fail-on`` counting
only new findings, and ``--format github`` annotations. The real CLI, the real compiler,
modules written by each test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema

from conftest import ROOT, check_json, run_cli
from heaplens.report_github import escape_data, escape_property

SOURCE = """package shapes

import "fmt"

type Box struct{ W, H int }

func NewBox() *Box {
	return &Box{W: 1, H: 2}
}

func Label(n int) string {
	return fmt.Sprint(n)
}

func Keep() *int {
	x := 1
	return &x
}
"""


def _module(root: Path, source: str = SOURCE) -> Path:
    mod = root / "shapes"
    mod.mkdir(parents=True)
    (mod / "go.mod").write_text("module example.com/shapes\n\ngo 1.21\n")
    (mod / "shapes.go").write_text(source)
    return mod


def _baseline(mod: Path, env: dict[str, str], *args: str) -> Path:
    out = mod.parent / f"base-{mod.name}.json"
    proc = run_cli("check", "--format", "json", "-o", str(out), *args, "./...", cwd=mod, env=env)
    assert proc.returncode == 0, proc.stderr
    return out


def _states(data: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["function"], f["subject"]): f["baseline"] for f in data["findings"]}


def _insert_lines_above_everything(path: Path) -> None:
    text = path.read_text()
    text = "// a comment at the top\n\n" + text.replace("\nfunc ", "\n// moved\n\nfunc ")
    path.write_text(text)


def test_inserted_lines_change_nothing(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(tmp_path)
    base = _baseline(mod, cli_env)
    before = json.loads(base.read_text())
    _insert_lines_above_everything(mod / "shapes.go")
    rc, data, _ = check_json("--baseline", str(base), "./...", cwd=mod, env=cli_env)
    assert rc == 0
    assert len(data["findings"]) == len(before["findings"]) >= 3
    # Every finding moved down, and every one is the baseline's.
    pairs = zip(data["findings"], before["findings"], strict=True)
    assert all(a["line"] > b["line"] for a, b in pairs)
    assert set(_states(data).values()) == {"unchanged"}
    assert data["baseline"] == {"new": 0, "unchanged": len(data["findings"]), "absent": []}


def test_a_baseline_from_another_checkout_matches(tmp_path: Path, cli_env: dict[str, str]) -> None:
    elsewhere = _module(tmp_path / "main-checkout")
    base = _baseline(elsewhere, cli_env)
    here = _module(tmp_path / "pr-checkout")
    _insert_lines_above_everything(here / "shapes.go")
    rc, data, _ = check_json("--baseline", str(base), "./...", cwd=here, env=cli_env)
    assert rc == 0 and data["findings"]
    assert set(_states(data).values()) == {"unchanged"}
    assert data["findings"][0]["key"]["file"] == "example.com/shapes/shapes.go"


def test_a_renamed_neighbour_changes_nothing_for_the_others(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    mod = _module(tmp_path)
    base = _baseline(mod, cli_env)
    (mod / "shapes.go").write_text(SOURCE.replace("func Label(", "func Tag("))
    rc, data, _ = check_json("--baseline", str(base), "./...", cwd=mod, env=cli_env)
    assert rc == 0
    states = _states(data)
    assert {fn for (fn, _), s in states.items() if s == "new"} == {"Tag"}
    assert states[("NewBox", "&Box{...}")] == "unchanged"
    assert states[("Keep", "x")] == "unchanged"
    assert [a["function"] for a in data["baseline"]["absent"]] == ["Label"]


def test_a_new_escaping_function_is_the_only_new_thing(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    mod = _module(tmp_path)
    base = _baseline(mod, cli_env)
    added = "\nfunc Spare() *Box {\n\treturn &Box{}\n}\n"
    # Above the others, so every old finding moves too.
    (mod / "shapes.go").write_text(SOURCE.replace("func NewBox", added + "\nfunc NewBox"))
    rc, data, _ = check_json(
        "--baseline", str(base), "--fail-on", "heap", "./...", cwd=mod, env=cli_env
    )
    new = [f for f in data["findings"] if f["baseline"] == "new"]
    assert [(f["function"], f["subject"]) for f in new] == [("Spare", "&Box{}")]
    assert data["baseline"]["new"] == 1 and data["baseline"]["absent"] == []
    assert rc == 1  # --fail-on heap, and a new heap finding


def test_fail_on_counts_only_new_findings(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(tmp_path)
    base = _baseline(mod, cli_env)
    _insert_lines_above_everything(mod / "shapes.go")
    # Heap findings exist, none of them new.
    assert run_cli("check", "--fail-on", "heap", cwd=mod, env=cli_env).returncode == 1
    proc = run_cli("check", "--baseline", str(base), "--fail-on", "heap", cwd=mod, env=cli_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "baseline: 0 new" in proc.stdout and "(new" not in proc.stdout
    with (mod / "shapes.go").open("a") as f:
        f.write("\nfunc Fresh() *Box {\n\treturn &Box{W: 3}\n}\n")
    proc = run_cli("check", "--baseline", str(base), "--fail-on", "heap", cwd=mod, env=cli_env)
    assert proc.returncode == 1
    marked = [line for line in proc.stdout.splitlines() if "(new;" in line]
    assert len(marked) == 1 and "in Fresh" in marked[0], proc.stdout
    assert "baseline: 1 new," in proc.stdout


def _sarif(mod: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = run_cli("check", "--format", "sarif", *args, "./...", cwd=mod, env=env)
    assert proc.returncode == 0, proc.stderr
    sarif: dict[str, Any] = json.loads(proc.stdout)
    schema = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema, cls=jsonschema.Draft4Validator)
    return sarif


def _fingerprints(sarif: dict[str, Any]) -> dict[str, str]:
    """Each result's heaplens fingerprint, to its baseline state ("" when none)."""
    results = sarif["runs"][0]["results"]
    return {r["partialFingerprints"]["heaplens/v1"]: r.get("baselineState", "") for r in results}


def test_sarif_baseline_states_and_fingerprints(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(tmp_path)
    plain = _sarif(mod, cli_env)
    base = _baseline(mod, cli_env)
    # Every result has a fingerprint, unique, and none a state without a baseline.
    results = plain["runs"][0]["results"]
    assert len(_fingerprints(plain)) == len(results) >= 3
    assert set(_fingerprints(plain).values()) == {""}
    _insert_lines_above_everything(mod / "shapes.go")
    moved = _sarif(mod, cli_env)
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results]
    moved_lines = [
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in moved["runs"][0]["results"]
    ]
    assert all(a > b for a, b in zip(moved_lines, lines, strict=True))
    assert _fingerprints(moved).keys() == _fingerprints(plain).keys()

    (mod / "shapes.go").write_text(SOURCE.replace("func Label(", "func Tag("))
    compared = _sarif(mod, cli_env, "--baseline", str(base))
    by_state: dict[str, list[dict[str, Any]]] = {}
    for r in compared["runs"][0]["results"]:
        by_state.setdefault(r["baselineState"], []).append(r)
    assert set(by_state) == {"new", "unchanged", "absent"}
    assert all("(in Tag)" in r["message"]["text"] for r in by_state["new"])
    assert [r["message"]["text"] for r in by_state["absent"]] == ["n escapes to heap (in Label)"]
    gone = by_state["absent"][0]
    assert gone["partialFingerprints"]["heaplens/v1"] in _fingerprints(plain)
    uri = gone["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == (mod / "shapes.go").as_uri()
    unchanged = {r["partialFingerprints"]["heaplens/v1"] for r in by_state["unchanged"]}
    assert unchanged < _fingerprints(plain).keys()


GITHUB_SOURCE = """package shapes

type Box struct{ W, H int }

func NewBox() *Box {
	_ = "箱"; return &Box{W: 1, H: 2}
}
"""


def test_github_annotations(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(tmp_path, GITHUB_SOURCE)
    (mod / "inner").mkdir()
    (mod / "inner" / "inner.go").write_text(
        "package inner\n\nfunc Keep() *int {\n\tx := 1\n\treturn &x\n}\n"
    )
    proc = run_cli("check", "--format", "github", cwd=mod, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    # Columns count characters: 箱 is one, not three bytes.
    assert proc.stdout == (
        "::notice file=shapes.go,line=6,col=18,endLine=6,endColumn=34,"
        "title=escapes-to-heap::&Box{...} escapes to heap: returned to the caller "
        "(in NewBox)\n"
        "::notice file=inner/inner.go,line=4,col=2,endLine=4,endColumn=3,"
        "title=moved-to-heap::moved to heap: x: its address is returned to the caller "
        "(in Keep)\n"
    )
    # With a baseline, only what is new.
    base = _baseline(mod, cli_env)
    with (mod / "shapes.go").open("a") as f:
        f.write("\nfunc Spare() *Box {\n\treturn &Box{}\n}\n")
    proc = run_cli("check", "--format", "github", "--baseline", str(base), cwd=mod, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        "::notice file=shapes.go,line=10,col=9,endLine=10,endColumn=15,"
        "title=escapes-to-heap::&Box{} escapes to heap: returned to the caller (in Spare)\n"
    )


def test_github_escaping() -> None:
    assert escape_data("100% a:b,c\r\nd") == "100%25 a:b,c%0D%0Ad"
    assert escape_property("dir,x/a:b%.go") == "dir%2Cx/a%3Ab%25.go"


def test_a_kind_the_baseline_did_not_report_is_new(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(tmp_path)
    base = _baseline(mod, cli_env)
    rc, data, stderr = check_json(
        "--baseline", str(base), "--kinds", "heap,inlining", "./...", cwd=mod, env=cli_env
    )
    assert rc == 0
    assert "the baseline did not report inlining" in stderr
    assert {f["baseline"] for f in data["findings"] if f["kind"] == "inlining"} == {"new"}
    assert {f["baseline"] for f in data["findings"] if f["kind"] != "inlining"} == {"unchanged"}
    # The other way round: leaking params the current run does not report are not gone.
    rc, data, _ = check_json(
        "--baseline", str(base), "--kinds", "heap", "./...", cwd=mod, env=cli_env
    )
    assert data["baseline"]["absent"] == [] and data["baseline"]["new"] == 0


def test_a_bad_baseline_is_exit_2(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(tmp_path)
    good = json.loads(_baseline(mod, cli_env).read_text())
    cases = {
        "missing.json": None,
        "text.json": "not json at all",
        "other.json": json.dumps({"hello": "world"}),
        "v2.json": json.dumps({**good, "version": 2}),
        "old.json": json.dumps({k: v for k, v in good.items() if k != "kinds"}),
        "sarif.json": json.dumps(_sarif(mod, cli_env)),
    }
    wanted = {
        "missing.json": "cannot read the baseline",
        "text.json": "is not JSON",
        "other.json": "is not a heaplens JSON report",
        "v2.json": "schema version 2",
        "old.json": "an older heaplens wrote it",
        "sarif.json": "is not a heaplens JSON report",
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        proc = run_cli("check", "--baseline", str(path), cwd=mod, env=cli_env)
        assert proc.returncode == 2, (name, proc.stdout, proc.stderr)
        assert wanted[name] in proc.stderr, (name, proc.stderr)
        assert proc.stdout == ""


def test_pre_commit_hook_is_declared() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "- id: heaplens" in text and "entry: heaplens check" in text
    assert "language: python" in text and "pass_filenames: false" in text
    assert shutil.which("heaplens") is not None  # the entry the hook runs exists


OCCURRENCES = """package shapes

import "fmt"

func Twice(n int) (string, string) {
	a := fmt.Sprint(n)
	b := fmt.Sprint(n)
	return a, b
}
"""


def _uses_of_n(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["subject"] == "n"]


def test_occurrences_count_in_source_order(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(tmp_path, OCCURRENCES)
    base = _baseline(mod, cli_env)
    keys = [f["key"] for f in _uses_of_n(json.loads(base.read_text()))]
    assert [(k["function"], k["kind"], k["occurrence"]) for k in keys] == [
        ("Twice", "escapes-to-heap", 1),
        ("Twice", "escapes-to-heap", 2),
    ]
    # A third use after them is the new one; the first two keep their keys.
    (mod / "shapes.go").write_text(
        OCCURRENCES.replace("\treturn a, b", "\t_ = fmt.Sprint(n)\n\treturn a, b")
    )
    rc, data, _ = check_json("--baseline", str(base), "./...", cwd=mod, env=cli_env)
    assert rc == 0
    got = [(f["line"], f["key"]["occurrence"], f["baseline"]) for f in _uses_of_n(data)]
    assert got == [(6, 1, "unchanged"), (7, 2, "unchanged"), (8, 3, "new")]

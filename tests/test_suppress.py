"""``//heaplens:ignore`` silences findings, on a line, above a function, or by kind."""

from __future__ import annotations

from pathlib import Path

from conftest import check_json


def _module(tmp_path: Path, body: str) -> Path:
    mod = tmp_path / "m"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/m\n\ngo 1.21\n")
    (mod / "m.go").write_text("package m\n\nvar sink *int\n\n" + body)
    return mod


def _messages(mod: Path, env: dict[str, str]) -> list[str]:
    rc, data, err = check_json("--kinds", "all", ".", cwd=mod, env=env)
    assert rc == 0, err
    return [f"{f['function']}:{f['message']}" for f in data["findings"]]


def test_end_of_line_and_function_and_kinds(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(
        tmp_path,
        "func A() *int {\n\ta := 1 //heaplens:ignore\n\treturn &a\n}\n\n"
        "func B() *int {\n\tb := 1\n\treturn &b\n}\n\n"
        "// C is quiet.\n//heaplens:ignore\nfunc C() *int {\n\tc := 1\n\treturn &c\n}\n\n"
        "func D(p *int) *int {\n\td := 1 //heaplens:ignore leaking-param\n\treturn &d\n}\n\n"
        "func E() {\n\t//heaplens:ignore\n\te := 1\n\tsink = &e\n}\n",
    )
    found = _messages(mod, cli_env)
    assert "A:moved to heap: a" not in found
    assert "B:moved to heap: b" in found
    assert not [f for f in found if f.startswith("C:")]
    assert "D:moved to heap: d" in found  # only leaking-param is ignored on that line
    assert "E:moved to heap: e" not in found

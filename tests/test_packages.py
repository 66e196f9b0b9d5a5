"""What the user names → which packages: directories, files, patterns, import paths,
nested modules, go.work, GOPATH and files outside any module."""

from __future__ import annotations

from pathlib import Path

from conftest import check_json, run_cli

ESCAPE = "package {name}\n\ntype T struct{{ A int }}\n\nfunc New() *T {{\n\treturn &T{{A: 1}}\n}}\n"


def _module(root: Path, path: str, name: str = "m") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text(f"module {path}\n\ngo 1.21\n")
    (root / f"{name}.go").write_text(ESCAPE.format(name=name))
    return root


def _files(data: dict) -> set[str]:  # type: ignore[type-arg]
    return {f["file"] for f in data["findings"]}


def test_nested_modules_under_dot_dot_dot(tmp_path: Path, cli_env: dict[str, str]) -> None:
    outer = _module(tmp_path / "outer", "example.com/outer", "outer")
    inner = _module(outer / "inner", "example.com/inner", "inner")
    _module(outer / "vendor" / "skipped", "example.com/skipped", "skipped")
    rc, data, err = check_json("./...", cwd=outer, env=cli_env)
    assert rc == 0, err
    assert _files(data) == {str(outer / "outer.go"), str(inner / "inner.go")}


def test_go_work_joins_modules(tmp_path: Path, cli_env: dict[str, str]) -> None:
    work = tmp_path / "work"
    a = _module(work / "a", "example.com/a", "a")
    b = _module(work / "b", "example.com/b", "b")
    (b / "b.go").write_text(
        'package b\n\nimport "example.com/a"\n\nfunc Use() *a.T {\n\treturn a.New()\n}\n'
    )
    (work / "go.work").write_text("go 1.21\n\nuse (\n\t./a\n\t./b\n)\n")
    rc, data, err = check_json("./...", cwd=work, env=cli_env)
    assert rc == 0, err
    assert str(a / "a.go") in _files(data)
    assert str(b / "b.go") in _files(data)  # the inlined a.New escapes in b.Use
    rc, data, err = check_json(".", cwd=b, env=cli_env)
    assert rc == 0 and _files(data) == {str(b / "b.go")}, err


def test_file_argument_limits_the_report(corpus: Path, cli_env: dict[str, str]) -> None:
    rc, data, _ = check_json("tested/tested.go", cwd=corpus, env=cli_env)
    assert rc == 0
    assert _files(data) == {str(corpus / "tested" / "tested.go")}


def test_import_path_and_directory_arguments(corpus: Path, cli_env: dict[str, str]) -> None:
    _, by_path, _ = check_json("example.com/corpus/esc", cwd=corpus, env=cli_env)
    _, by_dir, _ = check_json(str(corpus / "esc"), cwd=corpus.parent, env=cli_env)
    assert by_path["findings"] and by_path["findings"] == by_dir["findings"]


def test_file_outside_any_module(tmp_path: Path, cli_env: dict[str, str]) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "main.go").write_text(
        "package main\n\nfunc p() *int {\n\tx := 1\n\treturn &x\n}\n\nfunc main() { _ = p() }\n"
    )
    rc, data, err = check_json("main.go", cwd=loose, env=dict(cli_env, GOFLAGS=""))
    assert rc == 0, err
    assert [f["message"] for f in data["findings"]] == ["moved to heap: x"]


def test_gopath_layout(tmp_path: Path, cli_env: dict[str, str]) -> None:
    gopath = tmp_path / "gopath"
    pkg = gopath / "src" / "example.com" / "legacy"
    pkg.mkdir(parents=True)
    (pkg / "legacy.go").write_text(ESCAPE.format(name="legacy"))
    env = dict(cli_env, GOPATH=str(gopath))
    rc, data, err = check_json(".", cwd=pkg, env=env)
    assert rc == 0, err
    assert _files(data) == {str(pkg / "legacy.go")}


def test_nothing_to_check_is_not_an_error(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = tmp_path / "empty"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/empty\n\ngo 1.21\n")
    proc = run_cli("check", "./...", cwd=mod, env=cli_env)
    assert proc.returncode in (0, 2)
    assert "Traceback" not in proc.stderr

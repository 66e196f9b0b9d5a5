"""Inputs the build leaves out or only links: files excluded by build constraints, and
.syso objects (garbage ones too), which heaplens never needs since it never links.
Through the CLI and the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.harness import heaplens_diagnostics, open_file, wait_for, wait_for_diagnostics
from tests.reliability.harness import cli, server

ESCAPE = "func Esc() *int {\n\tv := 1\n\treturn &v\n}\n"
SKIPPED = "func Skipped() *int { x := 2; return &x }\n"

# A file name, its text, and how the message names the constraint.
EXCLUDED = {
    "ignore": (
        "gen.go",
        "//go:build ignore\n\npackage main\n\nfunc main() {}\n",
        "//go:build ignore",
    ),
    "nothing": ("n.go", "//go:build nothing\n\npackage p\n\n" + SKIPPED, "//go:build nothing"),
    "legacy": ("old.go", "// +build never\n\npackage p\n\n" + SKIPPED, "// +build never"),
    # The host is linux (the corpus runs there): no other GOOS builds this one.
    "name": ("w_windows.go", "package p\n\n" + SKIPPED, "by its name or its use of cgo, on"),
}


def _module(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    mod = tmp_path / "m"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/m\n\ngo 1.21\n")
    for name, text in files.items():
        path = mod / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
    return mod


@pytest.mark.parametrize("case", sorted(EXCLUDED))
def test_excluded_file_named_alone(case: str, tmp_path: Path) -> None:
    name, text, said = EXCLUDED[case]
    mod = _module(tmp_path, {"p.go": "package p\n\n" + ESCAPE, name: text})
    proc = cli("check", "--fail-on", "all", name, cwd=mod)
    assert proc.returncode == 2, proc.stderr  # nothing analysed is no pass
    assert f"{name} is excluded by build constraints ({said}" in proc.stderr
    assert "heaplens analyses the files that are part of the build" in proc.stderr


def test_excluded_file_named_with_another(tmp_path: Path) -> None:
    name, text, said = EXCLUDED["ignore"]
    mod = _module(tmp_path, {"p.go": "package p\n\n" + ESCAPE, name: text})
    proc = cli("check", "--format", "json", "--fail-on", "moved-to-heap", "p.go", name, cwd=mod)
    assert proc.returncode == 1, proc.stderr
    assert [f["message"] for f in json.loads(proc.stdout)["findings"]] == ["moved to heap: v"]
    assert f"{name} is excluded by build constraints ({said})" in proc.stderr


def test_directory_of_excluded_files_only(tmp_path: Path) -> None:
    name, text, said = EXCLUDED["ignore"]
    mod = _module(tmp_path, {"p.go": "package p\n\n" + ESCAPE, f"tools/{name}": text})
    proc = cli("check", f"tools/{name}", cwd=mod)
    assert proc.returncode == 2, proc.stderr
    assert f"{name} is excluded by build constraints ({said})" in proc.stderr


async def test_excluded_file_open_in_the_server(tmp_path: Path) -> None:
    name, text, said = EXCLUDED["ignore"]
    mod = _module(tmp_path, {"p.go": "package p\n\n" + ESCAPE, name: text})
    async with server(mod) as lsp:
        p = open_file(lsp, mod / "p.go")
        await wait_for_diagnostics(lsp, p)
        excluded = open_file(lsp, mod / name)
        found = await wait_for_diagnostics(lsp, excluded, timeout=120)
        assert [(d.severity, d.code) for d in found] == [
            (types.DiagnosticSeverity.Information, "excluded")
        ]
        assert f"{name} is excluded by build constraints ({said})" in found[0].message
        assert found[0].range.start.line == 2  # the package clause
        # The package's own findings are still there.
        await wait_for(lambda: heaplens_diagnostics(lsp, p), what="findings of p.go")


# -- link-only inputs ----------------------------------------------------------------

GARBAGE = bytes(range(256)) * 4  # no object format: the linker would refuse it
TESTS = 'package {pkg}\n\nimport "testing"\n\nfunc TestEsc(t *testing.T) {{ w := 3; t.Log(&w) }}\n'
MAIN = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tv := 1\n\tfmt.Println(&v)\n}\n'


def _syso(tmp_path: Path) -> Path:
    return _module(
        tmp_path,
        {
            "lib/lib.go": "package lib\n\n" + ESCAPE,
            "lib/lib_test.go": TESTS.format(pkg="lib"),
            "lib/garbage_amd64.syso": GARBAGE,
            "cmd/main.go": MAIN,
            "cmd/main_test.go": TESTS.format(pkg="main"),
            "cmd/garbage.syso": GARBAGE,
        },
    )


def test_syso_is_never_linked(tmp_path: Path) -> None:
    """A .syso only matters to the linker: a library and a main package with a garbage
    one, and their tests, compile and have their findings. Twice: the second check
    compiles an edit with the compiler alone."""
    mod = _syso(tmp_path)
    args = ("check", "--format", "json", "--fail-on", "moved-to-heap", "./...")
    for round in (1, 2):
        proc = cli(*args, cwd=mod)
        assert proc.returncode == 1, proc.stderr
        data = json.loads(proc.stdout)
        assert not data["errors"], data["errors"]
        found = {
            (Path(str(f["file"])).relative_to(mod).as_posix(), f["message"])
            for f in data["findings"]
        }
        assert {
            ("lib/lib.go", "moved to heap: v"),
            ("lib/lib_test.go", "moved to heap: w"),
            ("cmd/main.go", "moved to heap: v"),
            ("cmd/main_test.go", "moved to heap: w"),
        } <= found, found
        if round == 1:
            (mod / "lib" / "lib.go").write_text("package lib\n\n" + ESCAPE + "\n// edited\n")


async def test_syso_in_the_server(tmp_path: Path) -> None:
    mod = _syso(tmp_path)
    async with server(mod) as lsp:
        for path in (mod / "lib" / "lib_test.go", mod / "cmd" / "main_test.go"):
            uri = open_file(lsp, path)
            found = await wait_for_diagnostics(
                lsp, uri, lambda ds: any("moved to heap: w" in d.message for d in ds), 120
            )
            assert not [d for d in found if d.code == "stale"]

"""Inputs the build leaves out: files excluded by build constraints. Through the CLI and
the server."""

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

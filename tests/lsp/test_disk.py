"""Files changed outside the editor are noticed and re-analysed."""

from __future__ import annotations

from pathlib import Path

from conftest import dep_workspace
from tests.lsp.harness import open_file, session, wait_for_diagnostics

# Something b always reports, so the first publish is not empty.
OTHER = "\nfunc Other() *int {\n\ty := 2\n\treturn &y\n}\n"


async def test_a_dependency_changed_on_disk(tmp_path: Path) -> None:
    mod = dep_workspace(tmp_path, OTHER)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "b" / "b.go")
        first = await wait_for_diagnostics(lsp, uri)
        assert not any("moved to heap: x" in d.message for d in first)
        # As a code generator or a git checkout would: a.Keep now keeps the pointer.
        (mod / "a" / "a.go").write_text(
            "package a\n\nvar kept *int\n\n"
            "//go:noinline\nfunc Keep(p *int) int { kept = p; return *p }\n"
        )
        await wait_for_diagnostics(
            lsp, uri, lambda ds: any("moved to heap: x" in d.message for d in ds), timeout=30
        )


async def test_a_new_file_in_an_open_package(tmp_path: Path) -> None:
    mod = dep_workspace(tmp_path, OTHER)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "b" / "b.go")
        await wait_for_diagnostics(lsp, uri)
        new = mod / "b" / "generated.go"
        new.write_text("package b\n\nfunc Gen() *int {\n\tg := 3\n\treturn &g\n}\n")
        diags = await wait_for_diagnostics(lsp, new.as_uri(), timeout=30)
    assert any("moved to heap: g" in d.message for d in diags)

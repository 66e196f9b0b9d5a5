"""Diagnostics for every finding kind, with the flow chain as related information."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from conftest import copy_module, line_of
from tests.lsp.harness import open_file, session, wait_for_diagnostics


@pytest.mark.parametrize("client", ["vscode", "neovim"])
async def test_every_kind_is_published(client: str, tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    esc = mod / "esc" / "esc.go"
    options = {
        "kinds": ["moved-to-heap", "escapes-to-heap", "leaking-param", "inlining", "cannot-inline"]
    }
    async with session(mod, client=client, init_options=options, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, esc)
        diags = await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 10)
    by_kind = {d.code for d in diags}
    assert by_kind == {
        "moved-to-heap",
        "escapes-to-heap",
        "leaking-param",
        "inlining",
        "cannot-inline",
    }
    returned = next(d for d in diags if d.message.startswith("&Config{...} escapes to heap"))
    assert "returned to the caller" in returned.message
    assert returned.severity == types.DiagnosticSeverity.Information
    assert returned.related_information, "the flow chain is related information"
    assert all(r.location.uri.startswith("file://") for r in returned.related_information)
    assert any("return &Config" in r.message for r in returned.related_information)
    line_no, line = line_of(esc, "return &Config{Name")
    assert returned.range.start.line == line_no - 1
    assert returned.range.start.character == line.index(b"&Config")  # ASCII line: same in all units
    leak = next(d for d in diags if d.code == "leaking-param")
    assert leak.severity == types.DiagnosticSeverity.Hint
    assert all(d.source == "heaplens" for d in diags)
    assert all(isinstance(d.data, dict) and d.data["kind"] == d.code for d in diags)


@pytest.mark.parametrize(("client", "encoding"), [("vscode", "utf-16"), ("neovim", "utf-8")])
async def test_columns_after_chinese_and_emoji(client: str, encoding: str, tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    esc = mod / "esc" / "esc.go"
    async with session(mod, client=client, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, esc)
        diags = await wait_for_diagnostics(
            lsp, uri, lambda ds: any("&Point" in d.message for d in ds)
        )
    line_no, line = line_of(esc, "&Point{X: 1}")
    d = next(d for d in diags if "&Point" in d.message)
    start = line.index(b"&Point{X: 1}")
    end = start + len(b"&Point{X: 1}")
    if encoding == "utf-8":
        want = (start, end)
    else:
        want = tuple(len(line[:b].decode().encode("utf-16-le")) // 2 for b in (start, end))
    assert d.range.start.line == line_no - 1
    assert (d.range.start.character, d.range.end.character) == want
    assert want[0] < start or encoding == "utf-8"


async def test_other_files_of_the_package_are_published(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        open_file(lsp, mod / "tested" / "tested.go")
        test_uri = (mod / "tested" / "tested_test.go").as_uri()
        diags = await wait_for_diagnostics(lsp, test_uri)
        assert any("new(int) escapes to heap" in d.message for d in diags)

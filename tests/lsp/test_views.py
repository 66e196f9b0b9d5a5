"""Hover and inlay hints over findings."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from conftest import copy_module
from tests.lsp.harness import inlay_hints, open_file, session, wait_for_diagnostics


def _diag(diags: list[types.Diagnostic], prefix: str) -> types.Diagnostic:
    return next(d for d in diags if d.message.startswith(prefix))


@pytest.mark.parametrize("client", ["vscode", "neovim"])
async def test_hover_explains_the_flow(client: str, tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(mod, client=client, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        diags = await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        hovers = {}
        for prefix in ("&Config{...} escapes", "moved to heap: y", "leaking param: w", "n escapes"):
            d = _diag(diags, prefix)
            hovers[prefix] = await lsp.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=uri), position=d.range.start
                )
            )
        nothing = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=0),
            )
        )
    assert nothing is None
    ret = hovers["&Config{...} escapes"]
    assert ret is not None and isinstance(ret.contents, types.MarkupContent)
    text = ret.contents.value
    assert ret.contents.kind == types.MarkupKind.Markdown
    assert "returned to the caller" in text and "NewConfig" in text
    assert "How it gets there" in text and "esc.go:" in text and "file://" in text
    assert "Keep it on the stack" in text
    closure = hovers["moved to heap: y"].contents.value  # type: ignore[union-attr]
    assert "captured by a closure" in closure and "argument" in closure
    assert "leaks" in hovers["leaking param: w"].contents.value  # type: ignore[union-attr]
    assert "fmt.Sprint" in hovers["n escapes"].contents.value  # type: ignore[union-attr]


@pytest.mark.parametrize("client", ["vscode", "neovim"])
async def test_inlay_hints_follow_heap_findings(client: str, tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(mod, client=client, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        diags = await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        hints = await inlay_hints(lsp, uri)
    assert hints
    heap = [d for d in diags if d.code in ("moved-to-heap", "escapes-to-heap")]
    assert len(hints) == len(heap)
    ret = _diag(diags, "&Config{...} escapes")
    hint = next(h for h in hints if h.position == ret.range.end)
    assert isinstance(hint.label, list)
    part = hint.label[0]
    assert part.value == "↑heap: returned"
    assert isinstance(part.tooltip, types.MarkupContent) and "returned" in part.tooltip.value
    assert part.location is not None and part.location.uri == uri
    assert part.location.range.start.line == ret.range.start.line  # the return statement
    labels = {h.label[0].value for h in hints if isinstance(h.label, list)}
    assert {"↑heap: captured", "↑heap: interface", "↑heap: global"} <= labels


async def test_inlay_hints_can_be_turned_off(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(mod, init_options={"inlayHints": False}, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        await wait_for_diagnostics(lsp, uri)
        hints = await inlay_hints(lsp, uri)
    assert not hints

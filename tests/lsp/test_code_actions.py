"""Code actions: verified fixes with their edits, and the ignore action."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import copy_module
from tests.lsp.harness import open_file, session, wait_for_diagnostics


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.split("\n")
    for e in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        start, end = e.range.start, e.range.end
        head = "\n".join([*lines[: start.line], lines[start.line][: start.character]])
        tail = "\n".join([lines[end.line][end.character :], *lines[end.line + 1 :]])
        text = head + e.new_text + tail
        lines = text.split("\n")
    return text


async def test_ignore_actions(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    esc = mod / "esc" / "esc.go"
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, esc)
        diags = await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        target = next(d for d in diags if d.message.startswith("moved to heap: x"))
        actions = await lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=target.range,
                context=types.CodeActionContext(diagnostics=[target]),
            )
        )
        assert actions
        line_action = next(a for a in actions if "to the line" in a.title)
        func_action = next(a for a in actions if "Ignore findings in Moved" in a.title)
        for a in (line_action, func_action):
            assert a.kind == types.CodeActionKind.QuickFix
            assert list(a.diagnostics or []) == [target]
        edits = line_action.edit.changes[uri]  # type: ignore[union-attr,index]
        new_text = _apply(esc.read_text(), list(edits))
        assert "x := 42 //heaplens:ignore" in new_text
        func_text = _apply(esc.read_text(), list(func_action.edit.changes[uri]))  # type: ignore[union-attr,index]
        assert "//heaplens:ignore\nfunc Moved() *int {" in func_text
        lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=new_text)],
            )
        )
        after = await wait_for_diagnostics(
            lsp,
            uri,
            lambda ds: len(ds) > 5 and not any("moved to heap: x" in d.message for d in ds),
        )
    assert len(after) == len(diags) - 1


async def _wait_for_actions(
    lsp: LanguageClient, uri: str, diag: types.Diagnostic, prefix: str
) -> types.CodeAction:
    """Fixes appear once the compiler has verified them, in the background."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        actions = await lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=diag.range,
                context=types.CodeActionContext(diagnostics=[diag]),
            )
        )
        found = [a for a in actions or [] if a.title.startswith(prefix)]
        if found:
            return found[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no code action starting {prefix!r}")


@pytest.mark.parametrize("client", ["vscode", "neovim"])
async def test_verified_fixes_are_code_actions(client: str, tmp_path: Path) -> None:
    mod = copy_module("hotpath", tmp_path)
    path = mod / "hotpath.go"
    async with session(mod, client=client, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, path)
        diags = await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        append = next(d for d in diags if d.message.startswith("append(out"))
        pool = next(d for d in diags if d.message.startswith("&bytes.Buffer{}"))
        boxed = next(d for d in diags if d.message.startswith("floor escapes to heap"))
        pre = await _wait_for_actions(lsp, uri, append, "Preallocate out")
        syncpool = await _wait_for_actions(lsp, uri, pool, "Reuse buf through a sync.Pool")
        tparam = await _wait_for_actions(lsp, uri, boxed, "Make s a type parameter")
        actions = {"pre": pre, "pool": syncpool, "tparam": tparam}
        for name, action in actions.items():
            assert action.kind == types.CodeActionKind.QuickFix, name
            assert "verified" in action.title, action.title
            if action.edit is None:  # the client resolves edits lazily
                actions[name] = await lsp.code_action_resolve_async(action)
        # Diagnostics now carry the verified fixes in their data.
        refreshed = await wait_for_diagnostics(
            lsp,
            uri,
            lambda ds: any(d.data and d.data.get("fixes") for d in ds),  # type: ignore[union-attr]
        )
        assert any(
            d.data["fixes"][0]["verified"] for d in refreshed if d.data and d.data.get("fixes")
        )  # type: ignore[index]
    original = path.read_text()
    fixed = _apply(original, list(actions["pre"].edit.changes[uri]))  # type: ignore[union-attr,index]
    assert "out := make([]int, 0, len(xs))" in fixed
    fixed = _apply(original, list(actions["pool"].edit.changes[uri]))  # type: ignore[union-attr,index]
    assert "buf := bufPool.Get().(*bytes.Buffer)" in fixed and '"sync"' in fixed
    fixed = _apply(original, list(actions["tparam"].edit.changes[uri]))  # type: ignore[union-attr,index]
    assert "func TotalArea[S Shape](s S) float64" in fixed

"""Code actions: the ignore action inserts //heaplens:ignore, and the finding goes away."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

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

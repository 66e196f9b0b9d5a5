"""A package that stops compiling keeps its last good findings, marked stale."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from conftest import copy_module
from tests.lsp.harness import open_file, session, wait_for_diagnostics


async def test_type_error_keeps_stale_findings(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    esc = mod / "esc" / "esc.go"
    async with session(mod, init_options={"debounceMs": 50}, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, esc)
        good = await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        end = esc.read_text().count("\n")
        lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=end, character=0),
                            end=types.Position(line=end, character=0),
                        ),
                        text='var broken int = "not an int"\n',
                    )
                ],
            )
        )
        stale = await wait_for_diagnostics(lsp, uri, lambda ds: any(d.code == "stale" for d in ds))
    notes = [d for d in stale if d.code == "stale"]
    assert len(notes) == 1
    note = notes[0]
    assert note.severity == types.DiagnosticSeverity.Hint
    assert note.range.start.line == 1  # `package esc`, after the doc comment
    assert "does not compile" in note.message
    assert "not an int" not in note.message  # gopls shows the compiler's error; we do not
    kept = [d for d in stale if d.code != "stale"]
    assert len(kept) == len(good)
    assert all("last build that compiled" in d.message for d in kept)
    assert all(d.data["stale"] for d in kept)  # type: ignore[index]

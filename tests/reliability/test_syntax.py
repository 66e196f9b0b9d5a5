"""Half-typed code: every example file cut at 20 points, as if typed mid-way, through the
CLI and the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from conftest import copy_module
from tests.lsp.harness import analysis_finished, heaplens_diagnostics, wait_for_diagnostics
from tests.reliability.harness import analysed, cli, server

FILES = [("hotpath", "hotpath.go"), ("corpus", "esc/esc.go")]
CUTS = 20


def _cuts(text: bytes) -> list[bytes]:
    return [text[: len(text) * i // (CUTS + 1)] for i in range(1, CUTS + 1)]


@pytest.mark.parametrize(("module", "file"), FILES)
def test_cli_on_cut_files(module: str, file: str, tmp_path: Path) -> None:
    mod = copy_module(module, tmp_path)
    path = mod / file
    whole = path.read_bytes()
    for cut in _cuts(whole):
        path.write_bytes(cut)
        proc = cli("check", "./...", cwd=mod)
        if proc.returncode == 2:
            assert "did not compile" in proc.stderr or "error" in proc.stdout.lower()
    path.write_bytes(whole)
    assert cli("check", "./...", cwd=mod).returncode == 0


@pytest.mark.parametrize(("module", "file"), FILES)
async def test_server_on_cut_files(module: str, file: str, tmp_path: Path) -> None:
    mod = copy_module(module, tmp_path)
    path = mod / file
    whole = path.read_text()
    async with server(mod, init_options={"debounceMs": 0}) as lsp:
        uri = path.as_uri()
        lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="go", version=1, text=whole
                )
            )
        )
        await analysis_finished(lsp, 0)
        before = sorted(d.message for d in heaplens_diagnostics(lsp, uri))
        texts = [cut.decode("utf-8", "ignore") for cut in _cuts(whole.encode())] + [whole]
        for version, text in enumerate(texts, start=2):
            lsp.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )
            await analysed(lsp, version)
        # Typed to the end again: the whole file's findings, as before it was cut.
        after = await wait_for_diagnostics(
            lsp, uri, lambda ds: sorted(d.message for d in ds) == before
        )
    assert before and len(after) == len(before)

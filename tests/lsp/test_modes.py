"""The ``mode`` setting: onType (default), onSave, off."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from conftest import copy_module
from tests.lsp.harness import (
    analyses_finished,
    analysis_finished,
    change,
    handled,
    heaplens_diagnostics,
    log_lines,
    open_file,
    record_publishes,
    session,
    wait_for,
    wait_for_diagnostics,
)


async def test_on_save_publishes_nothing_on_change_and_everything_on_save(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    esc = mod / "esc" / "esc.go"
    new_func = "func Saved() *int { s := 1; return &s }\n"
    options = {"mode": "onSave", "debounceMs": 0}
    async with session(mod, init_options=options, cache_dir=tmp_path / "c") as lsp:
        published = record_publishes(lsp)
        uri = open_file(lsp, esc)
        await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)  # opening analyses
        # Verifying the package's fixes republishes as each one verifies: let it end,
        # so that only what the changes below might publish is counted.
        await wait_for(lambda: log_lines(lsp, "verified fix(es)"), 60, "fix verification")
        count = len(published)
        analyses = len(log_lines(lsp, "analysing"))
        lines = esc.read_text().count("\n")
        for v in range(2, 12):
            change(lsp, uri, v, (lines, 0), (lines, 0), new_func if v == 2 else "\n")
        # With no debounce, an analysis a change asked for would have started by now.
        await handled(lsp)
        assert len(published) == count, "a change published something in onSave mode"
        assert len(log_lines(lsp, "analysing")) == analyses
        finished = analyses_finished(lsp)
        esc.write_text(esc.read_text() + new_func + "\n" * 9)
        lsp.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        await analysis_finished(lsp, finished)
        after = heaplens_diagnostics(lsp, uri)
        # The save's analysis, and no other: the changes started none.
        assert len(log_lines(lsp, "analysing")) == analyses + 1
    assert any("moved to heap: s" in d.message for d in after)
    assert len(after) > 5
    assert published[-1].version == 11


async def test_off_runs_nothing(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(mod, init_options={"mode": "off"}, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        # An analysis the open asked for would have started by now: none did.
        await handled(lsp)
        assert not log_lines(lsp, "analysing")
        # Turning it on analyses the open files: that one analysis, and no other.
        lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"heaplens": {"mode": "onType"}})
        )
        await analysis_finished(lsp, 0)
        assert len(log_lines(lsp, "analysing")) == 1
        assert heaplens_diagnostics(lsp, uri)

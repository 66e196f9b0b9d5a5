"""Faults: a missing toolchain, odd requests, a closed stdin. The server stays up, says
what is wrong once, recovers, and leaves no process behind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lsprotocol import types

from conftest import copy_module
from tests.lsp.harness import (
    analysis_finished,
    open_file,
    session,
    wait_for,
    wait_for_diagnostics,
)


async def test_missing_go_then_recovery(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    env = dict(os.environ, PATH="/nonexistent")
    real_go = shutil.which("go")
    assert real_go
    async with session(mod, env=env, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        open_file(lsp, mod / "tested" / "tested.go")
        await wait_for(lambda: lsp.messages, 30, "a message")
        # Both packages' analyses have ended (each says error): one message between them.
        await analysis_finished(lsp, 1)
        errors = [m for m in lsp.messages if m.type == types.MessageType.Error]
        assert len(errors) == 1, [m.message for m in lsp.messages]
        assert "Go toolchain was not found" in errors[0].message
        # Still serving.
        hover = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=0),
            )
        )
        assert hover is None
        lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"heaplens": {"goBinary": real_go}})
        )
        await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5, timeout=60)


async def test_too_old_go_is_reported(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    fake = tmp_path / "old" / "go"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'{"GOVERSION": "go1.19.13"}\'\n')
    fake.chmod(0o755)
    async with session(mod, init_options={"goBinary": str(fake)}, cache_dir=tmp_path / "c") as lsp:
        open_file(lsp, mod / "esc" / "esc.go")
        await wait_for(lambda: lsp.messages, 30, "a message")
    assert "go1.19.13" in lsp.messages[0].message and "1.21" in lsp.messages[0].message


async def test_odd_requests_do_not_kill_the_server(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        ghost = (mod / "nope.go").as_uri()
        lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=ghost, version=3),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text="x")],
            )
        )
        lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri="untitled:Untitled-1", language_id="go", version=1, text="package main\n"
                )
            )
        )
        uri = open_file(lsp, mod / "esc" / "esc.go")
        far = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=99_999, character=99_999),
            )
        )
        assert far is None
        lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=5000, character=3),
                            end=types.Position(line=4000, character=900),
                        ),
                        text="\n",
                    )
                ],
            )
        )
        diags = await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        assert diags


def test_a_failed_error_report_does_not_recurse() -> None:
    """pygls reports a failed send through report_server_error: with the client gone,
    reporting that failure must not try again, and again (each time writing a traceback
    to stderr until the pipe is full and the server blocks)."""
    from heaplens.lsp.server import HeaplensServer

    server = HeaplensServer()
    server.initialized = True
    sent: list[object] = []

    def send_fails(params: object) -> None:
        sent.append(params)
        server.report_server_error(BrokenPipeError("the client is gone"), "send")

    server.window_log_message = send_fails  # type: ignore[method-assign]
    server.report_server_error(RuntimeError("a handler failed"), "handler")
    assert len(sent) == 1
    server.report_server_error(RuntimeError("and another"), "handler")
    assert len(sent) == 2  # the next error is reported again

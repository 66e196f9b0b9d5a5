"""The server follows the protocol whatever the client sends: broken framing, bodies that
are not messages, requests with bad params, exit with and without shutdown, SIGTERM; and,
through a client library, settings that do not parse, changes to documents never opened,
cancelled progress.
Every request gets an answer with the right error code and no traceback in
``error.data``; afterwards the server still answers."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import copy_module, write_big_package
from tests.lsp.harness import open_file, wait_for, wait_for_diagnostics
from tests.reliability.harness import MARKER, RawClient, _marked, raw_server, server

HOVER = {
    "textDocument": {"uri": "file:///nowhere/x.go"},
    "position": {"line": 0, "character": 0},
}


def _still_answers(client: RawClient) -> None:
    answer = client.request("textDocument/hover", HOVER, timeout=30)
    assert answer.get("result", "missing") is None, answer


def _framed(body: bytes, header: bytes = b"Content-Length: %d") -> bytes:
    head = header % len(body) if b"%d" in header else header
    return head + b"\r\n\r\n" + body


# Framing the client broke: the message is dropped, and the next one is read.
BROKEN_FRAMING = {
    "length not a number": b"Content-Length: abc\r\n\r\n{}",
    "negative length": b"Content-Length: -5\r\n\r\n{}",
    "no length": b"Content-Type: application/vscode-jsonrpc\r\n\r\n{}",
    "huge length": b"Content-Length: 1000000000000\r\n\r\n{}",
    "header line without end": b"X" * 20_000,
}


@pytest.mark.parametrize("junk", BROKEN_FRAMING.values(), ids=BROKEN_FRAMING.keys())
def test_broken_framing_is_dropped_and_the_server_resynchronises(
    tmp_path: Path, junk: bytes
) -> None:
    root = copy_module("corpus", tmp_path)
    with raw_server(root) as client:
        client.send_bytes(junk)
        _still_answers(client)
        assert client.wait_for(
            lambda m: m.get("method") == "window/logMessage" and "dropped" in m["params"]["message"]
        )


def test_header_names_are_case_insensitive(tmp_path: Path) -> None:
    root = copy_module("corpus", tmp_path)
    with raw_server(root) as client:
        body = json.dumps(
            {"jsonrpc": "2.0", "id": "lower", "method": "textDocument/hover", "params": HOVER}
        ).encode()
        client.send_bytes(_framed(body, b"content-length: %d\r\ncontent-type: x"))
        answer = client.wait_for(lambda m: m.get("id") == "lower", timeout=30)
        assert answer.get("result", "missing") is None, answer


# Bodies that are not JSON-RPC messages: an error, with id null unless there is a valid
# one, as JSON-RPC says.
NOT_MESSAGES = {
    "not JSON": (b"{{{{{", -32700, None),
    "not UTF-8": (b'{"jsonrpc": "2.0", "\xff": 1}', -32700, None),
    "empty": (b"", -32700, None),
    "an array": (b"[]", -32600, None),
    "a number": (b"5", -32600, None),
    "no jsonrpc": (b'{"id": "x", "method": "textDocument/hover"}', -32600, "x"),
    "an id that is an object": (
        b'{"jsonrpc": "2.0", "id": {}, "method": "shutdown"}',
        -32600,
        None,
    ),
}


@pytest.mark.parametrize("body,code,msg_id", NOT_MESSAGES.values(), ids=NOT_MESSAGES.keys())
def test_a_body_that_is_no_message_gets_an_error(
    tmp_path: Path, body: bytes, code: int, msg_id: str | None
) -> None:
    root = copy_module("corpus", tmp_path)
    with raw_server(root) as client:
        client.send_bytes(_framed(body))
        error = client.wait_for(lambda m: "error" in m and m.get("id", "missing") == msg_id)
        assert error["error"]["code"] == code and "data" not in error["error"]
        _still_answers(client)


U = "file:///nowhere/x.go"
BAD_PARAMS: dict[str, tuple[str, Any, int]] = {
    "hover without textDocument": (
        "textDocument/hover",
        {"position": {"line": 0, "character": 0}},
        -32602,
    ),
    "hover with wrong types": (
        "textDocument/hover",
        {"textDocument": {"uri": 5}, "position": {"line": "a", "character": 0}},
        -32602,
    ),
    "hover at a negative position": (
        "textDocument/hover",
        {"textDocument": {"uri": U}, "position": {"line": -1, "character": -4}},
        -32602,
    ),
    "hover past uinteger": (
        "textDocument/hover",
        {"textDocument": {"uri": U}, "position": {"line": 2**40, "character": 0}},
        -32602,
    ),
    "hover with params a list": ("textDocument/hover", [1, 2], -32602),
    "hover with params null": ("textDocument/hover", None, -32602),
    "a code action with a broken diagnostic": (
        "textDocument/codeAction",
        {
            "textDocument": {"uri": U},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": [{"foo": 1}]},
        },
        -32602,
    ),
    "an unknown method": ("heaplens/nothing", {}, -32601),
    "an unknown command": ("workspace/executeCommand", {"command": "nope"}, -32602),
}


@pytest.mark.parametrize("method,params,code", BAD_PARAMS.values(), ids=BAD_PARAMS.keys())
def test_a_request_with_bad_params_gets_an_error(
    tmp_path: Path, method: str, params: Any, code: int
) -> None:
    root = copy_module("corpus", tmp_path)
    with raw_server(root) as client:
        answer = client.request(method, params, timeout=30)
        assert answer["error"]["code"] == code, answer
        assert "data" not in answer["error"], answer
        _still_answers(client)


def test_requests_before_initialize_and_after_shutdown_get_errors(tmp_path: Path) -> None:
    root = copy_module("corpus", tmp_path)
    with raw_server(root, initialize=False) as client:
        early = client.request("textDocument/hover", HOVER, timeout=30)
        assert early["error"]["code"] == -32002 and "data" not in early["error"]
        client.initialize(root)
        _still_answers(client)
        assert client.request("shutdown")["result"] is None
        late = client.request("textDocument/hover", HOVER, timeout=30)
        assert late["error"]["code"] == -32800 and "data" not in late["error"]  # cancelled
        client.notify("exit")
        assert client.exit_code() == 0


def test_shutdown_with_a_request_in_flight(tmp_path: Path) -> None:
    root = copy_module("corpus", tmp_path)
    with raw_server(root) as client:
        # The raw client never answers window/workDoneProgress/create: the command waits.
        client.send(
            {
                "jsonrpc": "2.0",
                "id": "busy",
                "method": "workspace/executeCommand",
                "params": {"command": "heaplens.analyzeWorkspace"},
            }
        )
        client.wait_for(lambda m: m.get("method") == "window/workDoneProgress/create")
        assert client.request("shutdown") == {"jsonrpc": "2.0", "id": 2, "result": None}
        cancelled = client.wait_for(lambda m: m.get("id") == "busy")
        assert cancelled["error"]["code"] == -32800
        client.notify("exit")
        assert client.exit_code() == 0


def test_exit_without_shutdown_is_code_1(tmp_path: Path) -> None:
    root = copy_module("corpus", tmp_path)
    with raw_server(root) as client:
        client.notify("exit")
        assert client.exit_code() == 1


def test_exit_after_shutdown_is_code_0(tmp_path: Path) -> None:
    root = copy_module("corpus", tmp_path)
    with raw_server(root) as client:
        client.request("shutdown")
        client.notify("exit")
        assert client.exit_code() == 0


def test_sigterm_ends_the_server_and_its_compiles(tmp_path: Path) -> None:
    mod = tmp_path / "slow"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/slow\n\ngo 1.21\n")
    big = write_big_package(mod, "big", 2500)
    with raw_server(mod) as client:
        client.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": big.as_uri(),
                    "languageId": "go",
                    "version": 1,
                    "text": big.read_text(),
                }
            },
        )
        marker = _marker_of(client)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_marked(marker)) < 2:
            time.sleep(0.05)
        assert len(_marked(marker)) >= 2, "no go process started"
        # stdin stays open: SIGTERM alone must end it.
        client.proc.send_signal(signal.SIGTERM)
        assert client.exit_code() == 128 + signal.SIGTERM


def _marker_of(client: RawClient) -> str:
    with open(f"/proc/{client.proc.pid}/environ", "rb") as f:
        for entry in f.read().split(b"\0"):
            name, _, value = entry.partition(b"=")
            if name == MARKER.encode():
                return value.decode()
    raise AssertionError("no marker")


# -- through an LSP client library ---------------------------------------------------


def _warnings_naming(lsp: LanguageClient, key: str) -> list[str]:
    return [m.message for m in lsp.messages if repr(key) in m.message]


async def test_a_quote_in_build_flags_at_initialize_is_a_warning(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    options = {"buildFlags": '-tags="integration', "kinds": ["moved-to-heap"]}
    async with server(mod, init_options=options) as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        diags = await wait_for_diagnostics(lsp, uri)
        await wait_for(lambda: _warnings_naming(lsp, "buildFlags"), 30, "the warning")
    assert {d.code for d in diags} == {"moved-to-heap"}  # the other setting applies


async def test_a_quote_in_build_flags_in_a_change_is_a_warning(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with server(mod) as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        await wait_for_diagnostics(lsp, uri, lambda ds: any(d.code == "leaking-param" for d in ds))
        lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={"heaplens": {"buildFlags": "-gcflags='-N", "kinds": ["escapes-to-heap"]}}
            )
        )
        diags = await wait_for_diagnostics(
            lsp, uri, lambda ds: bool(ds) and all(d.code == "escapes-to-heap" for d in ds)
        )
        await wait_for(lambda: _warnings_naming(lsp, "buildFlags"), 30, "the warning")
    assert diags


async def test_a_change_to_a_document_never_opened_is_ignored(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    path = mod / "esc" / "esc.go"
    async with server(mod) as lsp:
        lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=4),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text="package x")],
            )
        )
        await wait_for(
            lambda: [m for m in lsp.log_messages if "not open" in m.message], 30, "a log line"
        )
        uri = open_file(lsp, path)
        assert await wait_for_diagnostics(lsp, uri)


async def test_cancelled_progress_tokens_log_no_traceback(tmp_path: Path) -> None:
    mod = tmp_path / "slow"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/slow\n\ngo 1.21\n")
    for i in range(3):
        write_big_package(mod, f"big{i}", 1500)

    def cancel(token: types.ProgressToken) -> None:
        lsp.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))

    async with server(mod) as lsp:
        task = asyncio.ensure_future(
            lsp.workspace_execute_command_async(
                types.ExecuteCommandParams(command="heaplens.analyzeWorkspace")
            )
        )
        token = await wait_for(lambda: next(iter(lsp.progress_reports), None), 60, "progress")
        cancel(token)
        cancel(token)
        cancel("a token nobody made")
        cancel(12345)
        result = await asyncio.wait_for(task, 60)
        cancel(token)  # after the progress ended
        # An analysis's own progress, not cancellable, cancelled anyway.
        lsp.progress_reports.clear()
        uri = open_file(lsp, mod / "big1" / "big1.go")
        other = await wait_for(lambda: next(iter(lsp.progress_reports), None), 60, "progress")
        cancel(other)
        await wait_for_diagnostics(lsp, uri, timeout=120)
        cancel(other)
    assert result["cancelled"]

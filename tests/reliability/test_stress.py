"""The server under stress: stdin closed in the middle of an analysis, and 1,000
didChange notifications in 10 seconds with memory that stays flat."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from lsprotocol import types

from conftest import copy_module, write_big_package
from tests.lsp.harness import analyses_finished, analysis_finished
from tests.reliability.harness import MARKER, TALLY, _reap, analysed, server


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_stdin_closed_mid_analysis(tmp_path: Path) -> None:
    mod = tmp_path / "slow"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/slow\n\ngo 1.21\n")
    big = write_big_package(mod, "big", 2500)
    marker = uuid.uuid4().hex
    env = dict(os.environ, HEAPLENS_CACHE_DIR=str(tmp_path / "c"))
    env[MARKER] = marker
    TALLY.cases += 1
    proc = subprocess.Popen(
        [sys.executable, "-m", "heaplens", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None

    def send(obj: dict) -> None:  # type: ignore[type-arg]
        body = json.dumps(obj).encode()
        proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]

    send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": mod.as_uri(), "capabilities": {}},
        }
    )
    send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    send(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": big.as_uri(),
                    "languageId": "go",
                    "version": 1,
                    "text": big.read_text(),
                }
            },
        }
    )
    from tests.reliability.harness import _marked

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_marked(marker)) < 2:
        time.sleep(0.05)
    assert len(_marked(marker)) >= 2, "no go process started"
    proc.stdin.close()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        TALLY.hangs += 1
        proc.kill()
        raise
    stderr = proc.stderr.read().decode() if proc.stderr else ""  # type: ignore[union-attr]
    if "Traceback" in stderr:
        TALLY.crashes += 1
    assert "Traceback" not in stderr
    orphans = _reap(marker)
    TALLY.orphans += orphans
    assert orphans == 0


async def test_a_thousand_changes_in_ten_seconds(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    path = mod / "esc" / "esc.go"
    uri = path.as_uri()
    async with server(mod, init_options={"debounceMs": 100}) as lsp:
        lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="go", version=1, text=path.read_text()
                )
            )
        )
        await analysed(lsp, 1)
        await analysis_finished(lsp, 0)
        finished = analyses_finished(lsp)
        pid = lsp._server.pid  # type: ignore[union-attr]
        lines = path.read_text().count("\n")
        rss = []
        start = time.monotonic()
        for i in range(1000):
            # Type a comment line, then delete it again: the text keeps changing.
            if i % 2 == 0:
                change = types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=lines, character=0),
                        end=types.Position(line=lines, character=0),
                    ),
                    text=f"// {i}\n",
                )
            else:
                change = types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=lines, character=0),
                        end=types.Position(line=lines + 1, character=0),
                    ),
                    text="",
                )
            lsp.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
                    content_changes=[change],
                )
            )
            if i % 100 == 0:
                rss.append(_rss_kb(pid))
            await asyncio.sleep(max(0.0, start + (i + 1) * 0.01 - time.monotonic()))
        elapsed = time.monotonic() - start
        # An edit's analysis is due all through the burst: idle comes after the last one.
        await analysis_finished(lsp, finished)
        rss.append(_rss_kb(pid))
    assert elapsed <= 12, elapsed
    growth_mb = (rss[-1] - rss[0]) / 1024
    assert growth_mb < 30, f"memory grew {growth_mb:.1f} MB: {rss}"

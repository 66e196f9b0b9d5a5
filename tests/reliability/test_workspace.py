"""Hostile workspaces and document names: URIs no file can have, a root of ``/`` or of a
folder that is no Go workspace, ``check`` on a symlink to ``/``, and many
``analyzeWorkspace`` requests at once."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import write_big_package
from tests.lsp.harness import log_lines, wait_for, wait_for_diagnostics
from tests.reliability.harness import (
    MARKER,
    TALLY,
    _marked,
    _reap,
    cli,
    compiling,
    marker_of,
    server,
)

ESCAPE = "package p\n\nfunc Esc() *int {\n\tv := 1\n\treturn &v\n}\n"


def _module(tmp_path: Path) -> Path:
    mod = tmp_path / "m"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/m\n\ngo 1.21\n")
    (mod / "p.go").write_text(ESCAPE)
    return mod


def _open(lsp: object, uri: str, text: str) -> None:
    lsp.text_document_did_open(  # type: ignore[attr-defined]
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="go", version=1, text=text)
        )
    )


BAD_URIS = {
    "percent_nul": "file:///tmp/x%00y.go",
    "raw_nul": "file:///tmp/x\x00y.go",
    "bad_percent": "file:///tmp/x%zzy.go",
    "invalid_utf8": "file:///tmp/x%ffy.go",
    "untitled": "untitled:Untitled-1",
    "remote_host": "file://server/share/x.go",
    "relative": "file:x.go",
}


@pytest.mark.parametrize("name", sorted(BAD_URIS))
async def test_a_uri_no_file_can_have_is_refused_alone(name: str, tmp_path: Path) -> None:
    mod = _module(tmp_path)
    bad = BAD_URIS[name]
    async with server(mod) as lsp:
        _open(lsp, bad, ESCAPE)
        lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=bad, version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=ESCAPE)],
            )
        )
        hover = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=bad),
                position=types.Position(line=4, character=9),
            )
        )
        assert hover is None
        # Every later analysis of the other documents works.
        good = (mod / "p.go").as_uri()
        _open(lsp, good, ESCAPE)
        await wait_for_diagnostics(
            lsp, good, lambda ds: any("moved to heap: v" in d.message for d in ds), timeout=120
        )
        assert bad not in lsp.diagnostics
        assert log_lines(lsp, "not a file heaplens can analyse")


ANALYZE = types.ExecuteCommandParams(command="heaplens.analyzeWorkspace")
SCAN_TITLE = "heaplens: analysing the workspace"


def _slow_module(tmp_path: Path, packages: int = 2) -> Path:
    mod = tmp_path / "slow"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/slow\n\ngo 1.21\n")
    for i in range(packages):
        write_big_package(mod, f"big{i}", 1500)
    return mod


def _scans(lsp: LanguageClient) -> list[str]:
    """Progress tokens of workspace scans: one per scan the server started."""
    return [
        token
        for token, reports in lsp.progress_reports.items()
        if any(
            isinstance(r, types.WorkDoneProgressBegin) and r.title == SCAN_TITLE for r in reports
        )
    ]


async def test_five_analyze_workspace_requests_are_one_scan(tmp_path: Path) -> None:
    mod = _slow_module(tmp_path)
    async with server(mod) as lsp:
        results = await asyncio.wait_for(
            asyncio.gather(*(lsp.workspace_execute_command_async(ANALYZE) for _ in range(5))),
            timeout=300,
        )
        assert len(_scans(lsp)) == 1
        assert all(r == results[0] for r in results)
        assert results[0]["packages"] == 2 and not results[0]["cancelled"]
        # Once it has ended, a new request is a new scan.
        await asyncio.wait_for(lsp.workspace_execute_command_async(ANALYZE), timeout=300)
        assert len(_scans(lsp)) == 2


async def test_shutdown_stops_a_workspace_scan(tmp_path: Path) -> None:
    mod = _slow_module(tmp_path, packages=4)
    async with server(mod) as lsp:
        scan = asyncio.ensure_future(lsp.workspace_execute_command_async(ANALYZE))
        (token,) = await wait_for(lambda: _scans(lsp), 60, "a workspace scan")
        marker = marker_of(lsp._server.pid)  # type: ignore[union-attr]
        await wait_for(lambda: compiling(marker), 60, "the compiler to run")
        assert not scan.done()
    # The harness sent shutdown and exit and found no process left behind; the scan's
    # progress was ended, not left spinning.
    assert isinstance(lsp.progress_reports[token][-1], types.WorkDoneProgressEnd)


def test_stdin_closed_mid_workspace_scan(tmp_path: Path) -> None:
    mod = _slow_module(tmp_path, packages=4)
    marker = uuid.uuid4().hex
    env = dict(os.environ, HEAPLENS_CACHE_DIR=str(tmp_path / "c"))
    env[MARKER] = marker
    TALLY.cases += 1
    proc = subprocess.Popen(
        [sys.executable, "-m", "heaplens", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stderr is not None

    def send(message: dict[str, object]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]

    init = {"processId": None, "rootUri": mod.as_uri(), "capabilities": {}}
    send({"id": 1, "method": "initialize", "params": init})
    send({"method": "initialized", "params": {}})
    send({"id": 2, "method": "workspace/executeCommand", "params": {"command": ANALYZE.command}})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_marked(marker)) < 2:
        time.sleep(0.05)
    assert time.monotonic() < deadline, "no go process started"
    while time.monotonic() < deadline and not compiling(marker):
        time.sleep(0.05)
    assert compiling(marker), "the compiler never ran"
    proc.stdin.close()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        TALLY.hangs += 1
        proc.kill()
        raise
    stderr = proc.stderr.read().decode()
    if "Traceback" in stderr:
        TALLY.crashes += 1
    assert "Traceback" not in stderr, stderr
    orphans = _reap(marker)
    TALLY.orphans += orphans
    assert orphans == 0, f"{orphans} process(es) left behind"


def _threads(lsp: LanguageClient) -> int:
    return len(os.listdir(f"/proc/{lsp._server.pid}/task"))  # type: ignore[union-attr]


# The server's own threads (event loop, stdin reader, analysis workers) and the watcher's
# few; the old watcher had one per directory.
MAX_THREADS = 16


async def test_a_root_of_slash_is_refused_and_open_files_still_work(tmp_path: Path) -> None:
    mod = _module(tmp_path)
    # rootUri "/" through a symlink to it: the harness keeps its log and cache next to
    # the root it is given, and nothing may be written into / itself.
    link = tmp_path / "slash"
    os.symlink("/", link)
    async with server(link) as lsp:
        refused = await wait_for(
            lambda: [m.message for m in lsp.messages if "is not a Go workspace" in m.message],
            60,
            "the refusal",
        )
        assert len(refused) == 1 and "the root of the file system" in refused[0]
        assert _threads(lsp) <= MAX_THREADS
        result = await asyncio.wait_for(lsp.workspace_execute_command_async(ANALYZE), 60)
        assert result["packages"] == 0 and not result["cancelled"]
        assert len([m for m in lsp.messages if "is not a Go workspace" in m.message]) == 1
        good = (mod / "p.go").as_uri()
        _open(lsp, good, ESCAPE)
        await wait_for_diagnostics(
            lsp, good, lambda ds: any("moved to heap: v" in d.message for d in ds), timeout=120
        )
        hover = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=good),
                position=types.Position(line=3, character=1),
            )
        )
        assert hover is not None and "moved to heap" in str(hover.contents)
        assert _threads(lsp) <= MAX_THREADS


async def test_a_workspace_of_many_directories_is_watched_with_few_threads(
    tmp_path: Path,
) -> None:
    mod = _module(tmp_path)
    for i in range(300):
        (mod / f"d{i // 20}" / f"p{i}").mkdir(parents=True)
    async with server(mod) as lsp:
        good = (mod / "p.go").as_uri()
        _open(lsp, good, ESCAPE)
        await wait_for_diagnostics(lsp, good, timeout=120)
        assert _threads(lsp) <= MAX_THREADS
        # Still watched, deep down: a new file there is noticed.
        (mod / "d14" / "p299" / "new.go").write_text("package p299\n")
        await wait_for(lambda: log_lines(lsp, "changed on disk"), 30, "the change noticed")


@pytest.mark.parametrize(
    "args", [("check", "./..."), ("check",), ("check", "LINK/..."), ("check", "/...")]
)
def test_check_on_a_symlink_to_slash_walks_nothing(args: tuple[str, ...], tmp_path: Path) -> None:
    link = tmp_path / "link"
    os.symlink("/", link)
    argv = [str(link) + a[len("LINK") :] if a.startswith("LINK") else a for a in args]
    inside = not any(a.endswith("/...") and a != "./..." for a in args)
    proc = cli(*argv, cwd=link if inside else tmp_path, timeout=60)
    assert proc.returncode == 2
    assert "is not a Go workspace" in proc.stderr and "root of the file system" in proc.stderr

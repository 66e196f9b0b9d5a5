"""Faults: a go.mod that wants a newer toolchain, files that vanish mid-analysis, a `go`
that hangs or prints garbage. Each through the CLI and the server."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import threading
import time
from pathlib import Path

from lsprotocol import types

from conftest import write_big_package
from tests.lsp.harness import analyses_finished, analysis_finished, wait_for
from tests.reliability.harness import analysed, cli, server

ESCAPE = "func Esc() *int {\n\tv := 1\n\treturn &v\n}\n"


def _module(tmp: Path, gomod: str = "module example.com/m\n\ngo 1.21\n") -> Path:
    mod = tmp / "m"
    mod.mkdir()
    (mod / "go.mod").write_text(gomod)
    (mod / "p.go").write_text("package m\n\n" + ESCAPE)
    return mod


def _open(lsp, path: Path) -> None:  # type: ignore[no-untyped-def]
    lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=path.as_uri(), language_id="go", version=1, text=path.read_text()
            )
        )
    )


NEWER = "module example.com/m\n\ngo 1.99.1\n\ntoolchain go1.99.1\n"


def test_toolchain_line_cli(tmp_path: Path) -> None:
    mod = _module(tmp_path, NEWER)
    proc = cli("check", "./...", cwd=mod)
    assert proc.returncode == 2
    assert "1.99.1" in proc.stdout + proc.stderr
    assert "download" not in (proc.stdout + proc.stderr).lower()


async def test_toolchain_line_server(tmp_path: Path) -> None:
    mod = _module(tmp_path, NEWER)
    async with server(mod) as lsp:
        _open(lsp, mod / "p.go")
        await wait_for(lambda: lsp.messages, 60, "a message")
    assert any("1.99.1" in m.message for m in lsp.messages)


def _later(seconds: float, action) -> threading.Thread:  # type: ignore[no-untyped-def]
    def run() -> None:
        time.sleep(seconds)
        action()

    t = threading.Thread(target=run)
    t.start()
    return t


def _vanishing(tmp: Path) -> Path:
    mod = _module(tmp)
    write_big_package(mod, "big", 1500)
    (mod / "big" / "small.go").write_text("package big\n\n" + ESCAPE)
    return mod


def test_file_deleted_during_cli_analysis(tmp_path: Path) -> None:
    mod = _vanishing(tmp_path)
    t = _later(0.4, lambda: (mod / "big" / "small.go").unlink())
    proc = cli("check", "./...", cwd=mod)
    t.join()
    assert proc.returncode in (0, 2)


def test_file_renamed_during_cli_analysis(tmp_path: Path) -> None:
    mod = _vanishing(tmp_path)
    t = _later(0.4, lambda: (mod / "big" / "small.go").rename(mod / "big" / "renamed.go"))
    proc = cli("check", "./...", cwd=mod)
    t.join()
    assert proc.returncode in (0, 2)
    again = cli("check", "--format", "json", "./...", cwd=mod)
    assert '"renamed.go"' in again.stdout or "renamed.go" in again.stdout


async def test_file_deleted_and_renamed_during_server_analysis(tmp_path: Path) -> None:
    mod = _vanishing(tmp_path)
    async with server(mod) as lsp:
        _open(lsp, mod / "big" / "big.go")
        await asyncio.sleep(0.4)
        (mod / "big" / "small.go").rename(mod / "big" / "renamed.go")
        await asyncio.sleep(0.2)
        (mod / "big" / "renamed.go").unlink()
        await analysed(lsp, 1)
        # Analysed again as the package now is: big.go's findings, and none left on the
        # files that went away (unopened files are diagnosed, so small.go had some).
        big = mod / "big" / "big.go"
        mark = analyses_finished(lsp)
        lsp.text_document_did_save(
            types.DidSaveTextDocumentParams(
                text_document=types.TextDocumentIdentifier(big.as_uri())
            )
        )
        await analysis_finished(lsp, mark)
    assert lsp.diagnostics.get(big.as_uri())
    for gone in ("small.go", "renamed.go"):
        assert not lsp.diagnostics.get((mod / "big" / gone).as_uri()), gone


def _fake_go(tmp: Path, body: str) -> Path:
    real = shutil.which("go")
    path = tmp / "fakebin" / "go"
    path.parent.mkdir()
    path.write_text(f'#!/bin/sh\nif [ "$1" = env ]; then exec {real} "$@"; fi\n{body}')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


HANG = "sleep 300 &\nsleep 300\n"
GARBAGE = 'printf "\\377\\376 not json {{{"; echo "oops" >&2; exit 7\n'


def test_hanging_go_cli(tmp_path: Path) -> None:
    mod = _module(tmp_path)
    fake = _fake_go(tmp_path, HANG)
    start = time.monotonic()
    proc = cli("check", "--go", str(fake), "--timeout", "2", ".", cwd=mod)
    assert proc.returncode == 2 and "did not finish within 2 s" in proc.stderr
    assert time.monotonic() - start < 20


async def test_hanging_go_server(tmp_path: Path) -> None:
    mod = _module(tmp_path)
    fake = _fake_go(tmp_path, HANG)
    async with server(mod, init_options={"goBinary": str(fake), "timeout": 2}) as lsp:
        _open(lsp, mod / "p.go")
        said = await wait_for(
            lambda: [m for m in lsp.log_messages if "did not finish" in m.message],
            30,
            "the timeout",
        )
    # The setting's limit, named: the user learns why there are no findings.
    assert all("within 2 s" in m.message for m in said), said
    assert not lsp.diagnostics.get((mod / "p.go").as_uri())


def test_garbage_go_cli(tmp_path: Path) -> None:
    mod = _module(tmp_path)
    proc = cli("check", "--go", str(_fake_go(tmp_path, GARBAGE)), ".", cwd=mod)
    assert proc.returncode == 2 and "oops" in proc.stdout + proc.stderr


async def test_garbage_go_server(tmp_path: Path) -> None:
    mod = _module(tmp_path)
    async with server(mod, init_options={"goBinary": str(_fake_go(tmp_path, GARBAGE))}) as lsp:
        _open(lsp, mod / "p.go")
        await wait_for(lambda: lsp.messages, 30, "a message")
    assert any("oops" in m.message for m in lsp.messages)
    assert os.path.exists(mod / "p.go")

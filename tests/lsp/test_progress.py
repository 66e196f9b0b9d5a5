"""Work-done progress for long analyses, and the cancellable analyzeWorkspace command."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types

from conftest import copy_module, write_big_package
from tests.lsp.harness import (
    analyses_finished,
    analysis_finished,
    log_lines,
    open_file,
    session,
    wait_for,
)


def _slow_module(tmp_path: Path, packages: int = 1) -> Path:
    mod = tmp_path / "slow"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/slow\n\ngo 1.21\n")
    for i in range(packages):
        write_big_package(mod, f"big{i}", 1500)
    return mod


async def test_long_analysis_shows_progress(tmp_path: Path) -> None:
    mod = _slow_module(tmp_path)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "big0" / "big0.go")
        await wait_for(lambda: lsp.diagnostics.get(uri), 120, "diagnostics")
        await analysis_finished(lsp, 0)  # its progress ended before it said so
    reports = [r for rs in lsp.progress_reports.values() for r in rs]
    assert any(isinstance(r, types.WorkDoneProgressBegin) for r in reports)
    assert any(isinstance(r, types.WorkDoneProgressEnd) for r in reports)


async def test_short_analysis_shows_none(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        await wait_for(lambda: lsp.diagnostics.get(uri), 60, "diagnostics")
        # The second time it comes from the cache, well under half a second.
        await analysis_finished(lsp, 0)
        lsp.progress_reports.clear()
        finished = analyses_finished(lsp)
        open_file(lsp, mod / "esc" / "esc.go", version=2)
        # Progress begins only while an analysis runs: once it has finished, none can.
        await analysis_finished(lsp, finished)
        assert len(log_lines(lsp, "from cache")) == 2
    assert not lsp.progress_reports


async def test_analyze_workspace_publishes_every_package(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        result = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="heaplens.analyzeWorkspace")
        )
    assert result["packages"] == 2 and not result["cancelled"]
    files = {uri.rsplit("/", 2)[-2] + "/" + uri.rsplit("/", 1)[-1] for uri in lsp.diagnostics}
    assert {"esc/esc.go", "tested/tested.go", "tested/tested_test.go"} <= files
    reports = [r for rs in lsp.progress_reports.values() for r in rs]
    begin = next(r for r in reports if isinstance(r, types.WorkDoneProgressBegin))
    assert begin.cancellable
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)


async def test_analyze_workspace_can_be_cancelled(tmp_path: Path) -> None:
    mod = _slow_module(tmp_path, packages=4)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        task = asyncio.ensure_future(
            lsp.workspace_execute_command_async(
                types.ExecuteCommandParams(command="heaplens.analyzeWorkspace")
            )
        )
        token = await wait_for(lambda: next(iter(lsp.progress_reports), None), 30, "progress")
        # Cancelled once it has begun: four packages of 1,500 functions are far from done.
        lsp.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        result = await asyncio.wait_for(task, 30)
    assert result["cancelled"]
    end = lsp.progress_reports[token][-1]
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "cancelled"


async def test_analyze_workspace_accepts_empty_arguments(tmp_path: Path) -> None:
    # VS Code and Neovim send `arguments: []`; the command must not care.
    mod = copy_module("corpus", tmp_path)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        result = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="heaplens.analyzeWorkspace", arguments=[])
        )
    assert result["packages"] == 2


async def test_analyze_workspace_outside_any_module_says_so(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    (loose / "cmd").mkdir(parents=True)
    (loose / "cmd" / "main.go").write_text("package main\n\nfunc main() {}\n")
    async with session(loose, cache_dir=tmp_path / "c") as lsp:
        result = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="heaplens.analyzeWorkspace")
        )
    assert result["packages"] == 0 and not result["cancelled"]
    warnings = [m.message for m in lsp.messages if m.type == types.MessageType.Warning]
    assert warnings == [
        f"heaplens: {loose} is outside any Go module (no go.mod in it or above it) "
        "and has no .go files to analyse on their own"
    ]

"""``heaplens.analyzeWorkspace``: every package of every workspace folder, with a progress
bar the user can cancel."""

from __future__ import annotations

import asyncio
import uuid
from functools import partial
from typing import Any

from lsprotocol import types

from ..toolchain import Cancelled, CancelToken, TimedOut, ToolchainError
from ..workspace import TargetError
from .convert import uri_to_path

# Imported at run time, not only for type checking: pygls reads the command handler's
# annotations to convert its arguments, so every name in them must exist.
from .server import HeaplensServer

ANALYZE_WORKSPACE = "heaplens.analyzeWorkspace"


def _folders(ls: HeaplensServer) -> list[str]:
    folders = [uri_to_path(f.uri) for f in ls.workspace.folders.values()]
    if not folders and ls.workspace.root_uri:
        folders = [uri_to_path(ls.workspace.root_uri)]
    return [f for f in folders if f]


def register(server: HeaplensServer) -> None:
    @server.command(ANALYZE_WORKSPACE)
    async def analyze_workspace(ls: HeaplensServer, *_args: Any) -> dict[str, Any]:
        if not ls.settings.workspaceTrusted:
            ls.show_warning("heaplens: the workspace is not trusted, so `go` is not run.")
            return {"packages": 0, "findings": 0, "cancelled": False, "trusted": False}
        cancel = CancelToken()
        token = f"heaplens-workspace-{uuid.uuid4()}"
        progress = ls.work_done_progress
        has_progress = ls.supports_progress()
        loop = asyncio.get_running_loop()
        if has_progress:
            try:
                await progress.create_async(token)
                progress.begin(
                    token,
                    types.WorkDoneProgressBegin(
                        title="heaplens: analysing the workspace", cancellable=True, percentage=0
                    ),
                )
            except Exception:
                has_progress = False
        # Registered with or without a progress bar: a server that exits cancels it.
        ls.progress_cancels[token] = cancel

        def report(done: int, total: int, label: str) -> None:
            if has_progress and total:
                value = types.WorkDoneProgressReport(
                    message=f"{done}/{total} {label}", percentage=min(100, done * 100 // total)
                )
                loop.call_soon_threadsafe(progress.report, token, value)

        packages = findings = 0
        cancelled = False
        try:
            engine = ls.analyzer.engine()
            for folder in _folders(ls):
                overlays = ls.analyzer.overlays()
                try:
                    result = await loop.run_in_executor(
                        None, partial(engine.check, ["./..."], folder, overlays, cancel, report)
                    )
                except TargetError as e:
                    # A folder outside any module, or with no Go package: say so, and go
                    # on with the other folders.
                    ls.show_warning(f"heaplens: {e}")
                    continue
                ls.analyzer.apply(result, publish_all=True)
                packages += len(result.packages)
                kinds = ls.settings.kind_set
                findings += sum(1 for f in result.findings if f.kind in kinds)
        except Cancelled:
            cancelled = True
        except (ToolchainError, TimedOut) as e:
            ls.show_error(str(e))
        finally:
            ls.progress_cancels.pop(token, None)
            if has_progress:
                message = "cancelled" if cancelled else f"{packages} packages, {findings} findings"
                progress.end(token, types.WorkDoneProgressEnd(message=message))
        return {"packages": packages, "findings": findings, "cancelled": cancelled}

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def cancel_progress(ls: HeaplensServer, params: types.WorkDoneProgressCancelParams) -> None:
        cancel = ls.progress_cancels.get(str(params.token))
        if cancel is not None:
            cancel.cancel()

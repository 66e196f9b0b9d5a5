"""``heaplens.analyzeWorkspace``: every package of every workspace folder, with a progress
bar the user can cancel.

A scan is an analysis like the others: it runs through the scheduler, so it takes one of
the analyses' slots, a request while one is on its way waits for that one (five requests
are one scan, one progress bar), and shutdown stops it.
"""

from __future__ import annotations

import asyncio
import uuid
from functools import partial
from typing import Any

from lsprotocol import types

from ..toolchain import Cancelled, CancelToken, TimedOut, ToolchainError
from ..workspace import TargetError
from .roots import searchable

# Imported at run time, not only for type checking: pygls reads the command handler's
# annotations to convert its arguments, so every name in them must exist.
from .server import HeaplensServer

ANALYZE_WORKSPACE = "heaplens.analyzeWorkspace"


def register(server: HeaplensServer) -> None:
    @server.command(ANALYZE_WORKSPACE)
    async def analyze_workspace(ls: HeaplensServer, *_args: Any) -> dict[str, Any]:
        if not ls.settings.workspaceTrusted:
            ls.show_warning("heaplens: the workspace is not trusted, so `go` is not run.")
            return {"packages": 0, "findings": 0, "cancelled": False, "trusted": False}
        try:
            return await ls.analyzer.scheduler.shared(ANALYZE_WORKSPACE, partial(_scan, ls))
        except asyncio.CancelledError:
            # The session is ending (pygls then cancels every task) or the client gave
            # up on this request. Answer rather than raise: pygls would log a cancelled
            # handler as an error with a traceback.
            return {"packages": 0, "findings": 0, "cancelled": True}

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def cancel_progress(ls: HeaplensServer, params: types.WorkDoneProgressCancelParams) -> None:
        cancel = ls.progress_cancels.get(str(params.token))
        if cancel is not None:
            cancel.cancel()


async def _scan(ls: HeaplensServer, cancel: CancelToken) -> dict[str, Any]:
    """One scan of every searchable folder; ``cancel`` is the scheduler's token, which
    the progress bar's cancel button and shutdown both set."""
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
        for folder in searchable(ls):
            if cancel.cancelled:
                raise Cancelled()
            overlays = ls.analyzer.overlays()
            try:
                result = await loop.run_in_executor(
                    ls.analyzer.executor,
                    partial(engine.check, ["./..."], folder, overlays, cancel, report),
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
    except asyncio.CancelledError:
        # The event loop is ending: stop go at once, and send the client nothing more.
        cancel.cancel()
        has_progress = False
        raise
    except (ToolchainError, TimedOut) as e:
        ls.show_error(str(e))
    finally:
        ls.progress_cancels.pop(token, None)
        if has_progress:
            message = "cancelled" if cancelled else f"{packages} packages, {findings} findings"
            progress.end(token, types.WorkDoneProgressEnd(message=message))
    return {"packages": packages, "findings": findings, "cancelled": cancelled}

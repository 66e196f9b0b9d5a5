"""``heaplens.analyzeWorkspace``: every package of every workspace folder, with a progress
bar the user can cancel.

A scan is an analysis like the others: it runs through the scheduler, so it takes one of
the analyses' slots, a request while one is on its way waits for that one (five requests
are one scan, one progress bar), and shutdown stops it. Registered with the analyzer
and the settings; the server gives the workspace folders and the progress bars'
cancel tokens (``progress_cancels``), which shutdown cancels.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from lsprotocol import types

from ..toolchain import Cancelled, CancelToken, TimedOut, ToolchainError
from ..workspace import TargetError
from .analysis import Analyzer
from .client import Client, FeatureHost, SettingsSource

ANALYZE_WORKSPACE = "heaplens.analyzeWorkspace"


class WorkspaceHost(FeatureHost, Protocol):
    """The server as a scan sees it: a client, and the cancel tokens of its progress
    bars, by token."""

    progress_cancels: dict[str, CancelToken]

    def scan_folders(self) -> list[str]:
        """The workspace folders to scan (``roots.searchable``)."""


def register(server: WorkspaceHost, analyzer: Analyzer, settings: SettingsSource) -> None:
    @server.command(ANALYZE_WORKSPACE)
    async def analyze_workspace(*_args: Any) -> dict[str, Any]:
        if not settings().workspaceTrusted:
            server.show_warning("heaplens: the workspace is not trusted, so `go` is not run.")
            return {"packages": 0, "findings": 0, "cancelled": False, "trusted": False}
        scan = partial(_scan, server, analyzer, settings)
        try:
            return await analyzer.scheduler.shared(ANALYZE_WORKSPACE, scan)
        except asyncio.CancelledError:
            # The session is ending (pygls then cancels every task) or the client gave
            # up on this request. Answer rather than raise: pygls would log a cancelled
            # handler as an error with a traceback.
            return {"packages": 0, "findings": 0, "cancelled": True}

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def cancel_progress(params: types.WorkDoneProgressCancelParams) -> None:
        cancel = server.progress_cancels.get(str(params.token))
        if cancel is not None:
            cancel.cancel()


async def _begin(client: Client, token: str) -> bool:
    """A cancellable progress bar for the scan; whether the client shows one."""
    if not client.supports_progress():
        return False
    try:
        await client.create_progress(token)
        client.begin_progress(
            token,
            types.WorkDoneProgressBegin(
                title="heaplens: analysing the workspace", cancellable=True, percentage=0
            ),
        )
    except Exception:
        return False
    return True


def _reporter(
    client: Client, token: str, shown: Callable[[], bool]
) -> Callable[[int, int, str], None]:
    """How the engine's threads report progress: on the loop, while a bar is shown."""
    loop = asyncio.get_running_loop()

    def report(done: int, total: int, label: str) -> None:
        if shown() and total:
            value = types.WorkDoneProgressReport(
                message=f"{done}/{total} {label}", percentage=min(100, done * 100 // total)
            )
            loop.call_soon_threadsafe(client.report_progress, token, value)

    return report


async def _scan(
    server: WorkspaceHost, analyzer: Analyzer, settings: SettingsSource, cancel: CancelToken
) -> dict[str, Any]:
    """One scan of every searchable folder; ``cancel`` is the scheduler's token, which
    the progress bar's cancel button and shutdown both set."""
    token = f"heaplens-workspace-{uuid.uuid4()}"
    has_progress = await _begin(server, token)
    # Registered with or without a progress bar: a server that exits cancels it.
    server.progress_cancels[token] = cancel
    report = _reporter(server, token, lambda: has_progress)
    packages = findings = 0
    cancelled = False
    try:
        for folder in server.scan_folders():
            if cancel.cancelled:
                raise Cancelled()
            counted = await _scan_folder(server, analyzer, settings, folder, cancel, report)
            if counted is not None:
                packages, findings = packages + counted[0], findings + counted[1]
    except Cancelled:
        cancelled = True
    except asyncio.CancelledError:
        # The event loop is ending: stop go at once, and send the client nothing more.
        cancel.cancel()
        has_progress = False
        raise
    except (ToolchainError, TimedOut) as e:
        server.show_error(str(e))
    finally:
        server.progress_cancels.pop(token, None)
        if has_progress:
            message = "cancelled" if cancelled else f"{packages} packages, {findings} findings"
            server.end_progress(token, types.WorkDoneProgressEnd(message=message))
    return {"packages": packages, "findings": findings, "cancelled": cancelled}


async def _scan_folder(
    client: Client,
    analyzer: Analyzer,
    settings: SettingsSource,
    folder: str,
    cancel: CancelToken,
    report: Callable[[int, int, str], None],
) -> tuple[int, int] | None:
    """Analyse and publish one folder's packages: how many packages, and findings of the
    kinds shown; None for a folder with no package to analyse."""
    engine = analyzer.engine()
    overlays = analyzer.overlays()
    try:
        result = await asyncio.get_running_loop().run_in_executor(
            analyzer.executor,
            partial(engine.check, ["./..."], folder, overlays, cancel, report),
        )
    except TargetError as e:
        # A folder outside any module, or with no Go package: say so, and go on with
        # the other folders.
        client.show_warning(f"heaplens: {e}")
        return None
    analyzer.apply(result, publish_all=True)
    kinds = settings().kind_set
    return len(result.packages), sum(1 for f in result.findings if f.kind in kinds)

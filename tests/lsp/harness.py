"""Start the real ``heaplens serve`` over stdio with pytest-lsp's client, as VS Code or
Neovim 0.11 would (their recorded client capabilities), against a real Go module."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

CLIENTS = {"vscode": "visual-studio-code", "neovim": "neovim@v0.11"}
STATUS = "heaplens/status"


@asynccontextmanager
async def session(
    root: Path,
    *,
    client: str = "vscode",
    init_options: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    cache_dir: Path | None = None,
    server_args: tuple[str, ...] = (),
) -> AsyncIterator[LanguageClient]:
    lsp = make_test_lsp_client()
    _record(lsp)
    if configuration is not None:
        lsp.set_configuration(configuration, section="heaplens")
    server_env = dict(os.environ if env is None else env)
    if cache_dir is not None:
        server_env["HEAPLENS_CACHE_DIR"] = str(cache_dir)
    await lsp.start_io(sys.executable, "-m", "heaplens", "serve", *server_args, env=server_env)
    try:
        await lsp.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities(CLIENTS[client]),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
                initialization_options=init_options,
            )
        )
        yield lsp
    finally:
        try:
            await asyncio.wait_for(lsp.shutdown_session(), timeout=10)
        finally:
            await lsp.stop()


def open_file(lsp: LanguageClient, path: Path, version: int = 1) -> str:
    uri = path.as_uri()
    lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="go", version=version, text=path.read_text()
            )
        )
    )
    return uri


async def wait_for(
    predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass(frozen=True)
class _Seen:
    """What a session's client received, in order: ``heaplens/status`` states, and for
    each publish the analyses that had finished before it."""

    states: list[str] = field(default_factory=list)
    publishes: list[tuple[str, int | None, int]] = field(default_factory=list)

    def finished(self) -> int:
        return sum(1 for state in self.states if state in ("idle", "error"))


_SEEN: weakref.WeakKeyDictionary[LanguageClient, _Seen] = weakref.WeakKeyDictionary()


def _record(lsp: LanguageClient) -> None:
    seen = _SEEN[lsp] = _Seen()
    original = lsp.protocol.fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def status(params: Any) -> None:
        state = params.get("state") if isinstance(params, dict) else getattr(params, "state", "")
        seen.states.append(str(state))

    def publish(params: types.PublishDiagnosticsParams) -> None:
        seen.publishes.append((params.uri, params.version, seen.finished()))
        original(params)

    lsp.protocol.fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    lsp.protocol.fm.features[STATUS] = status


def analyses_finished(lsp: LanguageClient) -> int:
    """How many times the server has said its analyses ended (``heaplens/status`` idle or
    error). The server says idle only when nothing is due or running any more, after the
    findings went out: take this count before what starts an analysis, and pass it to
    ``analysis_finished``."""
    return _SEEN[lsp].finished()


def finished_before(lsp: LanguageClient, uri: str, version: int) -> int:
    """``analyses_finished`` as it was when ``version`` of ``uri`` was first published:
    ``analysis_finished`` with it waits for the analyses that were due then."""
    return next(n for u, v, n in _SEEN[lsp].publishes if u == uri and v == version)


async def analysis_finished(lsp: LanguageClient, since: int, timeout: float = 120) -> None:
    """Wait until the analyses the server has been asked for since ``since`` (a count from
    ``analyses_finished``) have finished and published: the event a negative check waits
    for before it asserts that something did not appear."""
    await wait_for(lambda: analyses_finished(lsp) > since, timeout, "the analysis to finish")


async def handled(lsp: LanguageClient) -> None:
    """Wait until the server has handled every message sent before this call: its answer
    to a request comes after them. Work a handler starts at once (an analysis with no
    debounce logs "analysing" as it starts) has started by then."""
    for _ in range(2):  # the second request is read after the first one's work started
        await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri="file:///heaplens-barrier.go"),
                position=types.Position(line=0, character=0),
            )
        )


def heaplens_diagnostics(lsp: LanguageClient, uri: str) -> list[types.Diagnostic]:
    return [d for d in lsp.diagnostics.get(uri, []) if d.source == "heaplens"]


async def wait_for_diagnostics(
    lsp: LanguageClient,
    uri: str,
    predicate: Callable[[list[types.Diagnostic]], bool] | None = None,
    timeout: float = 60.0,
) -> list[types.Diagnostic]:
    check = predicate or (lambda ds: bool(ds))
    return await wait_for(
        lambda: (lambda ds: ds if check(ds) else None)(heaplens_diagnostics(lsp, uri)),
        timeout,
        f"diagnostics on {uri}",
    )


def log_lines(lsp: LanguageClient, needle: str) -> list[str]:
    return [m.message for m in lsp.log_messages if needle in m.message]


def record_publishes(lsp: LanguageClient) -> list[types.PublishDiagnosticsParams]:
    """Keep every publishDiagnostics the client receives, in order."""
    published: list[types.PublishDiagnosticsParams] = []
    original = lsp.protocol.fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def record(params: types.PublishDiagnosticsParams) -> None:
        published.append(params)
        original(params)

    lsp.protocol.fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record
    return published


def change(
    lsp: LanguageClient,
    uri: str,
    version: int,
    start: tuple[int, int],
    end: tuple[int, int],
    text: str,
) -> None:
    """One incremental edit: replace (line, character) ``start`` to ``end`` with ``text``."""
    lsp.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=start[0], character=start[1]),
                        end=types.Position(line=end[0], character=end[1]),
                    ),
                    text=text,
                )
            ],
        )
    )


async def inlay_hints(lsp: LanguageClient, uri: str) -> list[types.InlayHint]:
    """Every inlay hint of a document."""
    hints = await lsp.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=0, character=0),
                end=types.Position(line=1_000_000, character=0),
            ),
        )
    )
    return list(hints or [])

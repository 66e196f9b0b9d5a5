"""The language server's small core: lifecycle, settings, logging, and the features.

The server owns the parts (the document store, the ``Analyzer``, the ``FixVerifier``)
and is the ``Client`` they talk to (``client.py``). Each feature lives in its own module
and has a ``register`` that is handed what it needs, as esbonio hands its managers to
each ``esbonio_setup``: ``config`` (settings), ``sync`` (documents), ``views`` (hover,
inlay hints), ``fix_actions`` (verifying fixes after each analysis), ``code_actions``,
``commands`` (analyze workspace), ``findings_list`` (every finding, for a view of the
workspace); ``watcher`` watches files changed on disk. Features
hear of events through listeners on the analyzer and the store, not through the server.
The engine does the work; this layer only translates.

The server never writes to stdout except protocol messages: logs go to stderr and, once
the client is listening, to ``window/logMessage``. A handler that raises is logged and
the server carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
import socket
import sys
import threading
from collections.abc import Sequence
from typing import Any

import orjson
from lsprotocol import types
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from .. import __version__
from ..positions import Encoding
from ..toolchain import CancelToken, kill_all_running
from .analysis import Analyzer
from .convert import encoding_of
from .documents import DocumentStore
from .fix_actions import FixVerifier
from .framing import MessageReader
from .protocol import HeaplensProtocol, run
from .settings import Settings

log = logging.getLogger("heaplens")
STATUS_NOTIFICATION = "heaplens/status"


class HeaplensServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "heaplens",
            __version__,
            protocol_cls=HeaplensProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.settings = Settings()
        self.docs = DocumentStore()
        self.analyzer = Analyzer(self, self.docs, self.current_settings, folders=self.folders)
        self.fixer = FixVerifier(self, self.docs, self.analyzer)
        self.watcher: Any = None
        self.initialized = False
        #: Set on a thread while it sends an error report (``report_server_error``).
        self._reporting_on = threading.local()
        self.loop: asyncio.AbstractEventLoop | None = None
        #: Problems with initializationOptions, shown once the client listens.
        self.pending_messages: list[str] = []
        #: Cancel tokens of cancellable work-done progress, by progress token.
        self.progress_cancels: dict[str, CancelToken] = {}
        #: Set by ``stop``: nothing more that would make the client send requests.
        self._stopping = False
        #: Writes of publishes still under way on an asynchronous transport.
        self._writes: set[asyncio.Future[Any]] = set()
        #: Workspace folders refused as no Go workspace, said once each (``roots``).
        self.refused_folders: set[str] = set()

    def folders(self) -> list[str]:
        """The workspace folders (``roots.folders``): where relative profile paths are."""
        from .roots import folders

        return folders(self)

    def current_settings(self) -> Settings:
        """The settings now (``config`` replaces them whole): the parts' ``SettingsSource``."""
        return self.settings

    # -- capabilities of the client --------------------------------------------------

    def capability(self, *path: str) -> Any:
        node: Any = self.client_capabilities
        for name in path:
            node = getattr(node, name, None) if node is not None else None
        return node

    def supports_related_information(self) -> bool:
        return bool(self.capability("text_document", "publish_diagnostics", "related_information"))

    def supports_progress(self) -> bool:
        return bool(self.capability("window", "work_done_progress"))

    def supports_configuration(self) -> bool:
        return bool(self.capability("workspace", "configuration"))

    def encoding(self) -> Encoding:
        return encoding_of(self.workspace.position_encoding)

    # -- work-done progress -----------------------------------------------------------

    async def create_progress(self, token: str) -> None:
        await self.work_done_progress.create_async(token)

    def begin_progress(self, token: str, begin: types.WorkDoneProgressBegin) -> None:
        self.work_done_progress.begin(token, begin)

    def report_progress(self, token: str, report: types.WorkDoneProgressReport) -> None:
        self.work_done_progress.report(token, report)

    def end_progress(self, token: str, end: types.WorkDoneProgressEnd) -> None:
        self.work_done_progress.end(token, end)

    # -- output ------------------------------------------------------------------------

    def publish(
        self, uri: str, diagnostics: Sequence[tuple[types.Diagnostic, bytes]], version: int | None
    ) -> None:
        """``textDocument/publishDiagnostics`` from diagnostics already encoded (see
        ``presentation.encode``): the message is put together from their JSON and written
        with the protocol's own writer, instead of pygls encoding all of it again."""
        writer = self.protocol.writer
        if writer is None:
            log.error("cannot publish diagnostics: no transport")
            return
        params = b'{"uri":%b,"diagnostics":[%b],"version":%b}' % (
            orjson.dumps(uri),
            b",".join(encoded for _d, encoded in diagnostics),
            orjson.dumps(version),
        )
        body = b'{"jsonrpc":"2.0","method":"%b","params":%b}' % (
            types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS.encode(),
            params,
        )
        try:
            sent = writer.write(b"Content-Length: %d\r\n\r\n%b" % (len(body), body))
            if inspect.isawaitable(sent):  # an asynchronous transport
                task = asyncio.ensure_future(sent)
                self._writes.add(task)
                task.add_done_callback(self._writes.discard)
        except BrokenPipeError:
            raise  # the client is gone: pygls shuts down, as for any message
        except Exception as error:
            self.report_server_error(error, self.publish)

    def send_status(self, state: str, directory: str = "", message: str = "") -> None:
        """``heaplens/status``: what the server is doing, for a status bar.

        ``state`` is ``analysing``, ``idle`` or ``error`` (with ``message``). Clients that
        do not know the notification ignore it. ``profile`` is the label of the loaded
        profiles ("mem.out"), empty when none is; ``profileNote`` says why none is when
        the ``profile`` setting names some (none matched, or one could not be read).
        ``paused`` says whether ``directory``'s package is paused (the ``exclude`` setting).
        """
        if not self.initialized:
            return
        profile = self.analyzer.profiles.status
        try:
            self.protocol.notify(
                STATUS_NOTIFICATION,
                {
                    "state": state,
                    "directory": directory,
                    "message": message,
                    "profile": profile.label,
                    "profileNote": profile.note,
                    "paused": bool(directory) and self.analyzer.paused(directory),
                },
            )
        except Exception:
            log.debug("could not send status", exc_info=True)

    def notify(self, method: str, params: Any) -> None:
        """A notification of heaplens's own (``heaplens/findingsChanged``); clients that
        do not know it ignore it."""
        if not self.initialized or self._stopping:
            return
        try:
            self.protocol.notify(method, params)
        except Exception:
            log.debug("could not send %s", method, exc_info=True)

    def refresh_inlay_hints(self) -> None:
        # Not once stopping: a refresh makes the client ask for hints, and a request sent
        # after shutdown can only be refused (Neovim shows that refusal to the user).
        if self._stopping:
            return
        if self.capability("workspace", "inlay_hint", "refresh_support"):
            try:
                self.workspace_inlay_hint_refresh(None)
            except Exception:  # a refresh the client rejects changes nothing
                log.debug("inlay hint refresh failed", exc_info=True)

    def _log(self, level: int, kind: types.MessageType, message: str) -> None:
        log.log(level, "%s", message)
        if self.initialized:
            try:
                self.window_log_message(types.LogMessageParams(type=kind, message=message))
            except Exception:
                log.debug("could not send a log message", exc_info=True)

    def log_info(self, message: str) -> None:
        self._log(logging.INFO, types.MessageType.Info, f"heaplens: {message}")

    def log_warning(self, message: str) -> None:
        self._log(logging.WARNING, types.MessageType.Warning, f"heaplens: {message}")

    def show_error(self, message: str) -> None:
        self._log(logging.ERROR, types.MessageType.Error, message)
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Error, message=message)
        )

    def show_warning(self, message: str) -> None:
        self._log(logging.WARNING, types.MessageType.Warning, message)
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Warning, message=message)
        )

    def report_server_error(self, error: Exception, source: Any) -> None:
        # A failing handler must not take the session down or pop up at the user: the
        # traceback goes to stderr, one line to the client's log.
        if getattr(self._reporting_on, "active", False):
            # Sending the report failed too (pygls reports a failed send here rather than
            # raising): the client is gone. Reporting that would recurse without end,
            # each level writing a traceback to a stderr nobody may be reading.
            log.debug("could not report an error to the client: %s", error)
            return
        log.error(
            "handler error (%s): %s", getattr(source, "__name__", source), error, exc_info=error
        )
        if self.initialized:
            self._reporting_on.active = True
            try:
                self.window_log_message(
                    types.LogMessageParams(
                        type=types.MessageType.Error, message=f"heaplens: internal error: {error}"
                    )
                )
            except Exception:
                log.debug("could not report an error", exc_info=True)
            finally:
                self._reporting_on.active = False

    def start_watching(self) -> None:
        from .watcher import start

        if self.watcher is None:
            self.watcher = start(self, self.analyzer.engine().base_env())

    def scan_folders(self) -> list[str]:
        """The workspace folders ``analyzeWorkspace`` scans (``roots.searchable``)."""
        from .roots import searchable

        return searchable(self, self.analyzer.engine().base_env())

    def files_changed(self, paths: set[str]) -> None:
        """Files changed on disk (not through the editor): re-analyse the open packages.

        Unchanged packages answer from the cache; those that import a changed package
        get new keys and recompile.
        """
        self.log_info(f"{len(paths)} file(s) changed on disk")
        self.analyzer.request_open_packages(delay=0.05)

    def stop(self) -> None:
        """Leave nothing behind: no analysis or scan, no watcher thread, no `go` process.

        Called on ``shutdown``, and again when the session ends (``exit``, stdin closed).
        """
        self._stopping = True
        for cancel in list(self.progress_cancels.values()):
            cancel.cancel()
        self.fixer.stop_all()
        self.analyzer.shutdown()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        kill_all_running()


def create_server() -> HeaplensServer:
    from . import code_actions, commands, config, findings_list, fix_actions, pausing, sync, views

    server = HeaplensServer()
    docs, analyzer, fixer, settings = (
        server.docs,
        server.analyzer,
        server.fixer,
        server.current_settings,
    )
    # Each feature is handed what it uses, and nothing else (``test_feature_wiring``).
    config.register(server, analyzer)
    sync.register(server, docs, analyzer, settings)
    views.register(server, docs, settings, lambda: analyzer.profiles.labels, analyzer.paused)
    fix_actions.register(analyzer, docs, fixer)
    code_actions.register(server, docs, fixer, settings, analyzer.paused)
    commands.register(server, analyzer, settings)
    pausing.register(server, analyzer.folders, settings)
    findings_list.register(server, analyzer, docs, settings)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: HeaplensServer, *_args: Any) -> None:
        # Work stops now, not at exit: a client may wait long for that, or never send it.
        # A workspace scan, cancelled, ends its progress and answers before the shutdown
        # does. (Requests still pending after that, the client's or ours to it, are
        # cancelled by the protocol's own shutdown, ``HeaplensProtocol.lsp_shutdown``.)
        ls.stop()
        await ls.analyzer.scheduler.shared_ended(timeout=5)

    return server


#: Allocations between collections of the youngest generation (Python's default is 700).
#: The server keeps hundreds of thousands of objects alive (findings, their diagnostics),
#: and an edit or a publish allocates tens of thousands more: at the default, the cyclic
#: collector took two thirds of the time of moving 4,500 findings through an Enter.
GC_THRESHOLD = 20_000
#: How long a thread holds the interpreter before another that waits for it may run
#: (Python's default is 5 ms). The engine parses the compiler's log in worker threads;
#: the loop that answers hover hands the interpreter back and forth with the thread
#: that reads stdin several times a request, and waited 5 ms each time.
SWITCH_INTERVAL = 0.0005


def serve(tcp: str | None = None, log_file: str | None = None) -> int:
    """Serve one client over stdio (or one TCP connection); the process's exit code."""
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    sys.setswitchinterval(SWITCH_INTERVAL)
    fmt = "%(asctime)s %(name)s %(levelname)s %(message)s"
    if log_file:
        logging.basicConfig(filename=log_file, level=logging.INFO, format=fmt)
    else:
        # Clients file a server's stderr under errors (Neovim's lsp.log does): keep it for
        # warnings and errors. The running commentary goes to window/logMessage.
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format=fmt)
    # pygls logs every message it sends at INFO; that is a trace, not a log.
    logging.getLogger("pygls").setLevel(logging.WARNING)
    server = create_server()
    try:
        if tcp:
            return _serve_tcp(server, tcp)
        return run(server, MessageReader.of_fd(sys.stdin.fileno()), StdoutWriter(sys.stdout.buffer))
    finally:
        server.stop()


def _serve_tcp(server: HeaplensServer, address: str) -> int:
    host, _, port = address.rpartition(":")
    with socket.create_server((host or "127.0.0.1", int(port))) as listener:
        log.warning("heaplens: listening on %s", listener.getsockname())
        connection, _ = listener.accept()
    with connection:
        return run(server, MessageReader(connection.recv), _SocketWriter(connection))


class _SocketWriter:
    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection

    def write(self, data: bytes) -> None:
        self._connection.sendall(data)

    def close(self) -> None:
        # Shut down but not closed (``_serve_tcp`` closes it): the reader thread's recv
        # then sees the end of the stream, not a descriptor that went away under it.
        with contextlib.suppress(OSError):
            self._connection.shutdown(socket.SHUT_RDWR)

"""JSON-RPC as the specification wants it, whatever the client sends: the message loop, and
an answer to every request.

pygls's own loop and protocol leave some requests unanswered (params that do not parse,
a request before ``initialize`` or after ``shutdown``), put Python tracebacks in
``error.data``, log tracebacks for a client's mistakes, and swallow the exit code of the
``exit`` notification. Here:

- every request gets a result or an error with the right code (ParseError, InvalidRequest,
  MethodNotFound, InvalidParams, ServerNotInitialized, InternalError), and ``error.data``
  is never set;
- a client's mistake is one line in the log; a traceback in the log means a bug of ours;
- ``exit`` ends the process with 0 after ``shutdown`` and 1 without, SIGTERM with 143;
- framing (``framing.py``) is read on a daemon thread, so nothing waits on a stdin that
  never closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
from collections.abc import Generator
from concurrent.futures import Future
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    MsgId,
)
from pygls.protocol.language_server import lsp_method

from .framing import FramingError, MessageReader, QueuedWriter, Writer

if TYPE_CHECKING:
    from .server import HeaplensServer

log = logging.getLogger(__name__)

ErrorCodes = types.ErrorCodes
#: Exit code after SIGTERM, as a shell reports a process the signal ended.
EXIT_TERMINATED = 128 + signal.SIGTERM


class HeaplensProtocol(LanguageServerProtocol):
    _server: HeaplensServer

    def __init__(self, server: Any, converter: cattrs.Converter) -> None:
        super().__init__(server, converter)
        self._initialize_seen = False

    # -- receiving -----------------------------------------------------------------

    def receive(self, body: bytes) -> None:
        """One message body off the wire: dispatched, or answered with an error."""
        try:
            data = json.loads(body)
        except ValueError as e:  # not JSON, or not UTF-8
            self._reject(None, ErrorCodes.ParseError, f"Parse error: {e}")
            return
        if not isinstance(data, dict):
            what = type(data).__name__
            self._reject(None, ErrorCodes.InvalidRequest, f"a message is an object, not {what}")
            return
        raw_id = data.get("id")
        msg_id = raw_id if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else None
        method = data.get("method")
        if data.get("jsonrpc") != "2.0" or not isinstance(method, (str, type(None))):
            self._reject(msg_id, ErrorCodes.InvalidRequest, "not a JSON-RPC 2.0 message")
        elif msg_id is None and (raw_id is not None or (method is not None and "id" in data)):
            self._reject(None, ErrorCodes.InvalidRequest, "an id is a string or a number")
        elif method is None:
            self._receive_response(data, msg_id)
        elif msg_id is not None:
            self._receive_request(data, msg_id, method)
        else:
            self._receive_notification(data, method)

    def _receive_request(self, data: dict[str, Any], msg_id: MsgId, method: str) -> None:
        if not self._answerable(msg_id, method):
            return
        try:
            message = self._structure(data)
        except Exception as e:
            problem = _problem(e)
            self._reject(
                msg_id, ErrorCodes.InvalidParams, f"Invalid params for {method}: {problem}"
            )
            return
        if method == types.INITIALIZE:
            self._initialize_seen = True
        self.handle_message(message)

    def _receive_notification(self, data: dict[str, Any], method: str) -> None:
        if not self._initialize_seen and method != types.EXIT:
            log.warning("ignored a %s notification before initialize", method)
            return
        try:
            message = self._structure(data)
        except Exception as e:
            log.warning("ignored a %s notification: %s", method, _problem(e))
            return
        self.handle_message(message)

    def _receive_response(self, data: dict[str, Any], msg_id: MsgId | None) -> None:
        if msg_id is None:  # an error about a message of ours the client could not read
            log.warning("the client could not read a message: %s", data.get("error"))
            return
        try:
            message = self._structure(data)
        except Exception as e:
            # An answer in a shape we cannot read: the request fails rather than waiting
            # for ever.
            problem = _problem(e)
            log.warning("the client's response %r did not parse: %s", msg_id, problem)
            error = types.ResponseError(code=ErrorCodes.InvalidParams, message=problem)
            self._handle_response(msg_id, error=error)
            return
        self.handle_message(message)

    def _answerable(self, msg_id: MsgId, method: str) -> bool:
        """Answer now the requests the protocol forbids; True for the others."""
        if not self._initialize_seen and method != types.INITIALIZE:
            self._reject(msg_id, ErrorCodes.ServerNotInitialized, f"{method} before initialize")
            return False
        if self._shutdown:
            # The specification asks for InvalidRequest here, but a request after shutdown
            # is a client racing its own stop (Neovim asks for inlay hints while stopping),
            # and clients show InvalidRequest to the user. RequestCancelled is what they
            # take silently, and it is true: the server will not do it.
            self._reject(msg_id, types.LSPErrorCodes.RequestCancelled, f"{method} after shutdown")
            return False
        return True

    def _structure(self, data: dict[str, Any]) -> Any:
        """The typed message, as pygls's ``structure_message`` makes it (for the top-level
        object only: a parameter that happens to hold a "jsonrpc" key stays data)."""
        if "id" in data:
            if "error" in data:
                kind: Any = types.ResponseErrorMessage
            elif "method" in data:
                kind = self.get_message_type(data["method"]) or JsonRPCRequestMessage
            else:
                kind = self._result_types.pop(data["id"], None) or JsonRPCResponseMessage
        else:
            kind = self.get_message_type(data.get("method", "")) or JsonRPCNotification
        return self._converter.structure(data, kind)

    def _reject(self, msg_id: MsgId | None, code: int, message: str) -> None:
        log.warning("rejected a message: %s", message)
        # A raw dict: the converter would drop an id of None, and JSON-RPC wants it null.
        self._send_data(
            {"jsonrpc": "2.0", "id": msg_id, "error": {"code": int(code), "message": message}}
        )

    # -- answering -------------------------------------------------------------------

    def _handle_request(self, msg_id: MsgId, method_name: str, params: Any) -> None:
        try:
            handler = self._get_handler(method_name)
        except JsonRpcException as e:  # MethodNotFound
            log.info("rejected a request: %s", e.message)
            self._send_response(msg_id, None, _error(e))
            return
        self._ctx_msg_id.set(msg_id)
        try:
            callback = partial(self._send_handler_result, msg_id=msg_id)
            self._execute_handler(msg_id, handler, callback, args=(params,))
        except Exception as e:  # _execute_handler catches handlers' errors; this is ours
            self._server.report_server_error(e, handler)
            self._send_response(msg_id, None, _internal(e))

    def _send_handler_result(self, future: Future[Any], *, msg_id: MsgId) -> None:
        self._request_futures.pop(msg_id, None)
        if future.cancelled():
            error = types.ResponseError(
                code=types.LSPErrorCodes.RequestCancelled, message=f"request {msg_id} cancelled"
            )
            self._send_response(msg_id, error=error)
            return
        exc = future.exception()
        if exc is None or not isinstance(exc, Exception):
            self._send_response(msg_id, result=future.result())
        elif isinstance(exc, JsonRpcException):  # the handler's answer: an error
            log.info("request %s: %s", msg_id, exc.message)
            self._send_response(msg_id, error=_error(exc))
        else:  # a bug: the traceback goes to the log, the client gets one line
            self._server.report_server_error(exc, "request")
            self._send_response(msg_id, error=_internal(exc))

    def _check_handler_result(self, future: Future[Any]) -> None:
        # A notification's handler failed: log what it raised, with its own traceback.
        if not future.cancelled() and isinstance(exc := future.exception(), Exception):
            self._server.report_server_error(exc, "notification")

    # -- built-in handlers pygls gets wrong ------------------------------------------

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        # pygls cancels the requests in flight while iterating over the dict that their
        # cancellation callbacks remove them from: shutdown failed whenever one was.
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current and not future.done():
                future.cancel()
        self._shutdown = True
        return None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        # pygls's own handler would also keep its copy of the document up to date; heaplens
        # keeps the documents itself (``DocumentStore``) and never reads pygls's, which
        # re-splits the whole text into lines on every keystroke (5 ms an edit in a
        # 10,000-line file, a second for a burst of 200 edits, with hover waiting).
        uri = params.text_document.uri
        if unquote(uri) not in self.workspace.text_documents:
            self._server.log_warning(f"ignored a change to {uri}, which is not open")
            return
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None


def _problem(e: Exception) -> str:
    """What is wrong with a message, as cattrs says it: ``required field missing @
    message.params.textDocument``."""
    return "; ".join(cattrs.transform_error(e, path="message")[:3])


def _error(e: JsonRpcException) -> types.ResponseError:
    return types.ResponseError(code=e.code, message=e.message)


def _internal(e: BaseException) -> types.ResponseError:
    return types.ResponseError(
        code=ErrorCodes.InternalError, message=f"heaplens: internal error: {type(e).__name__}: {e}"
    )


# -- the loop --------------------------------------------------------------------------


def run(server: HeaplensServer, reader: MessageReader, writer: Writer) -> int:
    """Serve one client until ``exit``, the end of its stream, or SIGTERM; the exit code."""
    return asyncio.run(_serve(server, reader, writer))


def _pump(
    reader: MessageReader, inbox: asyncio.Queue[object], loop: asyncio.AbstractEventLoop
) -> None:
    """The reader thread: each message body (or framing error) into ``inbox``; None at
    the end of the stream."""
    while True:
        try:
            item: object = reader.next()
        except OSError as e:
            log.warning("cannot read from the client: %s", e)
            item = None
        try:
            asyncio.run_coroutine_threadsafe(inbox.put(item), loop).result()
        except Exception:  # the loop is gone: we are exiting
            return
        if item is None:
            return


def _handle(server: HeaplensServer, protocol: HeaplensProtocol, item: object) -> int | None:
    """One item off the inbox; the exit code if the session ends with it."""
    if item is None:
        log.info("the client closed the connection")
        return 0
    if isinstance(item, FramingError):
        server.log_warning(f"dropped {item.reason}")
        return None
    assert isinstance(item, bytes)
    try:
        protocol.receive(item)
    except SystemExit as e:  # pygls's ``exit`` handler
        return e.code if isinstance(e.code, int) else 1
    except BrokenPipeError:
        log.info("the client is gone")
        return 0
    return None


async def _serve(server: HeaplensServer, reader: MessageReader, writer: Writer) -> int:
    loop = asyncio.get_running_loop()
    # Bounded: a client that sends faster than we handle waits, instead of our memory.
    inbox: asyncio.Queue[object] = asyncio.Queue(maxsize=64)
    protocol = server.protocol
    assert isinstance(protocol, HeaplensProtocol)
    queued = QueuedWriter(writer)
    protocol.set_writer(queued)
    # SIGTERM cancels the wait for the next message (the one place this task waits):
    # even with a full inbox, and never in the middle of handling a message.
    this = asyncio.current_task()
    terminated: list[bool] = []

    def on_sigterm() -> None:
        terminated.append(True)
        if this is not None:
            this.cancel()

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    reading = threading.Thread(
        target=_pump, args=(reader, inbox, loop), name="heaplens-reader", daemon=True
    )
    reading.start()
    try:
        while True:
            try:
                item = await inbox.get()
            except asyncio.CancelledError:
                if not terminated:
                    raise
                log.info("terminated by SIGTERM")
                return EXIT_TERMINATED
            code = _handle(server, protocol, item)
            if code is not None:
                return code
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        server.stop()
        # What was answered before the client closed its end goes out still.
        queued.flush()

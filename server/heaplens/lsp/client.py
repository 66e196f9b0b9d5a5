"""What the server's parts need from the client side, and nothing more: publishing
diagnostics, the log and messages, progress, an inlay-hint refresh, and what the client
said it supports.

``HeaplensServer`` implements it over the wire. The analyzer, the fix verifier and the
features are given a ``Client``, never the server, so each can be exercised in a unit
test with a client that records what it was sent; the end-to-end tests run the real
server over stdio.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from lsprotocol import types

from ..positions import Encoding
from .settings import Settings

#: A diagnostic and its JSON, as ``Client.publish`` sends it (``presentation.encode``).
Encoded = tuple[types.Diagnostic, bytes]
#: The settings in force now: they are replaced whole when the client changes them.
SettingsSource = Callable[[], Settings]
F = TypeVar("F", bound=Callable[..., Any])


class Client(Protocol):
    # -- output ------------------------------------------------------------------------

    def publish(self, uri: str, diagnostics: Sequence[Encoded], version: int | None) -> None:
        """``textDocument/publishDiagnostics``."""

    def send_status(self, state: str, directory: str = "", message: str = "") -> None:
        """``heaplens/status``: ``analysing``, ``idle`` or ``error``."""

    def log_info(self, message: str) -> None: ...

    def log_warning(self, message: str) -> None: ...

    def show_error(self, message: str) -> None: ...

    def show_warning(self, message: str) -> None: ...

    def refresh_inlay_hints(self) -> None:
        """Ask the client to ask for inlay hints again, if it can."""

    # -- work-done progress ------------------------------------------------------------

    async def create_progress(self, token: str) -> None:
        """``window/workDoneProgress/create``; raises if the client refuses."""

    def begin_progress(self, token: str, begin: types.WorkDoneProgressBegin) -> None: ...

    def report_progress(self, token: str, report: types.WorkDoneProgressReport) -> None: ...

    def end_progress(self, token: str, end: types.WorkDoneProgressEnd) -> None: ...

    # -- what the client supports ------------------------------------------------------

    def capability(self, *path: str) -> Any:
        """The client capability at ``path`` (attribute names), None where absent."""

    def supports_related_information(self) -> bool: ...

    def supports_progress(self) -> bool: ...

    def encoding(self) -> Encoding:
        """The position encoding agreed at ``initialize``."""


class FeatureHost(Client, Protocol):
    """Where a feature registers its handlers (pygls's decorators), and the client they
    answer: the server."""

    def feature(self, feature_name: str, options: Any | None = None) -> Callable[[F], F]: ...

    def command(self, command_name: str) -> Callable[[F], F]: ...

"""A ``Client`` (``heaplens.lsp.client``) that records what it is sent, for unit tests of
the parts the server hands a client to: the analyzer, the fix verifier, the features.
End-to-end tests run the real server over stdio instead."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lsprotocol import types

from heaplens.lsp.client import Encoded
from heaplens.positions import Encoding

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Published:
    uri: str
    diagnostics: tuple[types.Diagnostic, ...]
    version: int | None


@dataclass
class RecordingClient:
    related_information: bool = True
    progress: bool = False
    position_encoding: Encoding = "utf-16"
    capabilities: dict[tuple[str, ...], Any] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    statuses: list[tuple[str, str, str]] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)
    progress_sent: list[tuple[str, object]] = field(default_factory=list)
    refreshes: int = 0
    #: Set on every publish and status, for a test to wait on.
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def publish(self, uri: str, diagnostics: Sequence[Encoded], version: int | None) -> None:
        self.published.append(Published(uri, tuple(d for d, _ in diagnostics), version))
        self.changed.set()

    def send_status(self, state: str, directory: str = "", message: str = "") -> None:
        self.statuses.append((state, directory, message))
        self.changed.set()

    def log_info(self, message: str) -> None:
        self.messages.append(("info", message))

    def log_warning(self, message: str) -> None:
        self.messages.append(("warning", message))

    def show_error(self, message: str) -> None:
        self.messages.append(("error", message))

    def show_warning(self, message: str) -> None:
        self.messages.append(("show-warning", message))

    def refresh_inlay_hints(self) -> None:
        self.refreshes += 1

    async def create_progress(self, token: str) -> None:
        self.progress_sent.append(("create", token))

    def begin_progress(self, token: str, begin: types.WorkDoneProgressBegin) -> None:
        self.progress_sent.append(("begin", begin))

    def report_progress(self, token: str, report: types.WorkDoneProgressReport) -> None:
        self.progress_sent.append(("report", report))

    def end_progress(self, token: str, end: types.WorkDoneProgressEnd) -> None:
        self.progress_sent.append(("end", end))

    def capability(self, *path: str) -> Any:
        return self.capabilities.get(path)

    def supports_related_information(self) -> bool:
        return self.related_information

    def supports_progress(self) -> bool:
        return self.progress

    def encoding(self) -> Encoding:
        return self.position_encoding

    def last_for(self, uri: str) -> Published | None:
        return next((p for p in reversed(self.published) if p.uri == uri), None)

    async def until(self, condition: Callable[[], bool], timeout: float = 60) -> None:
        """Wait until ``condition`` holds, checked after each publish and status, and
        every few milliseconds (for a condition on the server's own state)."""

        async def wait() -> None:
            while not condition():
                self.changed.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), 0.02)

        await asyncio.wait_for(wait(), timeout)


@dataclass
class FeatureRecorder(RecordingClient):
    """A ``FeatureHost``: the handlers features register, by method (and command)."""

    features: dict[str, Callable[..., Any]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, Callable[..., Any]] = field(default_factory=dict)
    progress_cancels: dict[str, Any] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    #: Notifications of heaplens's own (``notify``), in order.
    notified: list[tuple[str, Any]] = field(default_factory=list)

    def notify(self, method: str, params: Any) -> None:
        self.notified.append((method, params))

    def feature(self, feature_name: str, options: Any | None = None) -> Callable[[F], F]:
        def register(handler: F) -> F:
            self.features[feature_name] = handler
            self.options[feature_name] = options
            return handler

        return register

    def command(self, command_name: str) -> Callable[[F], F]:
        def register(handler: F) -> F:
            self.commands[command_name] = handler
            return handler

        return register

    def scan_folders(self) -> list[str]:
        return list(self.folders)

"""When analyses run: debounced per package, cancelled by newer requests, bounded overall.

* A request for a package restarts that package's debounce timer.
* A request for a package that is being analysed cancels the running analysis (which
  kills its ``go`` process group); the new one starts when the old one has stopped, so a
  package never has two compiles at once.
* At most ``max_parallel`` analyses run at the same time.
* A shared run (a workspace scan) takes a slot like an analysis. Whoever asks for it
  while it is queued or running gets that run's result: five requests are one scan.

``cancel_all`` stops everything, shared runs included.

``on_idle`` is called whenever the last analysis due or running has ended (or been
cancelled): nothing is left to wait for.

Nothing here knows about LSP or the engine: a run is any coroutine taking a key and a
cancel token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..toolchain import CancelToken

log = logging.getLogger(__name__)

Runner = Callable[[str, CancelToken], Awaitable[None]]
T = TypeVar("T")


@dataclass
class _Running:
    task: asyncio.Task[Any]
    token: CancelToken


class Scheduler:
    def __init__(
        self,
        runner: Runner,
        max_parallel: int = 2,
        on_idle: Callable[[str], None] | None = None,
    ) -> None:
        self._runner = runner
        self._on_idle = on_idle
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._running: dict[str, _Running] = {}
        self._shared: dict[str, _Running] = {}
        self._limit = asyncio.Semaphore(max_parallel)
        self.started = 0

    def request(self, key: str, delay: float) -> None:
        """Analyse ``key`` after ``delay`` seconds of quiet."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        running = self._running.get(key)
        if running is not None:
            running.token.cancel()  # what it computes is already out of date
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(max(delay, 0.0), self._start, key)

    def _start(self, key: str) -> None:
        self._timers.pop(key, None)
        previous = self._running.get(key)
        token = CancelToken()
        task = asyncio.get_running_loop().create_task(self._run(key, token, previous))
        self._running[key] = _Running(task, token)

    async def _run(self, key: str, token: CancelToken, previous: _Running | None) -> None:
        try:
            if previous is not None:
                previous.token.cancel()
                with contextlib.suppress(BaseException):
                    await previous.task
            async with self._limit:
                if token.cancelled:
                    return
                self.started += 1
                await self._runner(key, token)
        except asyncio.CancelledError:
            token.cancel()
            raise
        except Exception:
            log.exception("analysis of %s failed", key)
        finally:
            current = self._running.get(key)
            if current is not None and current.token is token:
                del self._running[key]
            self._idle_now(key)

    def _idle_now(self, key: str) -> None:
        if self._on_idle is not None and not self._timers and not self._running:
            self._on_idle(key)

    def shared(self, key: str, run: Callable[[CancelToken], Awaitable[T]]) -> Awaitable[T]:
        """``run``'s result, from the run already queued or running for ``key`` if any.

        Each caller awaits the run through a shield: a caller that goes away does not
        cancel it for the others; ``cancel_all`` (shutdown) does, through its token.
        """
        current = self._shared.get(key)
        if current is None:
            token = CancelToken()
            task = asyncio.get_running_loop().create_task(self._run_shared(key, token, run))
            current = self._shared[key] = _Running(task, token)
        return asyncio.shield(current.task)

    async def _run_shared(
        self, key: str, token: CancelToken, run: Callable[[CancelToken], Awaitable[T]]
    ) -> T:
        try:
            async with self._limit:
                return await run(token)
        finally:
            del self._shared[key]

    async def shared_ended(self, timeout: float) -> None:
        """Wait, ``timeout`` seconds at most, until every shared run has ended (after
        ``cancel_all``: a cancelled scan still ends its progress and answers)."""
        tasks = [running.task for running in self._shared.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    def is_busy(self, key: str) -> bool:
        return key in self._timers or key in self._running

    @property
    def busy(self) -> bool:
        return bool(self._timers or self._running)

    def cancel_all(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for running in [*self._running.values(), *self._shared.values()]:
            running.token.cancel()
        self._idle_now("")  # cancelled before any started: nothing will end to say so

"""The scheduler on its own: a run is any coroutine, so each rule is seen directly.
Every wait is for an event a run sets, never a fixed sleep."""

from __future__ import annotations

import asyncio

from heaplens.lsp.scheduler import Scheduler
from heaplens.toolchain import CancelToken

TIMEOUT = 10


class Runs:
    """A runner that records each run, and holds it until told to finish."""

    def __init__(self) -> None:
        self.started: list[tuple[str, CancelToken]] = []
        self.finished: list[str] = []
        self.active = 0
        self.most_active = 0
        self.release = asyncio.Event()
        self._started = asyncio.Condition()

    async def __call__(self, key: str, token: CancelToken) -> None:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        async with self._started:
            self.started.append((key, token))
            self._started.notify_all()
        try:
            while not (self.release.is_set() or token.cancelled):
                await asyncio.sleep(0.001)  # polls the token, as a `go` run does
        finally:
            self.active -= 1
            self.finished.append(key)

    async def until_started(self, count: int) -> None:
        async with self._started:
            await asyncio.wait_for(
                self._started.wait_for(lambda: len(self.started) >= count), TIMEOUT
            )


async def _idle(scheduler: Scheduler) -> None:
    async def wait() -> None:
        while scheduler.busy:
            await asyncio.sleep(0.001)

    await asyncio.wait_for(wait(), TIMEOUT)


async def test_requests_within_the_debounce_are_one_run() -> None:
    runs = Runs()
    runs.release.set()
    scheduler = Scheduler(runs)
    scheduler.request("a", 30.0)  # would wait half a minute...
    scheduler.request("a", 0.0)  # ...but a newer request restarts the timer
    await runs.until_started(1)
    await _idle(scheduler)
    assert [key for key, _ in runs.started] == ["a"]
    assert not scheduler.is_busy("a")  # the first timer is gone, not merely later


async def test_a_newer_request_cancels_the_running_one_and_never_overlaps_it() -> None:
    runs = Runs()
    scheduler = Scheduler(runs)
    scheduler.request("a", 0.0)
    await runs.until_started(1)
    first = runs.started[0][1]
    scheduler.request("a", 0.0)
    assert first.cancelled  # what it computes is out of date already
    await runs.until_started(2)
    assert runs.finished == ["a"]  # the second started after the first had stopped
    assert runs.most_active == 1
    runs.release.set()
    await _idle(scheduler)
    assert not runs.started[1][1].cancelled


async def test_at_most_max_parallel_run_at_once() -> None:
    runs = Runs()
    scheduler = Scheduler(runs, max_parallel=2)
    for key in "abcd":
        scheduler.request(key, 0.0)
    await runs.until_started(2)
    assert runs.active == 2 and len(runs.started) == 2
    runs.release.set()
    await runs.until_started(4)
    await _idle(scheduler)
    assert runs.most_active == 2
    assert sorted(key for key, _ in runs.started) == list("abcd")


async def test_a_run_that_fails_is_logged_and_the_next_runs() -> None:
    seen: list[str] = []

    async def runner(key: str, _token: CancelToken) -> None:
        seen.append(key)
        if key == "bad":
            raise RuntimeError("a bug in one analysis")

    scheduler = Scheduler(runner)
    scheduler.request("bad", 0.0)
    await _idle(scheduler)
    scheduler.request("good", 0.0)
    await _idle(scheduler)
    assert seen == ["bad", "good"]


async def test_a_shared_run_is_one_run_for_every_caller() -> None:
    calls = 0
    release = asyncio.Event()

    async def scan(token: CancelToken) -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    scheduler = Scheduler(Runs())
    waiting = [asyncio.ensure_future(scheduler.shared("scan", scan)) for _ in range(5)]
    release.set()
    assert await asyncio.wait_for(asyncio.gather(*waiting), TIMEOUT) == [42] * 5
    assert calls == 1


async def test_a_caller_that_goes_away_does_not_cancel_the_shared_run() -> None:
    release = asyncio.Event()

    async def scan(token: CancelToken) -> str:
        await release.wait()
        return "done"

    scheduler = Scheduler(Runs())
    leaving = asyncio.ensure_future(scheduler.shared("scan", scan))
    staying = asyncio.ensure_future(scheduler.shared("scan", scan))
    await asyncio.sleep(0)
    leaving.cancel()
    release.set()
    assert await asyncio.wait_for(staying, TIMEOUT) == "done"


async def test_cancel_all_stops_analyses_timers_and_shared_runs() -> None:
    runs = Runs()
    scheduler = Scheduler(runs, max_parallel=3)
    tokens: list[CancelToken] = []
    ended = asyncio.Event()

    async def scan(token: CancelToken) -> bool:
        tokens.append(token)
        while not token.cancelled:
            await asyncio.sleep(0.001)
        ended.set()
        return True

    scheduler.request("a", 0.0)
    scheduler.request("later", 30.0)
    shared = asyncio.ensure_future(scheduler.shared("scan", scan))
    await runs.until_started(1)
    scheduler.cancel_all()
    assert runs.started[0][1].cancelled
    assert not scheduler.is_busy("later")  # its timer will never fire
    await asyncio.wait_for(scheduler.shared_ended(timeout=TIMEOUT), TIMEOUT)
    assert ended.is_set() and await shared is True
    await _idle(scheduler)
    assert [key for key, _ in runs.started] == ["a"]

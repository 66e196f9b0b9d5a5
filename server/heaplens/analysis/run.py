"""The running of one check: what its queries share (``Check``: toolchain, environment,
unsaved buffers, deadline, cancellation, progress), the threads that work while a
compiler runs (``Prefetch``), and the clock of time spent in ``go`` (``GoClock``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import toolchain
from .results import CheckResult, Stats
from .sources import Sources

if TYPE_CHECKING:
    from .classification import Classifier

Progress = Callable[[int, int, str], None]


@dataclass
class Check:
    """Everything one check shares between its queries."""

    go: toolchain.GoEnv
    env: dict[str, str]
    overlays: dict[str, bytes]
    overlay_file: str | None
    #: Each unsaved buffer's temporary copy, by the real path it stands for.
    buffers: dict[str, str]
    tmp: str
    deadline: toolchain.Deadline
    cancel: toolchain.CancelToken | None
    progress: Progress | None
    #: Called with the plain units' results while test binaries are still compiling.
    early: Callable[[CheckResult], None] | None
    result: CheckResult
    sources: Sources
    #: Finds the findings in a compiler's log, with the engine's cache of them.
    classifier: Classifier
    #: The engine's build flags (``Options.build_flags``).
    build_flags: tuple[str, ...] = ()
    #: TMPDIR of the go runs: their kept work directories (cgo output) land here.
    go_tmp: str = ""
    #: When the check began (time.time_ns, less a millisecond): inputs modified after it
    #: are not trusted to match the results.
    started_ns: int = 0
    #: The compiler that stops after escape analysis, for the plain units compiled
    #: directly (``stopped_compiler``); None for the full compile.
    stopped_compiler: str | None = None
    clock: GoClock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = GoClock(self.result.stats)

    def timed_go(self) -> AbstractContextManager[None]:
        return self.clock.running()

    def join(self, prefetch: Prefetch) -> None:
        """Wait for a prefetch (``Classifier.prefetch``): time spent waiting for it once the
        compiler is done is parsing, as if it had not been started early."""
        with self.timed_parse():
            prefetch.join()

    @contextmanager
    def timed_parse(self) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            with self.clock.lock:
                self.result.stats.parse_seconds += time.monotonic() - start


class Prefetch:
    """Work in a thread of its own while a compiler runs (``Classifier.prefetch``)."""

    def __init__(self, work: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=work, name="heaplens-prefetch", daemon=True)

    def start(self) -> None:
        if self._thread.ident is None:  # a second compile of the same unit: already going
            self._thread.start()

    def join(self) -> None:
        # Never started when the compiler could not be: then there is nothing to wait for.
        if self._thread.ident is not None:
            self._thread.join()


class GoClock:
    """Wall time during which at least one ``go`` or compiler process runs: runs in
    parallel threads overlap, and overlapping time is counted once."""

    def __init__(self, stats: Stats) -> None:
        self._stats = stats
        self.lock = threading.Lock()
        self._active = 0
        self._since = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        with self.lock:
            if self._active == 0:
                self._since = time.monotonic()
            self._active += 1
            self._stats.go_runs += 1
        try:
            yield
        finally:
            with self.lock:
                self._active -= 1
                if self._active == 0:
                    self._stats.go_seconds += time.monotonic() - self._since


def unmoved(paths: Iterable[str], since_ns: int) -> bool:
    """True when none of ``paths`` was modified at or after ``since_ns``."""
    for path in paths:
        try:
            if os.stat(path).st_mtime_ns >= since_ns:
                return False
        except OSError:
            continue
    return True


def write_overlay(tmp: str, overlays: Mapping[str, bytes]) -> tuple[str, dict[str, str]]:
    """Write unsaved buffers and the ``-overlay`` map, readable by the user only.

    Returns the map's file, and the map itself."""
    directory = os.path.join(tmp, "overlay")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    replace: dict[str, str] = {}
    for i, (path, data) in enumerate(sorted(overlays.items())):
        target = os.path.join(directory, f"{i}-{os.path.basename(path)}")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        replace[path] = target
    overlay = os.path.join(tmp, "overlay.json")
    fd = os.open(overlay, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"Replace": replace}, f)
    return overlay, replace

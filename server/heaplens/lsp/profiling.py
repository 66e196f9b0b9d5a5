"""The profiles of the ``profile`` setting, as the server holds them (issue 16).

It owns which files the setting's paths and globs match in each workspace folder, the
loaded ``Profiles`` (read in a worker thread: one ``go tool pprof`` run per file, never
on the loop), the join of each analysis's result to them (pure and fast, in the worker
thread that ran the analysis), what was said about them (each message once), and a
watch on the matched files and the folders they are looked for in, which reloads when
one is created, changed or removed. A profile that cannot be read is said, and the
server goes on without costs.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ..analysis import CheckResult
from ..profiles import ProfileError, Profiles, join, read_profiles
from ..toolchain import ToolchainError
from .client import Client, SettingsSource
from .presentation import ProfileLabels

log = logging.getLogger(__name__)
#: Events are gathered this long before a reload: `go test` creates, writes and closes
#: a profile in a burst of events, and one reload reads the finished file.
QUIET = 0.3
#: What identifies a loaded file's content without reading it.
Signature = tuple[tuple[str, int, int, int], ...]


def _magic(part: str) -> bool:
    return glob.has_magic(part)


def resolve(patterns: Sequence[str], folders: Sequence[str]) -> list[str]:
    """The files ``patterns`` match: each relative one in every folder, an absolute one
    as it is. ``**`` matches any depth. Sorted, each once, only regular files."""
    found: dict[str, None] = {}
    for pattern in patterns:
        expanded = os.path.expanduser(pattern)
        bases = [""] if os.path.isabs(expanded) else folders
        for base in bases:
            full = os.path.join(base, expanded)
            hits = glob.glob(full, recursive=True) if _magic(full) else [full]
            for hit in sorted(hits):
                if os.path.isfile(hit):
                    found.setdefault(os.path.abspath(hit), None)
    return list(found)


def watch_points(patterns: Sequence[str], folders: Sequence[str]) -> dict[str, bool]:
    """The directories to watch for ``patterns`` to match something new, and whether
    recursively: each pattern's longest directory without glob characters (or the
    nearest one of its parents that exists)."""
    points: dict[str, bool] = {}
    for pattern in patterns:
        expanded = os.path.expanduser(pattern)
        bases = [""] if os.path.isabs(expanded) else folders
        for base in bases:
            full = os.path.abspath(os.path.join(base, expanded))
            parts = full.split(os.sep)
            fixed = next((i for i, p in enumerate(parts) if _magic(p)), len(parts) - 1)
            directory = os.sep.join(parts[:fixed]) or os.sep
            # Glob characters in a directory, or ``**``: the match may be deeper down.
            deep = fixed < len(parts) - 1
            while not os.path.isdir(directory) and directory != os.path.dirname(directory):
                directory, deep = os.path.dirname(directory), True
            points[directory] = points.get(directory, False) or deep
    return points


def signature(paths: Iterable[str]) -> Signature:
    out = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        # The inode too: a profile moved into place may keep another's time and size.
        out.append((path, st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(out)


def labels_of(profiles: Profiles | None) -> ProfileLabels:
    """The basenames of the allocation and of the CPU profiles, as the hover says them."""
    if profiles is None:
        return ProfileLabels()
    names: dict[str, list[str]] = {"alloc": [], "cpu": []}
    for f in profiles.files:
        names.setdefault(f.kind, []).append(os.path.basename(f.path))
    return ProfileLabels(", ".join(names["alloc"]), ", ".join(names["cpu"]))


@dataclass(frozen=True)
class ProfileStatus:
    """What the status item says: the loaded profiles' label, or why there are none."""

    label: str = ""
    note: str = ""


class ProfileSource:
    """The loaded profiles of the ``profile`` setting, reloaded when it or they change.

    ``reload`` (on the loop) reads them in ``executor``; an analysis awaits ``ready``
    and joins its result in its worker thread with ``join``. ``on_loaded`` is told when
    what is loaded changed, to analyse the open packages again (from the cache) and so
    republish them with the new costs."""

    def __init__(
        self,
        client: Client,
        settings: SettingsSource,
        folders: Callable[[], Sequence[str]],
        executor: Executor,
        environment: Callable[[], tuple[str, Mapping[str, str]]],
    ) -> None:
        self._client = client
        self._settings = settings
        self._folders = folders
        self._executor = executor
        self._environment = environment
        self.profiles: Profiles | None = None
        self.status = ProfileStatus()
        self._loaded: Signature = ()
        self._failed: str | None = None
        self._shown: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._watch: _Watch | None = None
        self._later: asyncio.TimerHandle | None = None
        self._stopped = False
        self.loads = 0
        self.on_loaded: Callable[[], None] = lambda: None

    @property
    def labels(self) -> ProfileLabels:
        return labels_of(self.profiles)

    # -- loading -----------------------------------------------------------------------

    def reload(self) -> None:
        """Read the profiles again, soon, in a worker (one load at a time: a reload asked
        for while one runs runs after it)."""
        if self._stopped:
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._load_until_current())

    async def ready(self) -> None:
        """Wait for a load under way, so an analysis joins what it loads."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.shield(task)

    async def _load_until_current(self) -> None:
        self._again = True
        while self._again and not self._stopped:
            self._again = False
            try:
                await self._load()
            except Exception as error:  # never the end of the server: no costs, said
                log.exception("loading profiles failed")
                self._client.log_warning(f"could not load the profiles: {error}")

    async def _load(self) -> None:
        settings = self._settings()
        # An untrusted workspace runs no go at all, and so no `go tool pprof` either.
        patterns = list(settings.profile) if settings.workspaceTrusted else []
        folders = list(self._folders())
        loop = asyncio.get_running_loop()
        paths = await loop.run_in_executor(self._executor, resolve, patterns, folders)
        self._rewatch(patterns, folders)
        current = signature(paths)
        if current == self._loaded and self._failed is None:
            # An event that changed nothing the profiles are read from.
            self.status = self._status_of(patterns, paths, self.profiles, None)
            return
        profiles: Profiles | None = None
        failed: str | None = None
        if paths:
            try:
                go, env = self._environment()
                profiles = await loop.run_in_executor(self._executor, read_profiles, paths, go, env)
            except (ProfileError, ToolchainError) as error:
                failed = str(error)
        # Not by comparing the profiles: their samples are many, and this runs on the loop.
        changed = current != self._loaded or (profiles is None) != (self.profiles is None)
        self.profiles, self._failed, self._loaded = profiles, failed, current
        self._shown.clear()  # new profiles: their warnings are new too
        self.status = self._status_of(patterns, paths, profiles, failed)
        self.loads += 1
        if failed is not None:
            self.warn([failed])
        if profiles is not None:
            self._client.log_info(f"profiles loaded: {profiles.label} ({', '.join(paths)})")
        elif patterns and not paths:
            self._client.log_info(f"no file matches the profile setting {patterns!r}")
        if changed:
            self.on_loaded()

    @staticmethod
    def _status_of(
        patterns: Sequence[str], paths: Sequence[str], profiles: Profiles | None, failed: str | None
    ) -> ProfileStatus:
        if profiles is not None:
            return ProfileStatus(profiles.label)
        if failed is not None:
            return ProfileStatus("", f"no profile loaded: {failed}")
        if patterns and not paths:
            return ProfileStatus("", "no file matches the profile setting")
        return ProfileStatus()

    # -- joining (worker thread) ---------------------------------------------------------

    def join(self, result: CheckResult) -> tuple[CheckResult, tuple[str, ...]]:
        """``result`` with each finding's cost and hotness from the loaded profiles, and
        what the join warns about (a profile of other code, an older one). Safe in a
        worker thread: it reads one attribute, replaced whole by a load."""
        profiles = self.profiles
        if profiles is None:
            return result, ()
        joined, report = join(result, profiles)
        return joined, tuple(report.warnings)

    def warn(self, messages: Iterable[str]) -> None:
        """Each message once (a pop-up and the log) until the profiles are loaded again."""
        for message in messages:
            if message in self._shown:
                continue
            self._shown.add(message)
            self._client.show_warning(f"heaplens: {message}")

    # -- watching ------------------------------------------------------------------------

    def _rewatch(self, patterns: Sequence[str], folders: Sequence[str]) -> None:
        points = watch_points(patterns, folders)
        if self._watch is not None and self._watch.points == points:
            return
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        if not points:
            return
        loop = asyncio.get_running_loop()

        def changed() -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._changed_on_disk)

        try:
            self._watch = _Watch(points, changed)
        except Exception as e:  # no inotify, too many watches: a setting change reloads
            self._client.log_warning(f"not watching the profiles: {e}")

    def _changed_on_disk(self) -> None:
        if self._later is not None:
            self._later.cancel()
        self._later = asyncio.get_running_loop().call_later(QUIET, self.reload)

    def stop(self) -> None:
        self._stopped = True
        if self._later is not None:
            self._later.cancel()
        if self._watch is not None:
            self._watch.stop()
            self._watch = None


class _Watch(FileSystemEventHandler):
    """A watchdog observer on the directories profiles are looked for in; any change of
    a file there may be a profile coming, changing or going (``_load`` tells)."""

    def __init__(self, points: dict[str, bool], on_change: Callable[[], None]) -> None:
        self.points = points
        self._on_change = on_change
        self._observer = Observer()
        self._observer.daemon = True
        for directory, recursive in points.items():
            self._observer.schedule(self, directory, recursive=recursive)
        self._observer.start()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write") or event.is_directory:
            return
        self._on_change()

    def stop(self) -> None:
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout=2)

"""Files changed outside the editor: git checkout, code generation, go.mod edits.

One watchdog observer watches each searchable workspace folder (``roots``) with one
recursive watch. On Linux all of them share one inotify instance, so the threads are a
handful however big the tree is: the observer's, the inotify reader's and one per
folder. watchdog offers no way to leave directories out of a recursive watch, so events
from where no source the user means can change are dropped as they come: version-control
and hidden directories, ``node_modules``, ``testdata``, the module cache, and ``vendor``
unless the module builds from it. Events are gathered for a moment, then every open
package is re-analysed; the cache makes that cheap for packages the change does not
touch, and exact for those that import a changed package.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ..workspace import SKIP_DIRS
from .roots import searchable

if TYPE_CHECKING:
    from .server import HeaplensServer

log = logging.getLogger(__name__)
BUILD_FILES = frozenset({"go.mod", "go.sum", "go.work", "go.work.sum"})
QUIET = 0.2


def relevant(path: str) -> bool:
    name = os.path.basename(path)
    return name.endswith(".go") or name in BUILD_FILES


def module_caches(env: Mapping[str, str]) -> list[str]:
    """Where the go command keeps downloaded modules: GOMODCACHE, and each GOPATH
    entry's pkg/mod (the default when GOMODCACHE is unset)."""
    gopath = env.get("GOPATH") or os.path.join(os.path.expanduser("~"), "go")
    caches = [os.path.join(entry, "pkg", "mod") for entry in gopath.split(os.pathsep) if entry]
    if env.get("GOMODCACHE"):
        caches.append(env["GOMODCACHE"])
    return [os.path.abspath(c) for c in caches]


def vendor_in_use(vendor: str) -> bool:
    """Whether the go command builds from this ``vendor`` directory: it sits next to a
    go.mod or go.work and holds the modules.txt that ``go mod vendor`` writes (without
    it, the go command refuses vendor mode)."""
    parent = os.path.dirname(vendor)
    return os.path.isfile(os.path.join(vendor, "modules.txt")) and any(
        os.path.isfile(os.path.join(parent, name)) for name in ("go.mod", "go.work")
    )


class Watcher(FileSystemEventHandler):
    def __init__(
        self, roots: list[str], caches: Iterable[str], on_change: Callable[[set[str]], None]
    ) -> None:
        # The real paths: inotify would watch a symlink itself, not the folder it names,
        # and events come in the names watched. Open packages are re-analysed whatever
        # the name, so nothing maps them back.
        self._roots = [os.path.realpath(r) for r in roots]
        self._caches = tuple(c.rstrip(os.sep) + os.sep for c in caches)
        self._on_change = on_change
        self._observer = Observer()
        self._observer.daemon = True
        self._pending: set[str] = set()
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        for root in self._roots:
            self._observer.schedule(self, root, recursive=True)
        self._observer.start()
        log.info("watching %s", ", ".join(self._roots))

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout=2)

    def ignored(self, path: str, is_directory: bool = False) -> bool:
        """Whether a change at ``path`` is one no analysis can see."""
        if path.startswith(self._caches):
            return True
        root = next((r for r in self._roots if path.startswith(r.rstrip(os.sep) + os.sep)), None)
        if root is None:
            return False
        directory = root
        names = os.path.relpath(path, root).split(os.sep)
        for name in names if is_directory else names[:-1]:
            directory = os.path.join(directory, name)
            if name == "vendor":
                if not vendor_in_use(directory):
                    return True
            elif name in SKIP_DIRS or name.startswith((".", "_")):
                return True
        return False

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = [os.fsdecode(event.src_path)]
        if getattr(event, "dest_path", None):
            paths.append(os.fsdecode(event.dest_path))
        paths = [p for p in paths if not self.ignored(p, event.is_directory)]
        changed = False
        for path in paths:
            if event.is_directory:
                # A directory created, moved or deleted: files in it came or went.
                changed = changed or event.event_type in ("created", "moved", "deleted")
            elif relevant(path) and event.event_type not in ("opened", "closed_no_write"):
                changed = True
        if not changed:
            return
        with self._lock:
            self._pending.update(paths)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(QUIET, self._flush)
            self._timer.daemon = True
            self._timer.start()

    def _flush(self) -> None:
        with self._lock:
            paths, self._pending = self._pending, set()
            self._timer = None
        if paths:
            self._on_change(paths)


def start(server: HeaplensServer, env: Mapping[str, str]) -> Watcher | None:
    """Watch the searchable workspace folders (for the go command's environment
    ``env``); changes re-analyse the open packages."""
    roots = searchable(server, env)
    if not roots:
        return None

    def on_change(paths: set[str]) -> None:
        loop = server.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(server.files_changed, paths)

    try:
        watcher = Watcher(roots, module_caches(env), on_change)
        watcher.start()
    except Exception as e:  # no inotify, too many watches: editing still works
        server.log_warning(f"not watching files on disk: {e}")
        return None
    return watcher

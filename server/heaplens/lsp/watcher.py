"""Files changed outside the editor: git checkout, code generation, go.mod edits.

watchdog watches each source directory of the workspace on its own (not recursively), so
``.git``, ``node_modules``, ``vendor``, ``testdata`` and hidden directories are never
watched at all, rather than watched and filtered: a big tree costs one watch per source
directory and no CPU while idle. New directories are added as they appear. Events are
gathered for a moment, then every open package is re-analysed; the cache makes that
cheap for packages the change does not touch, and exact for those that import a changed
package.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ..workspace import SKIP_DIRS
from .convert import uri_to_path

if TYPE_CHECKING:
    from .server import HeaplensServer

log = logging.getLogger(__name__)
BUILD_FILES = frozenset({"go.mod", "go.sum", "go.work", "go.work.sum"})
MAX_WATCHED_DIRS = 20000
QUIET = 0.2


def _skip(name: str) -> bool:
    return name in SKIP_DIRS or name.startswith((".", "_"))


def relevant(path: str) -> bool:
    name = os.path.basename(path)
    return name.endswith(".go") or name in BUILD_FILES


class Watcher(FileSystemEventHandler):
    def __init__(self, roots: list[str], on_change: Callable[[set[str]], None]) -> None:
        self._roots = roots
        self._on_change = on_change
        self._observer = Observer()
        self._observer.daemon = True
        self._watched: set[str] = set()
        self._pending: set[str] = set()
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        for root in self._roots:
            self._watch_tree(root)
        self._observer.start()
        log.info("watching %d directories", len(self._watched))

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout=2)

    def _watch_tree(self, top: str) -> None:
        for dirpath, dirnames, _files in os.walk(top):
            dirnames[:] = [d for d in dirnames if not _skip(d)]
            if len(self._watched) >= MAX_WATCHED_DIRS:
                log.warning("more than %d directories; not watching the rest", MAX_WATCHED_DIRS)
                return
            if dirpath not in self._watched:
                try:
                    self._observer.schedule(self, dirpath, recursive=False)
                    self._watched.add(dirpath)
                except OSError as e:
                    log.debug("cannot watch %s: %s", dirpath, e)

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = [os.fsdecode(event.src_path)]
        if getattr(event, "dest_path", None):
            paths.append(os.fsdecode(event.dest_path))
        changed = False
        for path in paths:
            if event.is_directory:
                if event.event_type in ("created", "moved") and not _skip(os.path.basename(path)):
                    if os.path.isdir(path):
                        self._watch_tree(path)
                    changed = True
                elif event.event_type == "deleted":
                    changed = True
            elif (
                relevant(path)
                and event.event_type != "opened"
                and event.event_type != "closed_no_write"
            ):
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


def start(server: HeaplensServer) -> Watcher | None:
    """Watch the workspace folders; changes re-analyse the open packages."""
    folders = [uri_to_path(f.uri) for f in server.workspace.folders.values()]
    if not folders and server.workspace.root_uri:
        folders = [uri_to_path(server.workspace.root_uri)]
    roots = [f for f in folders if f and os.path.isdir(f)]
    if not roots:
        return None

    def on_change(paths: set[str]) -> None:
        loop = server.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(server.files_changed, paths)

    try:
        watcher = Watcher(roots, on_change)
        watcher.start()
    except Exception as e:  # no inotify, too many watches: editing still works
        server.log_warning(f"not watching files on disk: {e}")
        return None
    return watcher

"""Per-package pause and resume: the ``exclude`` setting and the commands that edit it.

``exclude`` holds globs of package directories, relative to each workspace folder (or
absolute): ``internal/gen``, ``vendor/**``. ``*`` stays within one path segment, ``**``
spans any number of them. A package whose directory matches is not analysed, shows no
diagnostics, and is left out of workspace scans and of ``heaplens.listFindings``.

The commands ``heaplens.pause`` and ``heaplens.resume`` answer the list the setting should
hold afterwards; they change nothing themselves. Settings belong to the client, which
writes the list where the user keeps settings and sends it back with
``didChangeConfiguration``: one way in for a change, whoever made it.

Registered with the analyzer (which knows the workspace folders) and the settings.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .client import FeatureHost, SettingsSource
from .convert import NotAFile, uri_to_path

PAUSE = "heaplens.pause"
RESUME = "heaplens.resume"
#: The client's commands (VS Code registers them; Neovim's config handles them): what a
#: code action runs, so that the client writes the new list to its settings.
CLIENT_PAUSE = "heaplens.pausePackage"
CLIENT_RESUME = "heaplens.resumePackage"
#: The workspace folders now, where relative patterns start.
Folders = Callable[[], Sequence[str]]


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    """A glob of a directory as a regular expression over its whole ``/`` path."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            # "a/**" is a and everything under it; "**/gen" is gen at any depth.
            if pattern.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
                continue
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    text = "".join(out)
    if text.endswith("/.*"):  # "vendor/**" matches vendor itself too
        text = text[: -len("/.*")] + "(?:/.*)?"
    return re.compile(text + r"\Z")


def _posix(path: str) -> str:
    return os.path.normpath(path).replace(os.sep, "/")


def _anchored(pattern: str, folders: Sequence[str]) -> list[str]:
    """The absolute globs a pattern stands for: itself if absolute, else one per folder."""
    pattern = pattern.strip().rstrip("/") or "."
    if os.path.isabs(pattern):
        return [_posix(pattern)]
    return [_posix(os.path.join(folder, pattern)) for folder in folders]


def matches(directory: str, pattern: str, folders: Sequence[str]) -> bool:
    """Whether the package directory ``directory`` matches one ``exclude`` pattern."""
    target = _posix(directory)
    return any(_regex(glob).match(target) for glob in _anchored(pattern, folders))


def is_paused(directory: str, patterns: Iterable[str], folders: Sequence[str]) -> bool:
    return any(matches(directory, p, folders) for p in patterns)


def pattern_for(directory: str, folders: Sequence[str]) -> str:
    """How the setting names ``directory``: relative to the innermost workspace folder
    holding it ("." for the folder itself), absolute when no folder does."""
    target = os.path.normpath(directory)
    best: str | None = None
    for folder in folders:
        root = os.path.normpath(folder)
        if (target == root or target.startswith(root.rstrip(os.sep) + os.sep)) and (
            best is None or len(root) > len(best)
        ):
            best = root
    if best is None:
        return _posix(target)
    return _posix(os.path.relpath(target, best))


def paused_list(patterns: Sequence[str], directory: str, folders: Sequence[str]) -> list[str]:
    """``patterns`` with ``directory`` paused (unchanged if it already is)."""
    if is_paused(directory, patterns, folders):
        return list(patterns)
    return [*patterns, pattern_for(directory, folders)]


def resumed_list(patterns: Sequence[str], directory: str, folders: Sequence[str]) -> list[str]:
    """``patterns`` without every pattern that pauses ``directory``. A glob such as
    ``vendor/**`` goes as a whole: the package could not be resumed otherwise."""
    return [p for p in patterns if not matches(directory, p, folders)]


def _directory_of(args: Sequence[Any]) -> str | None:
    """The package directory named by a command's arguments: ``[{"uri": ...}]`` (the
    contract) or ``["file:///..."]`` (a code action's, as clients pass it on)."""
    if not args:
        return None
    first = args[0]
    uri = first.get("uri") if isinstance(first, dict) else first
    if not isinstance(uri, str):
        return None
    try:
        path = uri_to_path(uri)
    except NotAFile:
        return None
    return path if os.path.isdir(path) else os.path.dirname(path)


def register(server: FeatureHost, folders: Folders, settings: SettingsSource) -> None:
    def answer(args: Sequence[Any], pause: bool) -> dict[str, Any] | None:
        directory = _directory_of(args)
        if directory is None:
            server.log_warning("pause/resume: expected [{'uri': 'file:///...'}]")
            return None
        roots = folders()
        current = settings().exclude
        new = (paused_list if pause else resumed_list)(current, directory, roots)
        return {
            "directory": directory,
            "pattern": pattern_for(directory, roots),
            "exclude": new,
        }

    @server.command(PAUSE)
    def pause(*args: Any) -> dict[str, Any] | None:
        return answer(_flatten(args), True)

    @server.command(RESUME)
    def resume(*args: Any) -> dict[str, Any] | None:
        return answer(_flatten(args), False)


def _flatten(args: Sequence[Any]) -> Sequence[Any]:
    # pygls spreads a command's arguments; a client that wrapped them in a list is
    # understood too.
    if len(args) == 1 and isinstance(args[0], list):
        return list(args[0])
    return args

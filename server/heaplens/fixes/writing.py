"""Writing fixed files to disk without losing anything (``heaplens fix --write``).

A fix is computed on a file's text as heaplens read it. Before anything is written, every
file is checked:

* it still holds that text: the user may have saved an edit while the fixes were being
  verified, and that edit must not be overwritten;
* it is a file of the workspace: a symlink (or a symlinked package directory) leading out
  of the module is never written through;
* it can be written (not read-only, its directory writable).

The fixes of one package were verified together, each on the text the others left, so a
package is written whole or not at all: one file that fails the checks skips all of its
package's files, with the reason. Each file is then replaced atomically (a temporary file
in the same directory, renamed over it) with the file's mode kept; a symlink inside the
workspace is followed, so the link stays a link.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..workspace import find_up


@dataclass
class Written:
    files: list[str] = field(default_factory=list)
    #: (file, why) for each file left as it was.
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _refusal(path: str, before: bytes) -> str | None:
    """Why ``path`` must not be written, or None."""
    module = find_up(os.path.dirname(os.path.abspath(path)), "go.mod")
    target = os.path.realpath(path)
    if module is not None and not _within(target, os.path.realpath(module)):
        return f"it leads out of the module, to {target}; not written through a symlink"
    try:
        with open(target, "rb") as f:
            now = f.read()
    except OSError as e:
        return f"it cannot be read: {e.strerror or e}"
    if now != before:
        return "it changed after heaplens read it; your edit is kept, run fix again"
    # By its mode as well as by access(): root may write anything, but a file or a
    # directory someone made read-only is not for heaplens to overwrite.
    if not _writable(target):
        return "it is read-only"
    if not _writable(os.path.dirname(target)):
        return "its directory is not writable"
    return None


def _writable(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IWUSR) and os.access(path, os.W_OK)


def write_fixed(files: Mapping[str, tuple[bytes, bytes]]) -> Written:
    """Write ``after`` over each file that still holds ``before`` (see the module doc)."""
    out = Written()
    by_package: dict[str, list[str]] = {}
    for path in sorted(files):
        by_package.setdefault(os.path.dirname(path), []).append(path)
    for paths in by_package.values():
        refusals = {p: why for p in paths if (why := _refusal(p, files[p][0])) is not None}
        if refusals:
            for p in paths:
                why = refusals.get(p) or "another file of its package could not be written"
                out.skipped.append((p, why))
            continue
        for p in paths:
            try:
                _replace(os.path.realpath(p), files[p][1])
            except OSError as e:
                out.skipped.append((p, f"writing it failed: {e.strerror or e}"))
            else:
                out.files.append(p)
    return out


def _replace(target: str, data: bytes) -> None:
    """Atomically replace ``target`` with ``data``, keeping its permission bits."""
    mode = stat.S_IMODE(os.stat(target).st_mode)
    directory = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".heaplens-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

"""Text edits on Go source: apply them, gofmt the result, and express it as minimal hunks.

Fixes describe their change as byte-range replacements on one file. ``finish`` applies
them, runs the toolchain's own ``gofmt`` over the result (so the file is gofmt-clean
afterwards, by the formatter's definition, not ours), and turns original → formatted into
a few small edits, which is what editors and ``--diff`` show.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..model import Position, Range
from ..positions import line_offsets
from ..toolchain import Deadline, ProgramNotFound, TimedOut, look_path


@dataclass(frozen=True, order=True)
class Edit:
    """Replace bytes ``[start, end)`` of a file with ``text``."""

    start: int
    end: int
    text: str


class FormatError(Exception):
    """gofmt refused the edited file: the fix produced invalid Go."""


def apply(source: bytes, edits: Iterable[Edit]) -> bytes:
    out = source
    for e in sorted(edits, reverse=True):
        out = out[: e.start] + e.text.encode() + out[e.end :]
    return out


def gofmt(source: bytes, goroot: str, deadline: Deadline | None = None) -> bytes:
    """Format with the toolchain's gofmt; raise FormatError if it cannot parse the code.

    gofmt gets 30 s, or what is left of ``deadline`` when that is less: the command's
    ``--timeout`` bounds it like every other run (``toolchain.TimedOut`` past it).
    """
    try:
        # Never a gofmt from an empty, `.` or relative PATH entry (the workspace's).
        binary = os.path.join(goroot, "bin", "gofmt") if goroot else look_path("gofmt")
    except ProgramNotFound as e:
        raise FormatError(str(e)) from e
    limit = 30.0
    left = deadline.remaining() if deadline is not None else None
    if deadline is not None and left is not None:
        deadline.check("gofmt")
        limit = min(limit, left)
    try:
        proc = subprocess.run(
            [binary], input=source, capture_output=True, timeout=limit, check=False
        )
    except subprocess.TimeoutExpired as e:
        if deadline is not None and deadline.seconds is not None and limit < 30.0:
            raise TimedOut("gofmt", deadline.seconds) from e
        raise FormatError(f"gofmt could not run: {e}") from e
    except OSError as e:
        raise FormatError(f"gofmt could not run: {e}") from e
    if proc.returncode != 0:
        raise FormatError(proc.stderr.decode("utf-8", "replace").strip())
    return proc.stdout


def minimal_edits(before: bytes, after: bytes) -> list[Edit]:
    """Line-level hunks that turn ``before`` into ``after``."""
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    offsets = [0]
    for line in a:
        offsets.append(offsets[-1] + len(line))
    edits = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(Edit(offsets[i1], offsets[i2], b"".join(b[j1:j2]).decode("utf-8", "replace")))
    return edits


def finish(
    source: bytes, edits: Sequence[Edit], goroot: str, deadline: Deadline | None = None
) -> tuple[bytes, list[Edit]]:
    """The fixed file and the minimal edits that produce it: gofmt-clean when the file
    was. In a file that was not, gofmt would also rewrite code the fix never touched (a
    ``//go:build`` line added above ``// +build``, imports re-sorted, comments realigned),
    and moving lines that way breaks tests that assert on them: there the edits are
    applied as they are, and gofmt only checks that the result parses."""
    bom = source.startswith(_BOM)
    crlf = b"\r\n" in source and source.count(b"\n") == source.count(b"\r\n")
    if bom or crlf:
        # gofmt writes LF: the fix is made on the plain text, then given the file's own
        # line endings and byte order mark back, so no other line changes.
        plain, moved = _plain(source, edits, bom=bom, crlf=crlf)
        fixed, _ = finish(plain, moved, goroot, deadline)
        if crlf:
            fixed = fixed.replace(b"\n", b"\r\n")
        if bom:
            fixed = _BOM + fixed
        return fixed, minimal_edits(source, fixed)
    edited = apply(source, edits)
    fixed = gofmt(edited, goroot, deadline)
    if not _formatted(source, goroot, deadline):
        fixed = edited
    return fixed, minimal_edits(source, fixed)


_BOM = b"\xef\xbb\xbf"


def _plain(
    source: bytes, edits: Sequence[Edit], *, bom: bool, crlf: bool
) -> tuple[bytes, list[Edit]]:
    """``source`` without its byte order mark and with LF line endings, and ``edits``
    moved to match."""
    text = source[len(_BOM) :] if bom else source
    shift = len(_BOM) if bom else 0

    def at(offset: int) -> int:
        o = max(offset - shift, 0)
        return o - text.count(b"\r\n", 0, o) if crlf else o

    plain = text.replace(b"\r\n", b"\n") if crlf else text
    moved = [Edit(at(e.start), at(e.end), e.text.replace("\r\n", "\n")) for e in edits]
    return plain, moved


#: Whether a file's text is gofmt-clean, by its hash: fixes of one file ask repeatedly.
_CLEAN: dict[str, bool] = {}


def _formatted(source: bytes, goroot: str, deadline: Deadline | None) -> bool:
    key = hashlib.sha256(source).hexdigest()
    known = _CLEAN.get(key)
    if known is None:
        try:
            known = gofmt(source, goroot, deadline) == source
        except FormatError:
            known = False
        if len(_CLEAN) > 4096:
            _CLEAN.clear()
        _CLEAN[key] = known
    return known


def to_range(source: bytes, edit: Edit) -> Range:
    """An edit's span as model positions (1-based lines, 1-based byte columns)."""
    offsets = line_offsets(source)

    def pos(offset: int) -> Position:
        import bisect

        i = bisect.bisect_right(offsets, offset) - 1
        return Position(i + 1, offset - offsets[i] + 1)

    return Range(pos(edit.start), pos(edit.end))


def unified_diff(path: str, before: bytes, after: bytes, label: str = "") -> str:
    a = before.decode("utf-8", "replace").splitlines(keepends=True)
    b = after.decode("utf-8", "replace").splitlines(keepends=True)
    name = label or path
    return "".join(difflib.unified_diff(a, b, f"a/{name}", f"b/{name}"))

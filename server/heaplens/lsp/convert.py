"""Model positions (1-based lines, 1-based byte columns) ↔ LSP positions (0-based lines,
columns in the negotiated encoding). Column arithmetic is ``heaplens.positions``'s; this
module only applies it to lines and LSP types.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from lsprotocol import types

from ..model import Position, Range
from ..positions import Encoding, LineIndex

#: A text's lines with their column index: build one per text and convert through it.
LineLookup = LineIndex


def encoding_of(kind: object) -> Encoding:
    value = getattr(kind, "value", kind)
    if value == "utf-8":
        return "utf-8"
    if value == "utf-32":
        return "utf-32"
    return "utf-16"


class NotAFile(ValueError):
    """A URI that names no local file: another scheme (``untitled:``), another host, or
    text no file name can be (a NUL, a broken escape). The message says which."""


# RFC 3986: a "%" always starts an escape of two hex digits.
_BROKEN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def uri_to_path(uri: str) -> str:
    """The absolute path a ``file:`` URI names, or ``NotAFile``.

    Every URI the client sends goes through here, so a name no file can have is refused
    once, for its own document, instead of reaching ``open`` or ``go`` with every later
    analysis (the text of open buffers is read on each one).
    """
    if any(ord(c) < 0x20 or c == "\x7f" for c in uri):
        raise NotAFile("it contains a control character")
    parsed = urlsplit(uri)
    if parsed.scheme != "file":
        raise NotAFile(f"the scheme is {parsed.scheme or 'missing'}, not file")
    if parsed.netloc not in ("", "localhost"):
        raise NotAFile(f"it names the host {parsed.netloc!r}")
    if parsed.query or parsed.fragment:
        raise NotAFile("it has a query or a fragment")
    if _BROKEN_ESCAPE.search(parsed.path):
        raise NotAFile("it has a % that starts no escape")
    raw = unquote_to_bytes(parsed.path)
    if b"\0" in raw:
        raise NotAFile("it contains a NUL byte")
    try:
        path = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotAFile("its escapes are not UTF-8") from None
    if not path.startswith("/"):
        raise NotAFile("its path is not absolute")
    return os.path.normpath(path)


@lru_cache(maxsize=4096)
def path_to_uri(path: str) -> str:
    # Every flow step of every diagnostic names a file, mostly the same few: pathlib's
    # parsing, once per step, was a visible share of a publish.
    return Path(path).as_uri()


def lines_of(text: bytes) -> LineLookup:
    """1-based line lookup over a text, without its line ending. An open document has
    one already, for its current version: ``DocumentStore.lines``."""
    return LineIndex(text)


def to_lsp_position(lines: LineLookup, pos: Position, encoding: Encoding) -> types.Position:
    line = max(pos.line, 1)
    character = lines.to_units(line, max(pos.column - 1, 0), encoding)
    return types.Position(line=line - 1, character=character)


def to_lsp_range(lines: LineLookup, rng: Range, encoding: Encoding) -> types.Range:
    return types.Range(
        start=to_lsp_position(lines, rng.start, encoding),
        end=to_lsp_position(lines, rng.end, encoding),
    )


def from_lsp_position(lines: LineLookup, pos: types.Position, encoding: Encoding) -> Position:
    line = pos.line + 1
    return Position(line, lines.to_byte(line, pos.character, encoding) + 1)


def from_lsp_range(lines: LineLookup, rng: types.Range, encoding: Encoding) -> Range:
    return Range(
        from_lsp_position(lines, rng.start, encoding), from_lsp_position(lines, rng.end, encoding)
    )

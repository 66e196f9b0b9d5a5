"""Model positions (1-based lines, 1-based byte columns) ↔ LSP positions (0-based lines,
columns in the negotiated encoding). Column arithmetic is ``heaplens.positions``'s; this
module only applies it to lines and LSP types.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

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


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return ""
    return os.path.normpath(unquote(parsed.path))


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

"""The one place that converts between Go's byte columns and editor column units.

The Go toolchain counts columns in bytes of UTF-8. LSP clients count in UTF-16 code units
by default, or UTF-8 bytes, or UTF-32 code points when negotiated. Columns here are
0-based offsets within one line (the LSP convention); callers convert from the 1-based
columns of the model by subtracting one.

Lines are given as ``bytes`` so that a column that falls inside a multi-byte character, or
a line that is not valid UTF-8, is handled deterministically instead of raising.
"""

from __future__ import annotations

from typing import Literal

Encoding = Literal["utf-8", "utf-16", "utf-32"]
ENCODINGS: tuple[Encoding, ...] = ("utf-8", "utf-16", "utf-32")


def _widths(line: bytes, encoding: Encoding) -> list[tuple[int, int]]:
    """(bytes, units) of each character of ``line``.

    Invalid UTF-8 decodes byte by byte (``surrogateescape``), and each such byte counts as
    one unit: editors show it as one replacement character.
    """
    out = []
    for ch in line.decode("utf-8", "surrogateescape"):
        nbytes = len(ch.encode("utf-8", "surrogateescape"))
        if encoding == "utf-8":
            units = nbytes
        elif encoding == "utf-16":
            units = 2 if ord(ch) > 0xFFFF else 1
        else:
            units = 1
        out.append((nbytes, units))
    return out


def byte_to_units(line: bytes, byte_offset: int, encoding: Encoding) -> int:
    """Convert a 0-based byte offset in ``line`` into ``encoding`` units.

    An offset past the end of the line is clamped to the line's length. An offset inside a
    multi-byte character counts as the start of that character.
    """
    if encoding == "utf-8":
        return max(0, min(byte_offset, len(line)))
    if line.isascii():
        return max(0, min(byte_offset, len(line)))
    seen_bytes = 0
    units = 0
    for nbytes, width in _widths(line, encoding):
        if seen_bytes + nbytes > byte_offset:
            break
        seen_bytes += nbytes
        units += width
    return units


def units_to_byte(line: bytes, units: int, encoding: Encoding) -> int:
    """Convert a 0-based offset in ``encoding`` units into a byte offset in ``line``.

    An offset past the end of the line is clamped. An offset inside a character (the
    middle of a surrogate pair, say) rounds down to the start of that character.
    """
    if encoding == "utf-8" or line.isascii():
        return max(0, min(units, len(line)))
    seen_units = 0
    offset = 0
    for nbytes, width in _widths(line, encoding):
        if seen_units + width > units:
            break
        seen_units += width
        offset += nbytes
    return offset


def line_at(text: bytes, line: int) -> bytes:
    """Return the bytes of 1-based ``line`` of ``text`` without its line ending."""
    if line < 1:
        return b""
    start = 0
    for _ in range(line - 1):
        nl = text.find(b"\n", start)
        if nl < 0:
            return b""
        start = nl + 1
    end = text.find(b"\n", start)
    chunk = text[start:] if end < 0 else text[start:end]
    return chunk[:-1] if chunk.endswith(b"\r") else chunk


class LineIndex:
    """The lines of one text, found once, so each lookup is O(1): a file with thousands
    of findings is converted in linear time, not quadratic."""

    def __init__(self, text: bytes) -> None:
        self.text = text
        self.starts = line_offsets(text)

    def __call__(self, line: int) -> bytes:
        """Bytes of 1-based ``line`` without its line ending; empty past the end."""
        if line < 1 or line > len(self.starts):
            return b""
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        chunk = self.text[start:end]
        return chunk[:-1] if chunk.endswith(b"\r") else chunk


def line_offsets(text: bytes) -> list[int]:
    """Byte offset of the start of every line; ``offsets[i]`` is the start of line ``i + 1``."""
    offsets = [0]
    pos = text.find(b"\n")
    while pos >= 0:
        offsets.append(pos + 1)
        pos = text.find(b"\n", pos + 1)
    return offsets

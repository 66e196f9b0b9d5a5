"""The one place that converts between Go's byte columns and editor column units.

The Go toolchain counts columns in bytes of UTF-8. LSP clients count in UTF-16 code units
by default, or UTF-8 bytes, or UTF-32 code points when negotiated. Columns here are
0-based offsets within one line (the LSP convention); callers convert from the 1-based
columns of the model by subtracting one.

Lines are given as ``bytes`` so that a column that falls inside a multi-byte character, or
a line that is not valid UTF-8, is handled deterministically instead of raising.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Literal

Encoding = Literal["utf-8", "utf-16", "utf-32"]
ENCODINGS: tuple[Encoding, ...] = ("utf-8", "utf-16", "utf-32")

_NON_ASCII = re.compile(rb"[\x80-\xff]+")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
#: Bytes per stretch of a line that is indexed character by character (see ``_Columns``).
STRETCH = 256


@dataclass(frozen=True)
class _Wide:
    """The characters of a piece of a line that take more bytes than units, in order.
    Between two of them, and before the first, bytes and units advance together, so a
    conversion is one bisection."""

    length: int
    #: Byte offset where each such character starts, and where it ends.
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    #: The same, in units.
    unit_starts: tuple[int, ...]
    unit_ends: tuple[int, ...]

    @staticmethod
    def of(piece: bytes, encoding: Encoding) -> _Wide:
        """Index ``piece``. Invalid UTF-8 decodes byte by byte (``surrogateescape``), and
        each such byte counts as one unit: editors show it as one replacement character.
        Only the runs of non-ASCII bytes are decoded (an ASCII byte ends any UTF-8
        sequence)."""
        starts: list[int] = []
        ends: list[int] = []
        unit_starts: list[int] = []
        unit_ends: list[int] = []
        excess = 0  # bytes minus units so far
        for run in _NON_ASCII.finditer(piece):
            offset = run.start()
            for ch in run.group().decode("utf-8", "surrogateescape"):
                nbytes = len(ch.encode("utf-8", "surrogateescape"))
                units = 1 if encoding == "utf-32" or ord(ch) <= 0xFFFF else 2
                if nbytes != units:
                    starts.append(offset)
                    ends.append(offset + nbytes)
                    unit_starts.append(offset - excess)
                    excess += nbytes - units
                    unit_ends.append(offset + nbytes - excess)
                offset += nbytes
        return _Wide(len(piece), tuple(starts), tuple(ends), tuple(unit_starts), tuple(unit_ends))

    def to_units(self, byte_offset: int) -> int:
        offset = max(0, min(byte_offset, self.length))
        i = bisect.bisect_right(self.starts, offset) - 1
        if i < 0:
            return offset
        if offset < self.ends[i]:
            return self.unit_starts[i]  # inside a character: its start
        return self.unit_ends[i] + offset - self.ends[i]

    def to_byte(self, units: int) -> int:
        if units <= 0:
            return 0
        i = bisect.bisect_right(self.unit_starts, units) - 1
        if i < 0:
            return min(units, self.length)
        if units < self.unit_ends[i]:
            return self.starts[i]  # inside a character (a surrogate pair): its start
        return min(self.ends[i] + units - self.unit_ends[i], self.length)


class _Columns:
    """One line that is not all ASCII, cut into stretches of about ``STRETCH`` bytes that
    never split a character. Each stretch's length in units is counted in C up front; its
    characters are indexed (``_Wide``) the first time a conversion lands in it. So a
    5 MB line of Chinese costs milliseconds per version of the document, not a Python
    loop over millions of characters, and each conversion stays a bisection or two."""

    def __init__(self, line: bytes, encoding: Encoding) -> None:
        self._line = line
        self._encoding = encoding
        self.length = len(line)
        self._starts = [0]
        while self._starts[-1] + STRETCH < len(line):
            cut = self._starts[-1] + STRETCH
            # Back to a byte that is no UTF-8 continuation byte: a valid character then
            # never straddles two stretches (an invalid one decodes byte by byte anyway).
            for _ in range(3):
                if line[cut] & 0xC0 != 0x80:
                    break
                cut -= 1
            self._starts.append(cut)
        self._unit_starts = [0]
        for begin, end in zip(self._starts, [*self._starts[1:], len(line)], strict=True):
            self._unit_starts.append(self._unit_starts[-1] + self._units_in(line[begin:end]))
        self._unit_starts.pop()
        self._pieces: dict[int, _Wide] = {}

    def _units_in(self, piece: bytes) -> int:
        if piece.isascii():
            return len(piece)
        text = piece.decode("utf-8", "surrogateescape")
        if self._encoding == "utf-32":
            return len(text)
        return len(text) + len(_ASTRAL.findall(text))

    def _piece(self, i: int) -> _Wide:
        piece = self._pieces.get(i)
        if piece is None:
            end = self._starts[i + 1] if i + 1 < len(self._starts) else self.length
            piece = self._pieces[i] = _Wide.of(self._line[self._starts[i] : end], self._encoding)
        return piece

    def to_units(self, byte_offset: int) -> int:
        offset = max(0, min(byte_offset, self.length))
        i = bisect.bisect_right(self._starts, offset) - 1
        return self._unit_starts[i] + self._piece(i).to_units(offset - self._starts[i])

    def to_byte(self, units: int) -> int:
        if units <= 0:
            return 0
        i = bisect.bisect_right(self._unit_starts, units) - 1
        return self._starts[i] + self._piece(i).to_byte(units - self._unit_starts[i])


def byte_to_units(line: bytes, byte_offset: int, encoding: Encoding) -> int:
    """Convert a 0-based byte offset in ``line`` into ``encoding`` units.

    An offset past the end of the line is clamped to the line's length. An offset inside a
    multi-byte character counts as the start of that character. For many conversions in
    one text, ``LineIndex.to_units`` indexes each line once.
    """
    if encoding == "utf-8" or line.isascii():
        return max(0, min(byte_offset, len(line)))
    return _Columns(line, encoding).to_units(byte_offset)


def units_to_byte(line: bytes, units: int, encoding: Encoding) -> int:
    """Convert a 0-based offset in ``encoding`` units into a byte offset in ``line``.

    An offset past the end of the line is clamped. An offset inside a character (the
    middle of a surrogate pair, say) rounds down to the start of that character.
    """
    if encoding == "utf-8" or line.isascii():
        return max(0, min(units, len(line)))
    return _Columns(line, encoding).to_byte(units)


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
    """The lines of one text, found once, and each line's columns indexed the first time
    one is converted there: every later conversion is O(1) on an ASCII line and one
    bisection on any other, however long the line. A file with thousands of findings, or
    one 5 MB line, converts in linear time, not quadratic."""

    def __init__(self, text: bytes, starts: list[int] | None = None) -> None:
        self.text = text
        self.starts = line_offsets(text) if starts is None else starts
        #: (line, encoding) -> its columns; None for a line that is all ASCII.
        self._columns: dict[tuple[int, Encoding], _Columns | None] = {}

    def __len__(self) -> int:
        return len(self.starts)

    def __call__(self, line: int) -> bytes:
        """Bytes of 1-based ``line`` without its line ending; empty past the end."""
        start, end = self.span(line)
        return self.text[start:end]

    def span(self, line: int) -> tuple[int, int]:
        """Byte offsets of the start and end (before ``\\r\\n`` or ``\\n``) of 1-based
        ``line``; an empty span at the end of the text past its last line."""
        if line < 1 or line > len(self.starts):
            return len(self.text), len(self.text)
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        if end > start and self.text[end - 1] == 0x0D:  # \r
            end -= 1
        return start, end

    def replaced(self, start: int, end: int, new: bytes) -> LineIndex:
        """The index of this text with bytes ``start`` to ``end`` replaced by ``new``.
        The line starts are carried over, not found again: a keystroke in a 10,000-line
        file moves the starts after it by a constant, which is cheaper than a new split."""
        text = self.text[:start] + new + self.text[end:]
        first = bisect.bisect_right(self.starts, start)  # lines starting up to ``start``
        after = bisect.bisect_right(self.starts, end)
        inserted = [start + m.end() for m in re.finditer(b"\n", new)]
        shift = len(new) - (end - start)
        starts = self.starts[:first] + inserted + [x + shift for x in self.starts[after:]]
        return LineIndex(text, starts)

    def _columns_of(self, line: int, encoding: Encoding) -> _Columns | None:
        key = (line, encoding)
        if key not in self._columns:
            start, end = self.span(line)
            chunk = self.text[start:end]
            self._columns[key] = None if chunk.isascii() else _Columns(chunk, encoding)
        return self._columns[key]

    def to_units(self, line: int, byte_offset: int, encoding: Encoding) -> int:
        """``byte_to_units`` on 1-based ``line``."""
        columns = None if encoding == "utf-8" else self._columns_of(line, encoding)
        if columns is None:
            start, end = self.span(line)
            return max(0, min(byte_offset, end - start))
        return columns.to_units(byte_offset)

    def to_byte(self, line: int, units: int, encoding: Encoding) -> int:
        """``units_to_byte`` on 1-based ``line``."""
        columns = None if encoding == "utf-8" else self._columns_of(line, encoding)
        if columns is None:
            start, end = self.span(line)
            return max(0, min(units, end - start))
        return columns.to_byte(units)


def line_offsets(text: bytes) -> list[int]:
    """Byte offset of the start of every line; ``offsets[i]`` is the start of line ``i + 1``."""
    # Split and sum in C (no Python loop): this runs for every version of a document the
    # user types in. Each line is its length plus one for the newline.
    lengths = map(len, text.split(b"\n")[:-1])
    return list(accumulate(map((1).__add__, lengths), initial=0))


class FileColumns:
    """Compiler positions (1-based byte columns) in files on disk, as 1-based columns in
    ``encoding``: each file read and indexed once. A file that cannot be read keeps its
    byte columns. For reports that name columns in other units (SARIF: UTF-16, GitHub's
    annotations: characters)."""

    def __init__(self, encoding: Encoding) -> None:
        self._encoding = encoding
        self._lines: dict[str, LineIndex | None] = {}

    def column(self, file: str, line: int, byte_column: int) -> int:
        if file not in self._lines:
            try:
                self._lines[file] = LineIndex(Path(file).read_bytes())
            except OSError:
                self._lines[file] = None
        lines = self._lines[file]
        if lines is None:
            return byte_column
        return lines.to_units(line, byte_column - 1, self._encoding) + 1

"""The shared column helper: byte columns ↔ UTF-8/UTF-16/UTF-32 units."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heaplens.positions import STRETCH, LineIndex, byte_to_units, line_at, units_to_byte

LINE = '\ts := "héllo 中文 🎉"; return s, &Point{X: 1}'.encode()


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_chinese_and_emoji_before_expression() -> None:
    byte_col = LINE.index(b"&Point")
    prefix = LINE[:byte_col].decode()
    assert byte_to_units(LINE, byte_col, "utf-8") == byte_col
    assert byte_to_units(LINE, byte_col, "utf-16") == _utf16_len(prefix)
    assert byte_to_units(LINE, byte_col, "utf-32") == len(prefix)
    # The emoji is one code point, two UTF-16 units and four bytes.
    assert byte_col - _utf16_len(prefix) == (2 - 1) + 2 * (3 - 1) + (4 - 2)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_round_trip_at_character_boundaries(encoding: str) -> None:
    text = LINE.decode()
    offset = 0
    for ch in text:
        units = byte_to_units(LINE, offset, encoding)  # type: ignore[arg-type]
        assert units_to_byte(LINE, units, encoding) == offset  # type: ignore[arg-type]
        offset += len(ch.encode())


def test_offset_inside_a_character_rounds_down() -> None:
    start = LINE.index("中".encode())
    assert byte_to_units(LINE, start + 1, "utf-16") == byte_to_units(LINE, start, "utf-16")
    emoji = LINE.index("🎉".encode())
    inside_pair = byte_to_units(LINE, emoji, "utf-16") + 1
    assert units_to_byte(LINE, inside_pair, "utf-16") == emoji


def test_clamps_past_the_end() -> None:
    assert byte_to_units(b"abc", 99, "utf-16") == 3
    assert units_to_byte(b"abc", 99, "utf-16") == 3
    assert byte_to_units(b"abc", -5, "utf-8") == 0


def test_invalid_utf8_counts_one_unit_per_byte() -> None:
    line = b'x := "\xff\xfe"; y'
    y = line.index(b"y")
    assert byte_to_units(line, y, "utf-16") == y
    assert units_to_byte(line, y, "utf-16") == y


def test_line_at_handles_crlf_and_missing_lines() -> None:
    text = b"a\r\nb\xc3\xa9\r\nc"
    assert line_at(text, 1) == b"a"
    assert line_at(text, 2) == "bé".encode()
    assert line_at(text, 3) == b"c"
    assert line_at(text, 4) == b""


@given(st.text(), st.integers(min_value=-2, max_value=400))
def test_never_raises_and_stays_in_range(text: str, offset: int) -> None:
    line = text.encode("utf-8", "surrogatepass")
    for enc in ("utf-8", "utf-16", "utf-32"):
        units = byte_to_units(line, offset, enc)  # type: ignore[arg-type]
        assert 0 <= units <= len(line) * 2
        back = units_to_byte(line, units, enc)  # type: ignore[arg-type]
        assert 0 <= back <= len(line)
        assert back <= max(offset, 0)


# -- the line index against a plain reference ------------------------------------------


def _reference_widths(line: bytes, encoding: str) -> list[tuple[int, int]]:
    """(bytes, units) of each character, decoding the whole line: the obvious way."""
    out = []
    for ch in line.decode("utf-8", "surrogateescape"):
        nbytes = len(ch.encode("utf-8", "surrogateescape"))
        if encoding == "utf-16":
            out.append((nbytes, 2 if ord(ch) > 0xFFFF else 1))
        else:
            out.append((nbytes, 1))
    return out


def _reference_to_units(line: bytes, byte_offset: int, encoding: str) -> int:
    if encoding == "utf-8":  # the compiler's own unit: nothing to convert
        return max(0, min(byte_offset, len(line)))
    seen = units = 0
    for nbytes, width in _reference_widths(line, encoding):
        if seen + nbytes > byte_offset:
            break
        seen += nbytes
        units += width
    return units


def _reference_to_byte(line: bytes, units: int, encoding: str) -> int:
    if encoding == "utf-8":
        return max(0, min(units, len(line)))
    seen = offset = 0
    for nbytes, width in _reference_widths(line, encoding):
        if seen + width > units:
            break
        seen += width
        offset += nbytes
    return offset


# Lines made of what breaks column arithmetic: ASCII, two-, three- and four-byte
# characters (astral ones are UTF-16 surrogate pairs), stray continuation bytes, truncated
# sequences, encoded surrogates, and carriage returns.
_PIECES = st.sampled_from(
    [
        *(b"a", b"xyz ", "é".encode(), "中".encode(), "🎉".encode()),
        *(b"\xff", b"\x80", b"\xe4\xb8", b"\xed\xa0\x80", b"\r", b"\t"),
    ]
)
# Up to several of the stretches a long line is indexed in (``STRETCH`` bytes each).
_LINES = st.lists(_PIECES, max_size=300).map(b"".join)


@given(_LINES, st.integers(min_value=-3, max_value=120))
def test_conversions_match_decoding_the_whole_line(line: bytes, offset: int) -> None:
    for enc in ("utf-8", "utf-16", "utf-32"):
        assert byte_to_units(line, offset, enc) == _reference_to_units(line, offset, enc)  # type: ignore[arg-type]
        assert units_to_byte(line, offset, enc) == _reference_to_byte(line, offset, enc)  # type: ignore[arg-type]


@given(st.lists(_LINES, min_size=1, max_size=6), st.sampled_from(["\n", "\r\n"]), st.data())
def test_line_index_converts_like_the_reference(
    lines: list[bytes], ending: str, data: st.DataObject
) -> None:
    text = ending.encode().join(lines)
    index = LineIndex(text)
    # Ask the same line several times: the second answer comes from the line's index.
    for _ in range(4):
        n = data.draw(st.integers(min_value=0, max_value=len(lines) + 1))
        offset = data.draw(st.integers(min_value=-2, max_value=150))
        line = line_at(text, n)
        assert index(n) == line
        for enc in ("utf-8", "utf-16", "utf-32"):
            assert index.to_units(n, offset, enc) == _reference_to_units(line, offset, enc)  # type: ignore[arg-type]
            assert index.to_byte(n, offset, enc) == _reference_to_byte(line, offset, enc)  # type: ignore[arg-type]


def test_every_offset_of_a_mixed_line_through_the_index() -> None:
    # Long enough for many stretches, and with a character across every stretch boundary.
    line = (LINE + b" \xff\xfe " + "𝄞x".encode()) * 40
    assert len(line) > 8 * STRETCH
    index = LineIndex(b"first\n" + line + b"\r\nlast")
    near_a_cut = {c + d for c in range(0, len(line), STRETCH) for d in range(-6, 7)}
    for offset in sorted(near_a_cut | set(range(-1, len(line) + 3, 5))):
        for enc in ("utf-8", "utf-16", "utf-32"):
            assert index.to_units(2, offset, enc) == _reference_to_units(line, offset, enc)  # type: ignore[arg-type]
            assert index.to_byte(2, offset, enc) == _reference_to_byte(line, offset, enc)  # type: ignore[arg-type]

"""The base protocol's framing, byte by byte: headers in any case, lengths that lie, and
resynchronisation on the next header. (The real server over stdio is in
tests/reliability/test_protocol.py.)"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest
from pygls.io_ import StdoutWriter

from heaplens.lsp.framing import FramingError, MessageReader, QueuedWriter


def _source(data: bytes, step: int) -> Callable[[int], bytes]:
    """``os.read`` over ``data``, at most ``step`` bytes a call."""
    position = 0

    def read(n: int) -> bytes:
        nonlocal position
        chunk = data[position : position + min(n, step)]
        position += len(chunk)
        return chunk

    return read


def _all(data: bytes, step: int = 1 << 16, max_body: int = 1 << 20) -> list[object]:
    reader = MessageReader(_source(data, step), max_body)
    out: list[object] = []
    while (item := reader.next()) is not None:
        out.append(item)
    return out


def _msg(body: bytes, header: bytes = b"Content-Length") -> bytes:
    return header + b": %d\r\n\r\n" % len(body) + body


@pytest.mark.parametrize("step", [1, 7, 1 << 16])
def test_messages_in_any_chunking(step: int) -> None:
    data = _msg(b'{"a":1}') + _msg(b"{}", b"content-LENGTH") + _msg(b'{"b":2}')
    assert _all(data, step) == [b'{"a":1}', b"{}", b'{"b":2}']


def test_other_headers_and_stray_line_breaks() -> None:
    data = b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n" + _msg(b"{}")
    assert _all(b"\r\n" + data) == [b"{}"]


@pytest.mark.parametrize(
    "junk",
    [
        b"Content-Length: abc\r\n\r\n{}",
        b"Content-Length: -5\r\n\r\n{}",
        b"Content-Length: 1e3\r\n\r\n{}",
        b"Content-Type: x\r\n\r\n{}",
        b"Content-Length: 99999999999999999999\r\n\r\n{}",
        b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n{}",
        b"garbage without any line break " * 1000,
    ],
)
@pytest.mark.parametrize("step", [1, 1 << 16])
def test_a_broken_message_is_reported_and_the_next_one_read(junk: bytes, step: int) -> None:
    items = _all(junk + _msg(b'{"next":1}'), step)
    assert isinstance(items[0], FramingError)
    assert items[-1] == b'{"next":1}'


def test_a_length_too_short_leaves_bytes_before_the_next_header() -> None:
    # The rest of the body runs into the next header line: it is skipped, not lost with it.
    items = _all(b"Content-Length: 2\r\n\r\n{}xyz" + _msg(b'{"next":1}'))
    assert items == [b"{}", b'{"next":1}']


def test_the_end_of_the_stream_in_a_body_is_the_end() -> None:
    assert _all(b"Content-Length: 10\r\n\r\n{}") == []


def test_a_header_found_across_chunks_while_resynchronising() -> None:
    long_line = b"x" * (64 * 1024 - 5)  # the header starts 5 bytes before a read ends
    items = _all(b"Content-Length: nope\r\n\r\n" + long_line + _msg(b"{}"), step=1 << 16)
    assert isinstance(items[0], FramingError) and items[-1] == b"{}"


def _pipe_writer() -> tuple[int, QueuedWriter]:
    """A QueuedWriter onto a real pipe, as the server's stdout is; the pipe's read end."""
    read_end, write_end = os.pipe()
    return read_end, QueuedWriter(StdoutWriter(os.fdopen(write_end, "wb")))


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def test_writes_do_not_wait_for_the_client_to_read() -> None:
    """Megabytes (a publish of thousands of diagnostics) go into a pipe nobody reads yet,
    far more than it holds, and the writes return; then everything arrives, in order."""
    read_end, writer = _pipe_writer()
    messages = [bytes([65 + i]) * (1 << 20) for i in range(6)]
    done = threading.Event()

    def write_all() -> None:
        for message in messages:
            writer.write(message)
        done.set()

    threading.Thread(target=write_all, daemon=True).start()
    assert done.wait(60), "a write waited for the client to read"
    closed = threading.Thread(target=writer.close, daemon=True)
    closed.start()  # writes what is queued, then closes the pipe
    assert _read_all(read_end) == b"".join(messages)
    closed.join(60)


def test_a_write_after_the_client_went_away_fails() -> None:
    read_end, writer = _pipe_writer()
    os.close(read_end)
    writer.write(b"x" * 1000)  # fails in the writer's thread...
    writer.flush()
    with pytest.raises(BrokenPipeError):  # ... so the next write says so
        writer.write(b"y")

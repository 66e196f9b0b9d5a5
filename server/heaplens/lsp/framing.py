"""The LSP base protocol on the wire: header blocks and message bodies off a byte stream.

A message is a block of ``Name: value`` header lines ended by an empty line, then
``Content-Length`` bytes of body. Header names are case-insensitive, as in HTTP, so
``content-length`` is as good as ``Content-Length``; the block itself is parsed with the
standard library's HTTP header parser.

A client that breaks the framing (no length, one that is not a number, one larger than
any message we accept) must not leave the server deaf. Such a message is reported as a
:class:`FramingError` and the reader resynchronises: it scans on for the next
``Content-Length`` line. That line can only be framing, never part of a body, because a
JSON body cannot hold a raw line break inside a string. A body that does not end in a
line break runs into the next header on one line, so the scan looks at the end of each
line, not its start.

Reads go through ``os.read`` on the descriptor, not a buffered file object: the reader
runs on a daemon thread, and a buffered stream's lock held by a daemon thread at exit
aborts the interpreter.

Messages go out through a thread of their own (:class:`QueuedWriter`), in order: a publish
of thousands of diagnostics is megabytes, which a client reads at its own pace, and the
loop that answers hover must not wait for it.
"""

from __future__ import annotations

import os
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import HTTP
from typing import Protocol

#: The largest body taken at its word. Far above any real message (a didOpen of a big
#: generated Go file is a few megabytes), far below a length that cannot be allocated.
MAX_BODY = 256 * 1024 * 1024
#: Longer header lines are not headers; a longer header block is not one either.
MAX_HEADER_LINE = 8 * 1024
MAX_HEADER_LINES = 32
_CHUNK = 64 * 1024

#: Bytes waiting to be written before a write waits for the client to read some: a client
#: that does not read slows the server down, as a full pipe would, instead of filling
#: its memory.
MAX_QUEUED = 64 * 1024 * 1024
#: How long closing waits for what is queued to be written (then it is given up: the
#: client is not reading).
CLOSE_TIMEOUT = 10.0

# A Content-Length header line as it ends a line (the line may start with the tail of a
# body that had no line break of its own).
_LENGTH_LINE = re.compile(rb"content-length[ \t]*:[ \t]*[0-9]+[ \t]*\r?\n\Z", re.IGNORECASE)


@dataclass(frozen=True)
class FramingError:
    """A message that could not be framed; the reader has moved on to the next one."""

    reason: str


class MessageReader:
    """Message bodies from a stream, one at a time, resynchronising after bad framing.

    ``read(n)`` returns up to ``n`` bytes, and ``b""`` only at the end of the stream (as
    ``os.read`` does).
    """

    def __init__(self, read: Callable[[int], bytes], max_body: int = MAX_BODY) -> None:
        self._read = read
        self._max_body = max_body
        self._buffer = bytearray()
        self._eof = False
        self._resync = False

    @classmethod
    def of_fd(cls, fd: int) -> MessageReader:
        return cls(lambda n: os.read(fd, n))

    def next(self) -> bytes | FramingError | None:
        """The next body, a framing error, or None at the end of the stream."""
        lines = self._find_header() if self._resync else []
        self._resync = False
        if lines is None:
            return None
        while True:
            line = self._readline(MAX_HEADER_LINE)
            if line is None:
                return None
            if line in (b"\r\n", b"\n"):
                if not lines:
                    continue  # a stray line break between messages
                break
            if not line.endswith(b"\n") or len(lines) == MAX_HEADER_LINES:
                return self._lost("a header block that is too long")
            if not lines and (found := _LENGTH_LINE.search(line)) and found.start() > 0:
                line = line[found.start() :]  # bytes left over from the message before
            lines.append(line)
        length = self._content_length(lines)
        if isinstance(length, FramingError):
            self._resync = True
            return length
        body = self._readexactly(length)
        return body

    def _content_length(self, lines: list[bytes]) -> int | FramingError:
        headers = BytesHeaderParser(policy=HTTP).parsebytes(b"".join(lines))
        values = headers.get_all("Content-Length") or []
        if not values:
            return FramingError("a message without a Content-Length header")
        text = str(values[-1]).strip()
        if len(values) > 1 and any(str(v).strip() != text for v in values):
            return FramingError("a message with two different Content-Length headers")
        if not text.isascii() or not text.isdigit():
            return FramingError(f"a message with Content-Length {text[:40]!r}, not a length")
        length = int(text)
        if length > self._max_body:
            return FramingError(
                f"a message of {length} bytes, more than the {self._max_body} accepted"
            )
        return length

    def _lost(self, what: str) -> FramingError:
        self._resync = True
        return FramingError(what)

    def _find_header(self) -> list[bytes] | None:
        """Skip to the next Content-Length line; the header lines found so far."""
        carry = b""
        while True:
            line = self._readline(_CHUNK)
            if line is None:
                return None
            # A long line comes in chunks: keep the end of the last one, so a header that
            # straddles two chunks is still found.
            text = carry + line
            found = _LENGTH_LINE.search(text)
            if found:
                return [text[found.start() :]]
            carry = b"" if line.endswith(b"\n") else text[-MAX_HEADER_LINE:]

    # -- buffered reading ------------------------------------------------------------

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._read(_CHUNK)
        if not data:
            self._eof = True
            return False
        self._buffer += data
        return True

    def _readline(self, limit: int) -> bytes | None:
        """Up to and including the next line break, or ``limit`` bytes; None at the end."""
        while True:
            end = self._buffer.find(b"\n", 0, limit)
            if end >= 0:
                return self._take(end + 1)
            if len(self._buffer) >= limit:
                return self._take(limit)
            if not self._fill():
                return self._take(len(self._buffer)) if self._buffer else None

    def _readexactly(self, n: int) -> bytes | None:
        while len(self._buffer) < n:
            if not self._fill():
                return None
        return self._take(n)

    def _take(self, n: int) -> bytes:
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class QueuedWriter:
    """Writes to ``writer`` from a thread of its own, in the order written here. A write
    that fails (the client went away) makes the next ``write`` raise its error, as the
    write itself would have."""

    def __init__(self, writer: Writer, max_queued: int = MAX_QUEUED) -> None:
        self._writer = writer
        self._max_queued = max_queued
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._closing = False
        self._error: OSError | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="heaplens-writer", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        with self._cond:
            while self._error is None and self._queued and self._queued >= self._max_queued:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            self._queue.append(data)
            self._queued += len(data)
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                data = self._queue[0]
            try:
                self._writer.write(data)
            except OSError as e:
                with self._cond:
                    self._error = e
                    self._queue.clear()
                    self._queued = 0
                    self._cond.notify_all()
                return
            with self._cond:
                self._queue.popleft()
                self._queued -= len(data)
                self._cond.notify_all()

    def flush(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Wait (up to ``timeout`` seconds) until everything written so far is written."""
        with self._cond:
            self._cond.wait_for(lambda: not self._queue or self._error is not None, timeout)

    def close(self) -> None:
        """Write what is queued (up to ``CLOSE_TIMEOUT``), then close ``writer``."""
        self.flush()
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._writer.close()

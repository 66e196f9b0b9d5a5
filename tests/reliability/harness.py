"""Running hostile cases through the CLI and the server, and keeping score.

Every case counts: tried, crashed (a traceback, a dead server, an exit code outside
0/1/2), hung (a timeout), left processes behind (found by an environment marker every
process heaplens starts inherits), or lost data (a file the user owns that a case found
changed when it must not be, through ``kept``). ``tests/conftest.py`` prints the tally at the end.

``server()`` is a session through an LSP client library; ``raw_server()`` writes bytes to
the server's stdin itself, for what no client library would send.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.harness import session

MARKER = "HEAPLENS_RELIABILITY_MARKER"


@dataclass
class Tally:
    cases: int = 0
    crashes: int = 0
    hangs: int = 0
    orphans: int = 0
    data_lost: int = 0


TALLY = Tally()


def kept(files: dict[Path, bytes]) -> None:
    """Assert that each file still holds exactly the bytes given, counting a loss if not."""
    changed = [str(path) for path, before in files.items() if _read(path) != before]
    if changed:
        TALLY.data_lost += 1
    assert not changed, f"data lost: {changed} changed"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _marked(value: str) -> list[int]:
    found = []
    needle = f"{MARKER}={value}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def compiling(value: str) -> bool:
    """Whether a process of the case marked ``value`` is the Go compiler itself: past
    `go env` and `go list`, the analysis is compiling."""
    for pid in _marked(value):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "compile":
                    return True
        except OSError:
            continue
    return False


def marker_of(pid: int) -> str:
    """The marker in the environment of process ``pid`` (a server a case started)."""
    with open(f"/proc/{pid}/environ", "rb") as f:
        for entry in f.read().split(b"\0"):
            name, _, value = entry.partition(b"=")
            if name == MARKER.encode():
                return value.decode()
    raise AssertionError(f"no {MARKER} in the environment of {pid}")


def _reap(value: str) -> int:
    """Count processes left behind, then kill them so one bad case does not spoil more."""
    deadline = time.monotonic() + 2
    left = _marked(value)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _marked(value)
    for pid in left:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(left)


def cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    ok_codes: tuple[int, ...] = (0, 1, 2),
) -> subprocess.CompletedProcess[str]:
    """One CLI case. Fails the test on a crash, a hang or an orphan."""
    marker = uuid.uuid4().hex
    run_env = dict(os.environ if env is None else env)
    run_env[MARKER] = marker
    run_env.setdefault("HEAPLENS_CACHE_DIR", str(cwd.parent / ".heaplens-cache"))
    TALLY.cases += 1
    proc = subprocess.Popen(
        [sys.executable, "-m", "heaplens", *args],
        cwd=cwd,
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        TALLY.hangs += 1
        _reap(marker)
        raise AssertionError(f"heaplens {' '.join(args)} hung for {timeout} s") from None
    orphans = _reap(marker)
    TALLY.orphans += orphans
    crashed = proc.returncode not in ok_codes or "Traceback" in err
    if crashed:
        TALLY.crashes += 1
    assert not crashed, f"crash (rc={proc.returncode}):\n{err}"
    assert orphans == 0, f"{orphans} process(es) left behind"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@asynccontextmanager
async def server(
    root: Path, *, init_options: dict[str, object] | None = None, env: dict[str, str] | None = None
) -> AsyncIterator[LanguageClient]:
    """One server case: a real session; afterwards the server must answer, have logged no
    traceback, and leave no process behind."""
    marker = uuid.uuid4().hex
    run_env = dict(os.environ if env is None else env)
    run_env[MARKER] = marker
    log = root.parent / f"server-{marker}.log"
    TALLY.cases += 1
    crashed = False
    try:
        async with session(
            root,
            init_options=init_options,
            env=run_env,
            cache_dir=root.parent / ".heaplens-cache",
            server_args=("--log-file", str(log)),
        ) as lsp:
            yield lsp
            try:
                await asyncio.wait_for(
                    lsp.text_document_hover_async(
                        types.HoverParams(
                            text_document=types.TextDocumentIdentifier(uri=root.as_uri() + "/x.go"),
                            position=types.Position(line=0, character=0),
                        )
                    ),
                    timeout=30,
                )
            except Exception:
                crashed = True
    except TimeoutError:
        TALLY.hangs += 1
        raise
    text = log.read_text() if log.exists() else ""
    if "Traceback" in text:
        crashed = True
    orphans = _reap(marker)
    TALLY.orphans += orphans
    if crashed:
        TALLY.crashes += 1
    assert not crashed, f"the server crashed or stopped answering:\n{text[-3000:]}"
    assert orphans == 0, f"{orphans} process(es) left behind"


async def analysed(lsp: LanguageClient, count: int = 1, timeout: float = 120) -> None:
    """Wait until ``count`` analyses have finished (or failed with a message)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [
            m
            for m in lsp.log_messages
            if " compiled, " in m.message or "did not finish" in m.message
        ]
        if len(done) + len(lsp.messages) >= count:
            return
        await asyncio.sleep(0.05)
    TALLY.hangs += 1
    raise AssertionError("no analysis finished in time")


class Hung(AssertionError):
    """The raw server did not answer, or did not exit, in time."""


class RawClient:
    """``heaplens serve`` over stdio with nothing in between: for the bytes no LSP client
    library would send. It reads the server's messages on a thread, and answers none of
    the server's own requests."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.received: list[dict[str, Any]] = []
        self.stderr = b""
        #: Set when the case ends the server itself (exit, a signal).
        self.ending = False
        self._changed = threading.Condition()
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while (line := out.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("ascii").partition(":")
                if name == "Content-Length":
                    length = int(value)
            if not line or length is None:
                return
            message = json.loads(out.read(length))
            with self._changed:
                self.received.append(message)
                self._changed.notify_all()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def send_bytes(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        self.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: object = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: object = None, timeout: float = 60) -> dict[str, Any]:
        """Send a request; its response (a result or an error)."""
        self._next_id += 1
        msg_id = self._next_id
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return self.wait_for(lambda m: m.get("id") == msg_id and "method" not in m, timeout)

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((m for m in self.received if predicate(m)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Hung(f"no such message in {timeout} s; received {self.received[-5:]}")
                self._changed.wait(left)

    def initialize(self, root: Path, init_options: object = None) -> dict[str, Any]:
        capabilities = {"window": {"workDoneProgress": True}}
        params = {"processId": None, "rootUri": root.as_uri(), "capabilities": capabilities}
        answer = self.request("initialize", {**params, "initializationOptions": init_options})
        self.notify("initialized", {})
        return answer

    def exit_code(self, timeout: float = 30) -> int:
        """Wait for the server to exit, as the case made it."""
        self.ending = True
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Hung(f"the server did not exit within {timeout} s") from None


@contextmanager
def raw_server(
    root: Path, *, initialize: bool = True, init_options: object = None
) -> Iterator[RawClient]:
    """One raw-stdio server case. Unless the case ended it, the server must still answer
    afterwards and exit with 0 on shutdown and exit. It must never die unasked, log a
    traceback or leave a process behind."""
    marker = uuid.uuid4().hex
    env = dict(os.environ, HEAPLENS_CACHE_DIR=str(root.parent / ".heaplens-cache"))
    env[MARKER] = marker
    log = root.parent / f"server-{marker}.log"
    TALLY.cases += 1
    proc = subprocess.Popen(
        [sys.executable, "-m", "heaplens", "serve", "--log-file", str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    client = RawClient(proc)
    crashed = False
    try:
        if initialize:
            client.initialize(root, init_options)
        yield client
        if not client.ending:
            crashed = proc.poll() is not None
            if not crashed:
                shutdown = client.request("shutdown", timeout=30)
                crashed = "error" in shutdown
                client.notify("exit")
                crashed = client.exit_code() != 0 or crashed
    except Hung:
        TALLY.hangs += 1
        raise
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _close(proc.stdin)
        client._drainer.join(timeout=10)
    text = log.read_text() if log.exists() else ""
    if "Traceback" in text or b"Traceback" in client.stderr:
        crashed = True
    orphans = _reap(marker)
    TALLY.orphans += orphans
    if crashed:
        TALLY.crashes += 1
    assert not crashed, f"the server died, failed to end, or logged a traceback:\n{text[-3000:]}"
    assert orphans == 0, f"{orphans} process(es) left behind"


def _close(stream: IO[bytes] | None) -> None:
    if stream is not None:
        with suppress(OSError):
            stream.close()

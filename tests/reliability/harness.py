"""Running hostile cases through the CLI and the server, and keeping score.

Every case counts: tried, crashed (a traceback, a dead server, an exit code outside
0/1/2), hung (a timeout), left processes behind (found by an environment marker every
process heaplens starts inherits), or lost data (a file the user owns that a case found
changed when it must not be, through ``kept``). ``tests/conftest.py`` prints the tally at the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

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

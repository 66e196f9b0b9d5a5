"""Benchmark ``heaplens serve``: edit → diagnostics latency, revert latency, peak memory.

    python bench/server_bench.py [--package encoding/xml] [--runs N] [--tests]

Copies a real standard-library package (its non-test files) into a scratch module,
starts the real server over stdio, opens a file of the package and then, per round:

* edits the file (appends a comment, so no finding moves and the next publish can only
  come from the analysis) and times didChange → publishDiagnostics for that version;
* reverts to the previous text and times the same (this should come from the cache);
* runs a fresh ``go build -gcflags=-m=2`` of the same package, to compare with.

With ``--tests`` the package's test files are copied too and the server analyses them
(its default): an edit then also rebuilds the test binary, and the latency measured is
still that of the edited file's diagnostics. Only for packages whose tests import no
``internal/`` package, such as encoding/xml.

The debounce is set to 0, so the latency is the analysis itself. Figures are medians,
and the edit latency is given as a ratio to the raw ``-m=2`` build of the same round.
Peak RSS is the server's VmHWM at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import make_module

_TIMING = re.compile(r"\(go ([0-9.]+)s, heaplens ([0-9.]+)s\)")


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class RawClient:
    """A bare LSP client over the server's stdio: it times messages as their bytes
    arrive, so the client's own parsing is not counted as the server's latency."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        self.messages: list[tuple[float, dict]] = []  # type: ignore[type-arg]
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._id = 0

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = out.read(length)
            at = time.perf_counter()
            with self._lock:
                self.messages.append((at, json.loads(body)))

    def send(self, method: str, params: object, request: bool = False) -> None:
        msg: dict[str, object] = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self._id += 1
            msg["id"] = self._id
        body = json.dumps(msg).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def answer_requests(self) -> None:
        """Reply null to server requests (configuration, progress, registration)."""
        with self._lock:
            pending = [
                m for _, m in self.messages if "method" in m and "id" in m and not m.get("_done")
            ]
            for m in pending:
                m["_done"] = True
        for m in pending:
            result: object = [None] if m["method"] == "workspace/configuration" else None
            body = json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": result}).encode()
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def wait_publish(self, uri: str, version: int, since: float, timeout: float = 120) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.answer_requests()
            with self._lock:
                for at, m in self.messages:
                    p = m.get("params") or {}
                    if (
                        m.get("method") == "textDocument/publishDiagnostics"
                        and p.get("uri") == uri
                        and p.get("version") == version
                        and at >= since
                    ):
                        return at - since
            time.sleep(0.001)
        raise TimeoutError(f"no diagnostics for version {version}")

    def last_timing(self, since: float) -> tuple[float, float] | None:
        """(go seconds, engine seconds) from the server's newest "N compiled" log line."""
        with self._lock:
            logs = [
                m["params"]["message"]
                for at, m in self.messages
                if at >= since and m.get("method") == "window/logMessage"
            ]
        for message in reversed(logs):
            found = _TIMING.search(message)
            if found:
                return float(found.group(1)), float(found.group(2))
        return None

    def last_log(self, since: float) -> str:
        """The newest "N compiled" log line since ``since`` ("" if none)."""
        with self._lock:
            logs = [
                m["params"]["message"]
                for at, m in self.messages
                if at >= since and m.get("method") == "window/logMessage"
            ]
        return next((m for m in reversed(logs) if " from cache, " in m), "")

    def wait_log(self, needle: str, since: float, timeout: float = 120) -> None:
        """Until a window/logMessage containing ``needle`` arrives after ``since``."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.answer_requests()
            with self._lock:
                if any(
                    at >= since
                    and m.get("method") == "window/logMessage"
                    and needle in m["params"]["message"]
                    for at, m in self.messages
                ):
                    return
            time.sleep(0.005)
        raise TimeoutError(f"no log line with {needle!r}")

    def close(self) -> None:
        self.send("shutdown", None, request=True)
        time.sleep(0.2)
        self.send("exit", None)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run(package: str, runs: int, tests: bool = False) -> None:
    root = Path(tempfile.mkdtemp(prefix="heaplens-server-bench-"))
    module = root / "module"
    module.mkdir()
    make_module(module, with_tests=tests)
    env = dict(os.environ, GOFLAGS="", HEAPLENS_CACHE_DIR=str(root / "cache"))
    subprocess.run(["go", "build", "./..."], cwd=module, env=env, check=True)
    # The raw compiler works on a copy the server does not watch, so its edits to disk
    # do not look like a `git checkout` to the server.
    raw_module = root / "raw"
    shutil.copytree(module, raw_module)
    target = sorted(
        (p for p in (module / package).glob("*.go") if not p.name.endswith("_test.go")),
        key=lambda p: -p.stat().st_size,
    )[0]
    raw_target = raw_module / target.relative_to(module)
    uri = target.as_uri()
    client = RawClient(
        [
            sys.executable,
            "-m",
            "heaplens",
            "serve",
            *os.environ.get("HEAPLENS_BENCH_SERVER_ARGS", "").split(),
        ],
        env,
    )
    client.send(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": module.as_uri(),
            "capabilities": {"textDocument": {"publishDiagnostics": {"relatedInformation": True}}},
            "initializationOptions": {"debounceMs": 0, "tests": tests},
        },
        request=True,
    )
    client.send("initialized", {})
    text = target.read_text()
    client.send(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": text}},
    )
    client.wait_publish(uri, 1, 0)
    version = 1
    lines = text.count("\n")
    edits, reverts, raws = [], [], []
    go_parts: list[float] = []
    own_parts: list[float] = []
    for i in range(runs):
        time.sleep(0.5)  # quiet
        # The raw compiler, fresh, in the same round.
        raw_target.write_text(text + f"\n// raw {i} {time.time_ns()}\n")
        t0 = time.perf_counter()
        subprocess.run(
            ["go", "build", "-o", os.devnull, "-gcflags=-m=2", f"./{package}"],
            cwd=raw_module,
            env=env,
            capture_output=True,
            check=False,
        )
        raws.append(time.perf_counter() - t0)
        for kind in ("edit", "revert"):
            version += 1
            if kind == "edit":
                rng = {
                    "start": {"line": lines, "character": 0},
                    "end": {"line": lines, "character": 0},
                }
                new = f"// edit {i} {time.time_ns()}\n"
            else:
                rng = {
                    "start": {"line": lines, "character": 0},
                    "end": {"line": lines + 1, "character": 0},
                }
                new = ""
            since = time.perf_counter()
            client.send(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"range": rng, "text": new}],
                },
            )
            latency = client.wait_publish(uri, version, since)
            (edits if kind == "edit" else reverts).append(latency)
            # The whole analysis (a test binary, say) ends before the next measurement,
            # and so does the background verification of fixes that follows it.
            client.wait_log(" from cache, ", since)
            if kind == "revert":
                client.wait_log(" verified fix(es)", since, timeout=600)
            if kind == "edit":
                split = client.last_timing(since)
                if split is not None:
                    go_parts.append(split[0])
                    own_parts.append(split[1])
    peak = _peak_rss_mb(client.proc.pid)
    client.close()
    shutil.rmtree(root, ignore_errors=True)

    if os.environ.get("HEAPLENS_BENCH_DEBUG"):
        print("raw", [round(x, 3) for x in raws], "edit", [round(x, 3) for x in edits])
    raw = statistics.median(raws)
    edit = statistics.median(edits)
    revert = statistics.median(reverts)
    what = f"{package}{' with its tests' if tests else ''}"
    print(f"heaplens serve benchmark — {what}, median of {runs} rounds, {os.cpu_count()} cores")
    print(f"go build -gcflags=-m=2 (fresh):   {raw:.3f} s")
    print(f"edit → publishDiagnostics:        {edit:.3f} s  = {edit / raw:.2f}x the raw -m=2 build")
    if go_parts:
        go_s, own_s = statistics.median(go_parts), statistics.median(own_parts)
        print(
            f"  of which waiting for go:        {go_s:.3f} s  = {go_s / raw:.2f}x;"
            f" heaplens engine {own_s:.3f} s; the rest is the server and the protocol"
        )
    print(f"revert → publishDiagnostics:      {revert:.3f} s  (from cache)")
    print(f"server peak RSS:                  {peak:.0f} MB")
    print("Targets: edit <= 0.8x (fail above 1.0x), revert <= 0.05 s, RSS <= 150 MB.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="compress/flate")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tests", action="store_true", help="copy and analyse the tests too")
    args = parser.parse_args()
    run(args.package, args.runs, args.tests)
    return 0


if __name__ == "__main__":
    sys.exit(main())

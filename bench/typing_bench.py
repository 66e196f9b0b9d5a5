"""Benchmark the editor's side of ``heaplens serve``: hover and inlay-hint latency while
the user types, in a file with thousands of findings.

    python bench/typing_bench.py [--functions 1500] [--seconds 10] [--burst 200] [--json]

Writes a scratch module with one generated file (1,500 functions give 4,500 findings),
starts the real server over stdio with its default settings (onType, 300 ms debounce),
opens the file, waits for its diagnostics, then measures two loads:

* typing: 10 keys a second for ``--seconds`` on a comment line in the middle of the file
  (every 15th key is Enter, so every finding below moves), the analyses that follow the
  debounce running as they would;
* burst: ``--burst`` edits sent back to back with no pause (a paste, a macro, a
  formatter's many small edits), then quiet until the server has caught up.

All the while a second client thread asks, every 100 ms (once per keystroke) whether
or not it has its answers yet, a hover on a finding and the inlay hints of the 50 lines
around the cursor, as an editor does when the cursor moves, and times each from its
request to its response's bytes arriving. A load lasts until the server has published
the analysis of the last edit, so the conversion of a fresh result counts too. Figures
are p50, p95 and max per request kind and load, in milliseconds and as a ratio to a fresh
``go build -gcflags=-m=2`` of the same package in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

_METHOD = re.compile(rb'"method":\s*"([^"]+)"')
_VERSION = re.compile(rb'"version":\s*(\d+)')


def write_package(module: Path, functions: int) -> Path:
    """Three heap findings per function: ``&T{}`` returned, and two ``fmt.Sprint`` args."""
    (module / "go.mod").write_text("module example.com/typing\n\ngo 1.21\n")
    directory = module / "big"
    directory.mkdir()
    lines = ["package big", "", 'import "fmt"', ""]
    for i in range(functions):
        lines.append(f"type T{i} struct{{ A, B int }}")
        lines.append(
            f"func F{i}(n int) (*T{i}, string) {{\n\tt := &T{i}{{A: n, B: n * {i}}}\n"
            f"\tfor j := 0; j < n; j++ {{\n\t\tt.A += j\n\t}}\n\treturn t, fmt.Sprint(t.A, {i})\n}}"
        )
    path = directory / "big.go"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Arrival:
    at: float
    method: str
    version: int | None
    id: int | None
    body: bytes


class Client:
    """A bare LSP client over stdio. It timestamps each message as its bytes arrive and
    parses only small ones, so its own work is not counted as the server's latency."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        # Every message goes out through one writer thread, so the reader never waits on
        # a write: the server, blocked writing a publish nobody reads, would never read
        # the write either.
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_all, daemon=True)
        self._writer.start()
        self._id_lock = threading.Lock()
        self._cond = threading.Condition()
        self._responses: dict[int, float] = {}
        self.publishes: list[Arrival] = []
        self.logs: list[tuple[float, str]] = []
        self._id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = out.readline()
                if not line:
                    with self._cond:
                        self._cond.notify_all()
                    return
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = out.read(length)
            at = time.perf_counter()
            # Where the method is depends on the serialiser's key order: look at both ends.
            method = _METHOD.search(body[:300]) or _METHOD.search(body[-300:])
            if method is not None and method.group(1) == b"textDocument/publishDiagnostics":
                version = _VERSION.search(body[-300:])
                arrival = Arrival(
                    at, "publish", int(version.group(1)) if version else None, None, body
                )
                with self._cond:
                    self.publishes.append(arrival)
                    self._cond.notify_all()
                continue
            try:
                msg = json.loads(body)
            except ValueError:
                print(f"unreadable message: {body[:200]!r}", file=sys.stderr)
                continue
            if "method" in msg and "id" in msg:  # a request from the server
                result: object = [None] if msg["method"] == "workspace/configuration" else None
                self._write({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif "id" in msg:
                with self._cond:
                    self._responses[msg["id"]] = at
                    self._cond.notify_all()
            elif msg.get("method") == "window/logMessage":
                with self._cond:
                    self.logs.append((at, msg["params"]["message"]))
                    self._cond.notify_all()

    def _write_all(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        while (data := self._outbox.get()) is not None:
            try:
                stdin.write(data)
                stdin.flush()
            except OSError:
                return

    def _write(self, msg: dict[str, object]) -> None:
        body = json.dumps(msg).encode()
        self._outbox.put(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: object) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: object) -> int:
        with self._id_lock:
            self._id += 1
            ident = self._id
        self._write({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        return ident

    def wait_response(self, ident: int, timeout: float = 300) -> float:
        deadline = time.perf_counter() + timeout
        with self._cond:
            while ident not in self._responses:
                left = deadline - time.perf_counter()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"no response to request {ident}")
                self._cond.wait(left)
            return self._responses[ident]

    def wait_publish(self, version: int, timeout: float = 300) -> Arrival:
        deadline = time.perf_counter() + timeout
        with self._cond:
            while True:
                for p in self.publishes:
                    if p.version == version:
                        return p
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError(f"no diagnostics for version {version}")
                self._cond.wait(left)

    def wait_publish_after(self, since: float, timeout: float = 300) -> Arrival:
        deadline = time.perf_counter() + timeout
        with self._cond:
            while True:
                for p in self.publishes:
                    if p.at >= since:
                        return p
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError("no diagnostics published")
                self._cond.wait(left)

    def wait_log(self, needle: str, since: float, timeout: float = 300) -> float:
        deadline = time.perf_counter() + timeout
        with self._cond:
            while True:
                for at, message in self.logs:
                    if at >= since and needle in message:
                        return at
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError(f"no log line with {needle!r}")
                self._cond.wait(left)

    def close(self) -> None:
        self.request("shutdown", None)
        time.sleep(0.2)
        self.notify("exit", None)
        self._outbox.put(None)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class Cursor:
    """Where the user types; the requests follow it."""

    line: int
    column: int = 0
    version: int = 1
    newlines: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Typist:
    TEXT = "// typing here\n"

    def __init__(self, client: Client, uri: str, cursor: Cursor) -> None:
        self.client, self.uri, self.cursor = client, uri, cursor
        self.keys = 0

    def key(self) -> int:
        ch = self.TEXT[self.keys % len(self.TEXT)]
        self.keys += 1
        c = self.cursor
        with c.lock:
            c.version += 1
            at = {"line": c.line, "character": c.column}
            version = c.version
            if ch == "\n":
                c.line += 1
                c.column = 0
                c.newlines += 1
            else:
                c.column += 1
        self.client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": self.uri, "version": version},
                "contentChanges": [{"range": {"start": at, "end": at}, "text": ch}],
            },
        )
        return version


class Asker(threading.Thread):
    """A hover and an inlay-hint request every ``interval`` seconds until stopped, each
    sent on time whether or not the previous ones were answered (open loop): a stalled
    server then shows in every request it keeps waiting, as it does to the user."""

    def __init__(
        self,
        client: Client,
        uri: str,
        cursor: Cursor,
        targets: list[tuple[int, int]],
        interval: float = 0.1,
    ) -> None:
        super().__init__(daemon=True)
        self.client, self.uri, self.cursor, self.targets = client, uri, cursor, targets
        self.interval = interval
        self.stop = threading.Event()
        self.sent: dict[str, list[tuple[int, float]]] = {"hover": [], "inlay": []}

    def run(self) -> None:
        started = time.perf_counter()
        i = 0
        while not self.stop.is_set():
            with self.cursor.lock:
                line, shift = self.cursor.line, self.cursor.newlines
            target_line, target_col = self.targets[i % len(self.targets)]
            if target_line >= line - shift:
                target_line += shift  # below the cursor: moved down by the Enters typed
            hover = {
                "textDocument": {"uri": self.uri},
                "position": {"line": target_line, "character": target_col},
            }
            inlay = {
                "textDocument": {"uri": self.uri},
                "range": {
                    "start": {"line": max(line - 25, 0), "character": 0},
                    "end": {"line": line + 25, "character": 0},
                },
            }
            for kind, method, params in (
                ("hover", "textDocument/hover", hover),
                ("inlay", "textDocument/inlayHint", inlay),
            ):
                at = time.perf_counter()
                self.sent[kind].append((self.client.request(method, params), at))
            i += 1
            time.sleep(max(0.0, started + i * self.interval - time.perf_counter()))

    def latencies(self) -> dict[str, list[float]]:
        return {
            kind: [self.client.wait_response(ident, timeout=900) - at for ident, at in sent]
            for kind, sent in self.sent.items()
        }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float], raw: float) -> dict[str, float]:
    p50, p95, top = percentile(values, 0.5), percentile(values, 0.95), max(values, default=0)
    return {
        "n": len(values),
        "p50_ms": p50 * 1000,
        "p95_ms": p95 * 1000,
        "max_ms": top * 1000,
        "p95_over_raw": p95 / raw,
    }


def raw_build(module: Path, env: dict[str, str], n: int) -> float:
    """A fresh ``go build -gcflags=-m=2`` of the package, as a user runs it by hand."""
    target = module / "big" / "big.go"
    with open(target, "a") as f:
        f.write(f"\n// raw {n} {time.time_ns()}\n")
    t0 = time.perf_counter()
    subprocess.run(
        ["go", "build", "-o", os.devnull, "-gcflags=-m=2", "./big"],
        cwd=module,
        env=env,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - t0


def run(functions: int, seconds: float, burst: int) -> dict[str, object]:
    root = Path(tempfile.mkdtemp(prefix="heaplens-typing-bench-"))
    module = root / "module"
    module.mkdir()
    target = write_package(module, functions)
    raw_module = root / "raw"
    shutil.copytree(module, raw_module)
    env = dict(os.environ, GOFLAGS="", HEAPLENS_CACHE_DIR=str(root / "cache"))
    subprocess.run(["go", "build", "./..."], cwd=module, env=env, check=True)
    raws = [raw_build(raw_module, env, 0)]

    text = target.read_text()
    uri = target.as_uri()
    client = Client([sys.executable, "-m", "heaplens", "serve"], env)
    client.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": module.as_uri(),
            "capabilities": {
                "textDocument": {"publishDiagnostics": {"relatedInformation": True}},
                "workspace": {"inlayHint": {"refreshSupport": True}},
            },
        },
    )
    client.notify("initialized", {})
    t0 = time.perf_counter()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": text}},
    )
    first = client.wait_publish(1)
    open_to_diagnostics = first.at - t0
    diagnostics = json.loads(first.body)["params"]["diagnostics"]
    starts = [(d["range"]["start"]["line"], d["range"]["start"]["character"]) for d in diagnostics]
    client.wait_log(" verified fix(es)", 0, timeout=600)

    lines = text.splitlines()
    middle = next(i for i in range(len(lines) // 2, len(lines)) if lines[i] == "}") + 1
    cursor = Cursor(line=middle)
    # Before, around and after the cursor, so findings that moved and that did not are asked.
    targets = [starts[0], *(p for p in starts if p[0] > middle)][:: max(1, len(starts) // 40)]
    typist = Typist(client, uri, cursor)

    results: dict[str, object] = {
        "findings": len(diagnostics),
        "open_to_diagnostics_s": open_to_diagnostics,
    }
    for load in ("typing", "burst"):
        time.sleep(1.0)
        asker = Asker(client, uri, cursor, targets)
        started = time.perf_counter()
        asker.start()
        if load == "typing":
            keys = int(seconds * 10)
            for k in range(keys):
                last = typist.key()
                time.sleep(max(0.0, started + (k + 1) * 0.1 - time.perf_counter()))
        else:
            for _ in range(burst):
                last = typist.key()
        sent = time.perf_counter()
        # Quiet until the server has answered the last edit with an analysis of it.
        client.wait_publish(last, timeout=600)
        analysed = client.wait_log(" compiled, ", sent, timeout=600)
        # ... and has published what that analysis found (converting 4,500 findings), if
        # it differs from what the edits moved.
        with contextlib.suppress(TimeoutError):
            client.wait_publish_after(analysed, timeout=30)
        asker.stop.set()
        asker.join(timeout=600)
        results[load] = asker.latencies()
        raws.append(raw_build(raw_module, env, len(raws)))
    client.close()
    shutil.rmtree(root, ignore_errors=True)
    raw = statistics.median(raws)
    results["raw_m2_s"] = raw
    for load in ("typing", "burst"):
        samples = results[load]
        assert isinstance(samples, dict)
        results[load] = {kind: summary(values, raw) for kind, values in samples.items()}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=1500, help="3 findings each")
    parser.add_argument("--seconds", type=float, default=10.0, help="of typing at 10 keys/s")
    parser.add_argument("--burst", type=int, default=200, help="edits sent with no pause")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = run(args.functions, args.seconds, args.burst)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    raw = results["raw_m2_s"]
    assert isinstance(raw, float)
    print(
        f"heaplens typing benchmark — {results['findings']} findings in one file, "
        f"{os.cpu_count()} cores"
    )
    print(f"go build -gcflags=-m=2 (fresh, median): {raw:.3f} s")
    print(f"didOpen → first diagnostics:            {results['open_to_diagnostics_s']:.3f} s")
    print()
    print(
        f"{'load':<8} {'request':<7} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}",
        f"{'p95/raw':>8}",
    )
    for load in ("typing", "burst"):
        figures = results[load]
        assert isinstance(figures, dict)
        for kind, s in figures.items():
            print(
                f"{load:<8} {kind:<7} {s['n']:>5} {s['p50_ms']:>9.1f} {s['p95_ms']:>9.1f} "
                f"{s['max_ms']:>9.1f} {s['p95_over_raw']:>8.3f}"
            )
    print("Target: hover and inlay p95 < 100 ms under both loads.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

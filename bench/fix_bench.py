"""Benchmark verified fixes in ``heaplens serve``: from a file's diagnostics to its first
compiler-verified quick fix, with an empty cache and after a restart.

    python bench/fix_bench.py [--runs N] [--package small|big]

Two packages, each in a scratch module of its own:

* ``small``: examples/hotpath, one file with three fixes to verify;
* ``big``: encoding/xml's non-test files (4,400 lines) with hotpath.go added to the
  package, so every verification recompiles a real package. (The standard library itself
  offers no fix heaplens proposes.)

Per round and package, in this order:

* the raw ``go build -gcflags=-m=2`` of the package, made fresh by a unique comment in a
  copy the server does not see (as bench/server_bench.py measures it): the reference;
* cold: a server with an empty cache directory opens hotpath.go. Timed from the first
  publishDiagnostics with findings to the codeAction response that lists a quick fix with
  "verified" in its title (asked for as soon as a publish says a fix is verified);
  "all verified" is the server's log line that the package's verification has ended;
* warm: that server shut down, a new one started with the same cache directory (a
  restart): the same, which should need no compile at all.

Figures are medians of ``--runs`` rounds, each also given as a ratio to the median raw
build of the same package, measured in the same rounds: this machine is noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import goroot
from server_bench import RawClient

ROOT = Path(__file__).resolve().parents[1]
HOTPATH = ROOT / "examples" / "hotpath" / "hotpath.go"
BIG_BASE = "encoding/xml"


@dataclass
class Session:
    #: didOpen → first diagnostics with findings.
    diagnostics: float
    #: first diagnostics → a verified quick fix listed by codeAction.
    fix: float
    #: first diagnostics → the log line that verification of the package ended.
    all_verified: float
    titles: list[str]


def make_package(dest: Path, kind: str) -> Path:
    """A module in ``dest`` with the benchmarked package; returns the package directory."""
    version = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    major_minor = ".".join(version.removeprefix("go").split(".")[:2])
    (dest / "go.mod").write_text(f"module bench\n\ngo {major_minor}\n")
    pkg = dest / "pkg"
    pkg.mkdir()
    text = HOTPATH.read_text()
    if kind == "big":
        for f in (goroot() / "src" / BIG_BASE).glob("*.go"):
            if not f.name.endswith("_test.go"):
                shutil.copy(f, pkg / f.name)
        text = text.replace("package hotpath", f"package {BIG_BASE.rsplit('/', 1)[-1]}", 1)
    (pkg / "hotpath.go").write_text(text)
    return pkg


def _find(
    client: RawClient, since: float, match: Any, timeout: float = 300
) -> tuple[float, dict[str, Any]]:
    """The first message after ``since`` that ``match`` accepts, with its arrival time."""
    deadline = time.perf_counter() + timeout
    seen = 0
    while time.perf_counter() < deadline:
        client.answer_requests()
        with client._lock:
            fresh = client.messages[seen:]
            seen = len(client.messages)
        for at, m in fresh:
            if at >= since and match(m):
                return at, m
        time.sleep(0.001)
    raise TimeoutError("the server did not answer in time")


def _publish(uri: str, check: Any) -> Any:
    def match(m: dict[str, Any]) -> bool:
        p = m.get("params") or {}
        return bool(
            m.get("method") == "textDocument/publishDiagnostics"
            and p.get("uri") == uri
            and check(p.get("diagnostics") or [])
        )

    return match


def _reply_to(request: int) -> Any:
    return lambda m: m.get("id") == request and "result" in m


def _verified_diagnostic(diagnostics: list[dict[str, Any]]) -> dict[str, Any] | None:
    for d in diagnostics:
        if any(f.get("verified") for f in (d.get("data") or {}).get("fixes", [])):
            return d
    return None


def _verified_titles(result: Any) -> list[str]:
    return [
        a["title"]
        for a in result or []
        if a.get("kind") == "quickfix" and "verified" in a.get("title", "")
    ]


def session(module: Path, target: Path, cache: Path) -> Session:
    env = dict(os.environ, GOFLAGS="", HEAPLENS_CACHE_DIR=str(cache))
    client = RawClient([sys.executable, "-m", "heaplens", "serve"], env)
    try:
        client.send(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": module.as_uri(),
                "capabilities": {
                    "textDocument": {"publishDiagnostics": {"relatedInformation": True}}
                },
                "initializationOptions": {"debounceMs": 0},
            },
            request=True,
        )
        # The server is up (its imports done) before the clock starts.
        _find(client, 0, _reply_to(client._id))
        client.send("initialized", {})
        uri = target.as_uri()
        opened = time.perf_counter()
        client.send(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "go",
                    "version": 1,
                    "text": target.read_text(),
                }
            },
        )
        shown, _ = _find(client, opened, _publish(uri, bool))
        since = shown
        while True:
            at, m = _find(client, since, _publish(uri, _verified_diagnostic))
            diag = _verified_diagnostic(m["params"]["diagnostics"])
            assert diag is not None
            client.send(
                "textDocument/codeAction",
                {
                    "textDocument": {"uri": uri},
                    "range": diag["range"],
                    "context": {"diagnostics": [diag], "only": ["quickfix"]},
                },
                request=True,
            )
            answered, reply = _find(client, at, _reply_to(client._id))
            titles = _verified_titles(reply["result"])
            if titles:
                break
            since = at + 1e-9  # not listed yet: the next publish
        ended, _ = _find(
            client,
            opened,
            lambda r: (
                r.get("method") == "window/logMessage"
                and " verified fix(es)" in r["params"]["message"]
            ),
        )
        return Session(shown - opened, answered - shown, ended - shown, titles)
    finally:
        client.close()


def raw_build(raw_module: Path, raw_target: Path, text: str, n: int) -> float:
    raw_target.write_text(text + f"\n// raw {n} {time.time_ns()}\n")
    start = time.perf_counter()
    subprocess.run(
        ["go", "build", "-o", os.devnull, "-gcflags=-m=2", "./pkg"],
        cwd=raw_module,
        env=dict(os.environ, GOFLAGS=""),
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - start


def run(kind: str, runs: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="heaplens-fix-bench-"))
    try:
        module = root / "module"
        module.mkdir()
        target = make_package(module, kind) / "hotpath.go"
        subprocess.run(["go", "build", "./..."], cwd=module, check=True)  # deps built
        raw_module = root / "raw"
        shutil.copytree(module, raw_module)
        raw_target = raw_module / "pkg" / "hotpath.go"
        text = raw_target.read_text()
        lines = sum(len(p.read_text().splitlines()) for p in target.parent.glob("*.go"))
        raws: list[float] = []
        cold: list[Session] = []
        warm: list[Session] = []
        for i in range(runs):
            time.sleep(0.5)  # quiet
            raws.append(raw_build(raw_module, raw_target, text, i))
            cache = root / f"cache-{i}"
            cold.append(session(module, target, cache))
            warm.append(session(module, target, cache))
            shutil.rmtree(cache, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    raw = statistics.median(raws)
    if os.environ.get("HEAPLENS_BENCH_DEBUG"):
        print("raw", [round(x, 3) for x in raws])
        for name, rows in (("cold", cold), ("warm", warm)):
            print(name, [(round(s.fix, 3), round(s.all_verified, 3)) for s in rows])
    print(
        f"heaplens verified-fix benchmark — {kind} ({lines} lines in the package), "
        f"median of {runs} rounds, {os.cpu_count()} cores"
    )
    print(f"go build -gcflags=-m=2 (fresh):         {raw:.3f} s")
    for name, rows in (("cold (empty cache)", cold), ("warm (restarted)", warm)):
        diag = statistics.median(s.diagnostics for s in rows)
        fix = statistics.median(s.fix for s in rows)
        every = statistics.median(s.all_verified for s in rows)
        print(f"{name}:")
        print(f"  didOpen → diagnostics:               {diag:.3f} s  = {diag / raw:.2f}x")
        print(f"  diagnostics → verified quick fix:    {fix:.3f} s  = {fix / raw:.2f}x")
        print(f"  diagnostics → all fixes verified:    {every:.3f} s  = {every / raw:.2f}x")
    print(f"first fix offered: {cold[-1].titles[0]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--package", choices=("small", "big"), help="default: both")
    args = parser.parse_args()
    for kind in [args.package] if args.package else ["small", "big"]:
        run(kind, args.runs)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark heaplens on a Go file whose code is one ~5 MB line.

    python bench/huge_line_bench.py [--megabytes 5] [--functions 3000] [--keys 5] [--json]

Writes a scratch module with one file: ``--functions`` small functions with heap
findings, separated by block comments that pad the line to ``--megabytes``, all on
line 1. Then measures, in the same run:

* a fresh ``go build -gcflags=-m=2`` of the package (the reference);
* ``heaplens check --format json`` and ``--format sarif`` as CLI processes, each on a
  fresh compile (a comment appended to the file first);
* the server (debounce 0): didOpen → first diagnostics, then per keystroke (typed at the
  start of the line, so every finding on it moves) didChange → the findings moved, and
  didChange → the diagnostics of the analysis of that version;
* hover at the line's last finding while the server is idle, a few times.

``--cjk`` ends each padding comment in Chinese, so the line is not ASCII and every column
is a real UTF-16 conversion; ``--no-server`` measures the CLI only. Every figure is also
given as a ratio to the raw build. The target: nothing slower than
a compile (ratio 1 or less, for the CLI check add heaplens's own share).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from typing_bench import Client


def write_package(module: Path, megabytes: float, functions: int, cjk: bool) -> Path:
    (module / "go.mod").write_text("module example.com/longline\n\ngo 1.21\n")
    directory = module / "one"
    directory.mkdir()
    head = 'package one; import "fmt"; type T struct{ A, B int }; '
    funcs = [
        f"func F{i}(n int) (*T, string) {{ t := &T{{A: n, B: {i}}}; return t, fmt.Sprint(t.A) }}; "
        for i in range(functions)
    ]
    size = int(megabytes * 1_000_000)
    pad = max(0, (size - len(head) - sum(map(len, funcs))) // functions - 5)
    # With ``cjk`` each comment ends in Chinese: the line is not ASCII, so every column
    # is a real UTF-16 conversion.
    filler = "x" * (pad - 8) + " 中文 " if cjk else "x" * pad
    line = head + "".join(f"{f}/*{filler}*/ " for f in funcs)
    path = directory / "one.go"
    path.write_text(line + "\n")
    return path


def fresh(path: Path, n: int) -> None:
    with open(path, "a") as f:
        f.write(f"// fresh {n} {time.time_ns()}\n")


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True)
    took = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed:\n{proc.stderr.decode()[-2000:]}")
    return took


def run(
    megabytes: float, functions: int, keys: int, cjk: bool, server: bool, rounds: int = 3
) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="heaplens-long-line-bench-"))
    module = root / "module"
    module.mkdir()
    target = write_package(module, megabytes, functions, cjk)
    cli_module = root / "cli"
    shutil.copytree(module, cli_module)
    cli_target = cli_module / "one" / "one.go"
    env = dict(os.environ, GOFLAGS="", HEAPLENS_CACHE_DIR=str(root / "cache"))
    subprocess.run(["go", "build", "./..."], cwd=module, env=env, check=True)

    n = 0
    raws, checks, sarifs = [], [], []
    heaplens = [sys.executable, "-m", "heaplens", "check", "--no-tests", "--format"]
    for _ in range(rounds):
        for kind, out in (("raw", raws), ("json", checks), ("sarif", sarifs)):
            n += 1
            fresh(cli_target, n)
            if kind == "raw":
                argv = ["go", "build", "-o", os.devnull, "-gcflags=-m=2", "./one"]
            else:
                argv = [*heaplens, kind, "./one"]
            out.append(timed(argv, cli_module, env))
    raw = statistics.median(raws)
    out = subprocess.run(
        [*heaplens, "json", "./one"], cwd=cli_module, env=env, capture_output=True, check=False
    )
    findings = len(json.loads(out.stdout)["findings"])
    figures = {
        "megabytes": megabytes,
        "findings": findings,
        "raw_m2_s": raw,
        "check_json_s": statistics.median(checks),
        "check_sarif_s": statistics.median(sarifs),
    }
    if not server:
        shutil.rmtree(root, ignore_errors=True)
        return figures

    uri = target.as_uri()
    client = Client([sys.executable, "-m", "heaplens", "serve"], env)
    client.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": module.as_uri(),
            "capabilities": {"textDocument": {"publishDiagnostics": {"relatedInformation": True}}},
            "initializationOptions": {"debounceMs": 0},
        },
    )
    client.notify("initialized", {})
    item = {"uri": uri, "languageId": "go", "version": 1, "text": target.read_text()}
    t0 = time.perf_counter()
    client.notify("textDocument/didOpen", {"textDocument": item})
    first = client.wait_publish(1, timeout=900).at - t0
    diagnostics = json.loads(client.wait_publish(1).body)["params"]["diagnostics"]
    last = max(diagnostics, key=lambda d: d["range"]["start"]["character"])["range"]["start"]
    client.wait_log(" verified fix(es)", 0, timeout=900)

    moved, analysed = [], []
    for version in range(2, keys + 2):
        time.sleep(1.0)
        at = {"line": 0, "character": 0}
        sent = time.perf_counter()
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": at, "end": at}, "text": " "}],
            },
        )
        moved.append(client.wait_publish(version, timeout=900).at - sent)
        done = client.wait_log(" compiled, ", sent, timeout=900)
        with_analysis = [p.at for p in client.publishes if p.version == version and p.at >= done]
        analysed.append((with_analysis[0] if with_analysis else done) - sent)
        client.wait_log(" verified fix(es)", sent, timeout=900)
    hovers = []
    for _ in range(5):
        t0 = time.perf_counter()
        ident = client.request(
            "textDocument/hover",
            {
                "textDocument": {"uri": uri},
                "position": {"line": 0, "character": last["character"] + keys},
            },
        )
        hovers.append(client.wait_response(ident) - t0)
    client.close()
    shutil.rmtree(root, ignore_errors=True)
    return {
        **figures,
        "open_to_diagnostics_s": first,
        "key_to_moved_s": statistics.median(moved),
        "key_to_analysed_s": statistics.median(analysed),
        "hover_s": statistics.median(hovers),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=5.0)
    parser.add_argument("--functions", type=int, default=3000)
    parser.add_argument("--keys", type=int, default=5, help="keystrokes typed in the server")
    parser.add_argument("--cjk", action="store_true", help="end each comment in Chinese")
    parser.add_argument("--no-server", action="store_true", help="the CLI only")
    parser.add_argument("--rounds", type=int, default=3, help="of the CLI measurements")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    r = run(args.megabytes, args.functions, args.keys, args.cjk, not args.no_server, args.rounds)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    raw = r["raw_m2_s"]
    print(
        f"heaplens long-line benchmark — one {r['megabytes']:.1f} MB line, "
        f"{r['findings']:.0f} findings, {os.cpu_count()} cores; medians"
    )
    rows = [
        ("go build -gcflags=-m=2 (fresh)", raw),
        ("heaplens check --format json", r["check_json_s"]),
        ("heaplens check --format sarif", r["check_sarif_s"]),
        ("server: didOpen → diagnostics", r.get("open_to_diagnostics_s")),
        ("server: key → findings moved", r.get("key_to_moved_s")),
        ("server: key → its analysis shown", r.get("key_to_analysed_s")),
        ("server: hover on the line", r.get("hover_s")),
    ]
    for name, seconds in rows:
        if seconds is not None:
            print(f"{name:<36} {seconds:>9.3f} s  {seconds / raw:>6.2f}x raw")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the edit path with the compiler that stops after escape analysis.

    python bench/stopped_bench.py [--runs N]

Copies compress/flate, encoding/xml and go/printer (their non-test files) into a scratch
module, builds the stopped compiler (``analysis.stopped_compiler``) into the server's
cache first, starts the real server over stdio with the tests off and opens the largest
file of each package. Then, per round and per package, interleaved in one run:

* the raw ``go build -gcflags=-m=2`` of the package, fresh (its copy edited);
* gopls's method, ``go test -c -vet=off -o /dev/null -gcflags=-json=0,<fresh dir> .``;
* heaplens: didChange (a comment appended) → publishDiagnostics for that version.

After each edit the server's full compile of the same text (asked for when idle) is
waited for, so that it never overlaps the next measurement. Figures are medians, as
ratios to the raw ``-m=2`` build, with the share of heaplens's latency spent waiting for
the compiler (from the server's log).
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import make_module
from server_bench import RawClient

PACKAGES = ("compress/flate", "encoding/xml", "go/printer")
HEAPLENS_BENCH_DEBUG = bool(os.environ.get("HEAPLENS_BENCH_DEBUG"))


def _prebuild(env: dict[str, str]) -> None:
    from heaplens import toolchain
    from heaplens.analysis import stopped_compiler

    safe = toolchain.safe_env(env)
    go = toolchain.go_env(toolchain.find_go(None, safe), safe, os.getcwd(), toolchain.Deadline(60))
    compilers = stopped_compiler.Compilers(os.path.join(env["HEAPLENS_CACHE_DIR"], "compilers"))
    if compilers.get(go, safe, wait=True) is None:
        raise SystemExit(f"no stopped compiler: {compilers.note(go)}")


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    return time.perf_counter() - t0


def run(runs: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="heaplens-stopped-bench-"))
    module, raw_module = root / "module", root / "raw"
    module.mkdir()
    make_module(module)
    env = dict(os.environ, GOFLAGS="", HEAPLENS_CACHE_DIR=str(root / "cache"))
    subprocess.run(["go", "build", "./..."], cwd=module, env=env, check=True)
    shutil.copytree(module, raw_module)
    _prebuild(env)
    client = RawClient([sys.executable, "-m", "heaplens", "serve"], env)
    client.send(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": module.as_uri(),
            "capabilities": {"textDocument": {"publishDiagnostics": {"relatedInformation": True}}},
            "initializationOptions": {"debounceMs": 0, "tests": False},
        },
        request=True,
    )
    client.send("initialized", {})
    targets, texts, versions = {}, {}, {}
    for pkg in PACKAGES:
        files = (p for p in (module / pkg).glob("*.go") if not p.name.endswith("_test.go"))
        targets[pkg] = max(files, key=lambda p: p.stat().st_size)
        texts[pkg] = targets[pkg].read_text()
        versions[pkg] = 1
        doc = {"uri": targets[pkg].as_uri(), "languageId": "go", "version": 1}
        client.send("textDocument/didOpen", {"textDocument": {**doc, "text": texts[pkg]}})
        client.wait_publish(targets[pkg].as_uri(), 1, 0)
    figures: dict[str, dict[str, list[float]]] = {
        p: {"raw": [], "gopls": [], "edit": [], "go": []} for p in PACKAGES
    }
    for i in range(runs + 1):  # the first round warms up and is not counted
        for pkg in PACKAGES:
            _round(client, pkg, i, targets[pkg], texts, versions, raw_module, env, figures, i > 0)
    client.close()
    shutil.rmtree(root, ignore_errors=True)
    _report(figures, runs)


def _round(
    client: RawClient,
    pkg: str,
    i: int,
    target: Path,
    texts: dict[str, str],
    versions: dict[str, int],
    raw_module: Path,
    env: dict[str, str],
    figures: dict[str, dict[str, list[float]]],
    counted: bool,
) -> None:
    raw_target = raw_module / pkg / target.name
    raw_target.write_text(texts[pkg] + f"\n// raw {i} {time.time_ns()}\n")
    raw = _timed(["go", "build", "-o", os.devnull, "-gcflags=-m=2", f"./{pkg}"], raw_module, env)
    raw_target.write_text(texts[pkg] + f"\n// gopls {i} {time.time_ns()}\n")
    log_dir = tempfile.mkdtemp(prefix="gopls-")
    gopls = _timed(
        ["go", "test", "-c", "-vet=off", "-o", os.devnull, f"-gcflags=-json=0,{log_dir}", "."],
        raw_module / pkg,
        env,
    )
    shutil.rmtree(log_dir, ignore_errors=True)
    lines = texts[pkg].count("\n")
    versions[pkg] += 1
    new = f"// edit {i} {time.time_ns()}\n"
    texts[pkg] += new
    since = time.perf_counter()
    rng = {"start": {"line": lines, "character": 0}, "end": {"line": lines, "character": 0}}
    client.send(
        "textDocument/didChange",
        {
            "textDocument": {"uri": target.as_uri(), "version": versions[pkg]},
            "contentChanges": [{"range": rng, "text": new}],
        },
    )
    edit = client.wait_publish(target.as_uri(), versions[pkg], since)
    client.wait_log(" from cache, ", since)
    split = client.last_timing(since)
    stopped = client.last_log(since)
    if HEAPLENS_BENCH_DEBUG:
        print(pkg, round(edit, 3), stopped, file=sys.stderr)
    if " 0 stopped" not in stopped:  # the full compile of the same text, when idle
        client.wait_log(" 0 stopped", time.perf_counter())
    if counted:
        row = figures[pkg]
        row["raw"].append(raw)
        row["gopls"].append(gopls)
        row["edit"].append(edit)
        if split is not None:
            row["go"].append(split[0])


def _report(figures: dict[str, dict[str, list[float]]], runs: int) -> None:
    print(
        f"stopped-compiler edit benchmark, median of {runs} interleaved rounds, "
        f"{os.cpu_count()} cores"
    )
    for pkg, row in figures.items():
        raw, gopls, edit = (statistics.median(row[k]) for k in ("raw", "gopls", "edit"))
        go = statistics.median(row["go"]) if row["go"] else float("nan")
        print(
            f"{pkg:16} raw -m=2 {raw:.3f} s  gopls {gopls:.3f} s ({gopls / raw:.2f}x)  "
            f"heaplens edit {edit:.3f} s = {edit / raw:.2f}x raw, {edit / gopls:.2f}x gopls; "
            f"compiler {go:.3f} s = {go / edit:.0%} of it"
        )
    print("Target: compress/flate edit <= 0.5x the raw -m=2 build.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    run(parser.parse_args().runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

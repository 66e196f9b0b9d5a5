"""Benchmark profile-guided ranking: how long reading a profile and joining it to the
findings take, as a share of a ``heaplens check`` of a large module.

    python bench/profile_bench.py [--module golang.org/x/net@v0.62.0] [--package ./html]
                                  [--runs 3] [--json]

1. The module comes through the Go module proxy (``go mod download -json``) and is copied
   to a scratch directory; its dependencies are downloaded there too.
2. A real profile of it: ``go test -bench . -benchmem -memprofile -memprofilerate 1
   -cpuprofile`` on ``--package`` (every allocation sampled: the largest profile a user
   can make of it).
3. Then, per run and in the same round: the raw ``go build -gcflags=-m=2 ./...`` (the
   reference every figure is a ratio to), ``heaplens check ./...`` in-process with no
   result cache, reading both profiles (``read_profiles``), and joining them to that
   check's findings (``join``).

The figure the issue sets a target for is (read + join) / check: at most 10%.
Medians of ``--runs`` rounds are printed.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from heaplens.analysis import Engine, Options
from heaplens.cache import ResultCache
from heaplens.profiles import join, read_profiles


def fetch(module: str, scratch: Path, env: dict[str, str]) -> Path:
    """The module's source, copied out of the module cache and made writable."""
    out = subprocess.run(
        ["go", "mod", "download", "-json", module],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=scratch,
    ).stdout
    source = Path(json.loads(out)["Dir"])
    target = scratch / "module"
    shutil.copytree(source, target)
    for root, dirs, files in os.walk(target):
        for name in (*dirs, *files):
            os.chmod(os.path.join(root, name), 0o755)
    subprocess.run(["go", "mod", "download"], cwd=target, check=True, env=env)
    return target


def profile(module: Path, package: str, scratch: Path, env: dict[str, str]) -> list[str]:
    mem, cpu = scratch / "mem.out", scratch / "cpu.out"
    subprocess.run(
        [
            "go",
            "test",
            "-run",
            "^$",
            "-bench",
            ".",
            "-benchmem",
            "-benchtime",
            "100x",
            "-memprofilerate",
            "1",
            "-memprofile",
            str(mem),
            "-cpuprofile",
            str(cpu),
            package,
        ],
        cwd=module,
        check=True,
        env=env,
        capture_output=True,
    )
    return [str(mem), str(cpu)]


def timed(fn: object) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()  # type: ignore[operator]
    return time.perf_counter() - start, value


def one_round(module: Path, profiles: list[str], env: dict[str, str]) -> dict[str, float]:
    raw, _ = timed(
        lambda: subprocess.run(
            ["go", "build", "-gcflags=-m=2", "./..."],
            cwd=module,
            env=env,
            capture_output=True,
            check=True,
        )
    )
    check_s, result = timed(
        lambda: Engine(Options(), ResultCache(None)).check(["./..."], str(module))
    )
    read_s, loaded = timed(lambda: read_profiles(profiles))
    join_s, (joined, report) = timed(lambda: join(result, loaded))  # type: ignore[arg-type]
    costed = sum(1 for f in joined.findings if f.cost is not None and f.cost.seen)
    return {
        "raw_m2_s": raw,
        "check_s": check_s,
        "read_s": read_s,
        "join_s": join_s,
        "share_of_check": (read_s + join_s) / check_s,
        "read_over_raw": read_s / raw,
        "join_over_raw": join_s / raw,
        "check_over_raw": check_s / raw,
        "findings": float(len(joined.findings)),
        "findings_charged": float(costed),
        "attributed_share": report.attributed_share,
        "alloc_samples": float(len(loaded.alloc_samples)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", default="golang.org/x/net@v0.62.0")
    ap.add_argument("--package", default="./html", help="the package whose benchmarks run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    env = dict(os.environ, GOFLAGS="-mod=mod")
    with tempfile.TemporaryDirectory(prefix="heaplens-profile-bench-") as tmp:
        scratch = Path(tmp)
        module = fetch(args.module, scratch, env)
        profiles = profile(module, args.package, scratch, env)
        rounds = [one_round(module, profiles, env) for _ in range(args.runs)]
    medians = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    if args.json:
        print(json.dumps({"module": args.module, "rounds": rounds, "median": medians}, indent=2))
        return 0
    m = medians
    print(f"{args.module}: {int(m['findings'])} findings, {int(m['alloc_samples'])} stacks")
    print(f"  raw go build -gcflags=-m=2 ./...  {m['raw_m2_s']:7.2f} s   1.00x")
    print(f"  heaplens check ./... (no cache)   {m['check_s']:7.2f} s   {m['check_over_raw']:.2f}x")
    print(f"  read the profiles                 {m['read_s']:7.3f} s   {m['read_over_raw']:.3f}x")
    print(f"  join them to the findings         {m['join_s']:7.3f} s   {m['join_over_raw']:.3f}x")
    print(f"  read + join, share of the check   {m['share_of_check']:.1%} (target <= 10%)")
    print(
        f"  findings charged {int(m['findings_charged'])}, attributed share "
        f"{m['attributed_share']:.1%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

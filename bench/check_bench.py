"""Benchmark ``heaplens check`` against the raw compiler on real packages.

    python bench/check_bench.py [--runs N] [--keep DIR]

Copies real standard-library packages that import no ``internal/`` package
(compress/flate, encoding/xml, go/printer, regexp/syntax; their non-test files) into a
scratch module, then measures, per package and in the same run:

* ``go build -gcflags=-m=2``: what a user runs by hand (the reference);
* ``go build``: the compiler's floor;
* heaplens's first check of the package just changed (no result cached; the package
  graph known from an earlier check, as on every edit), in-process and as a CLI process;
* a cold check: nothing stored at all, so ``go list`` must load the graph first;
* a repeated check of the unchanged package, in-process and as a CLI process;
* the engine's own overhead, as a share of the time in ``go``: parse + model + ranges
  (reading the log, classifying, ranges and reasons), and all of heaplens's own work.
  Both count wall time the user waits for: work done while the compiler runs (parsing the
  sources, loading unchanged files' findings) counts only where the compiler finished first.

Every figure is a ratio to the raw ``-m=2`` build of the same package, measured in the
same round, because this machine is noisy. Each compile is made fresh by appending a
unique comment to one file, as an edit would. Medians of ``--runs`` rounds are printed.
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

PACKAGES = ("compress/flate", "encoding/xml", "go/printer", "regexp/syntax")


def goroot() -> Path:
    out = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def make_module(dest: Path, with_tests: bool = False) -> None:
    version = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    major_minor = ".".join(version.removeprefix("go").split(".")[:2])
    # The copied sources use the language of the toolchain they came with.
    (dest / "go.mod").write_text(f"module bench\n\ngo {major_minor}\n")
    src = goroot() / "src"
    for pkg in PACKAGES:
        target = dest / pkg
        target.mkdir(parents=True)
        for f in (src / pkg).glob("*.go"):
            if with_tests or not f.name.endswith("_test.go"):
                shutil.copy(f, target / f.name)


class Perturber:
    """Makes the next compile of a package fresh, the way an edit would.

    ``append`` adds a comment at the end of the package's first file, as typing at its
    end would: no position moves. ``insert`` adds it as a new line in the middle of
    that file, as pressing Enter there would: every position below it moves, so the
    compiler's log of that file changes from there on.
    """

    def __init__(self, module: Path, edit: str = "append") -> None:
        self.module = module
        self.edit = edit
        self.n = 0

    def touch(self, pkg: str) -> None:
        self.n += 1
        first = sorted((self.module / pkg).glob("*.go"))[0]
        comment = f"// bench edit {self.n} {time.time_ns()}\n"
        if self.edit == "append":
            with open(first, "a") as f:
                f.write("\n" + comment)
            return
        lines = first.read_text().splitlines(keepends=True)
        # Between two top-level declarations, so the comment never lands in a string.
        middle = len(lines) // 2
        at = next((i for i in range(middle, len(lines)) if lines[i].startswith("}")), middle)
        lines.insert(at + 1, comment)
        first.write_text("".join(lines))


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed:\n{proc.stderr.decode()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the scratch module here and keep it")
    parser.add_argument(
        "--edit",
        choices=("append", "insert"),
        default="append",
        help="append a comment to a file, or insert it as a line mid-file (moves positions)",
    )
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
    from heaplens.analysis import Engine, Options
    from heaplens.cache import ResultCache

    root = args.keep or Path(tempfile.mkdtemp(prefix="heaplens-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    module = root / "module"
    if module.exists():
        shutil.rmtree(module)
    module.mkdir()
    make_module(module)
    cache_dir = root / "cache"
    env = dict(os.environ, GOFLAGS="", HEAPLENS_CACHE_DIR=str(cache_dir))
    # An installed heaplens has byte-compiled modules; let the CLI runs have them too.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["GOFLAGS"] = ""
    perturb = Perturber(module, args.edit)
    heaplens_cli = [sys.executable, "-m", "heaplens", "check", "--no-tests", "--format", "json"]
    # Warm the build cache with every dependency, so only the package itself compiles.
    subprocess.run(["go", "build", "./..."], cwd=module, env=env, check=True)

    cores = os.cpu_count()
    print(f"heaplens check benchmark — {runs_note(args.runs)}; edit: {args.edit}; {cores} cores")
    print(f"go: {subprocess.run(['go', 'version'], capture_output=True, text=True).stdout.strip()}")
    print()
    header = (
        f"{'package':<15} {'-m=2 s':>7} {'plain/m2':>9} {'first/m2':>9} {'first/plain':>11} "
        f"{'cold/m2':>8} {'cli1st/m2':>10} {'repeat s':>9} {'cli-rep s':>10} {'parse':>6} "
        f"{'parse/plain':>11} {'overhead':>9}"
    )
    print(header)
    print("-" * len(header))
    for pkg in PACKAGES:
        rows: dict[str, list[float]] = {
            k: []
            for k in (
                "m2",
                "plain",
                "first",
                "cold",
                "cli_first",
                "repeat",
                "cli_repeat",
                "parse",
                "parse_plain",
                "overhead",
            )
        }
        for _ in range(args.runs):
            perturb.touch(pkg)
            rows["m2"].append(
                timed(["go", "build", "-o", os.devnull, "-gcflags=-m=2", f"./{pkg}"], module, env)
            )
            perturb.touch(pkg)
            rows["plain"].append(timed(["go", "build", "-o", os.devnull, f"./{pkg}"], module, env))

            perturb.touch(pkg)
            engine = Engine(Options(tests=False), ResultCache(str(cache_dir)))
            engine.go_env(str(module))  # toolchain discovery is once per server, not per edit
            start = time.perf_counter()
            result = engine.check([f"./{pkg}"], str(module))
            rows["first"].append(time.perf_counter() - start)
            compile_s = result.stats.go_seconds
            rows["overhead"].append(result.stats.engine_seconds / compile_s if compile_s else 0)
            rows["parse"].append(result.stats.parse_seconds / compile_s if compile_s else 0)
            rows["parse_plain"].append(result.stats.parse_seconds / rows["plain"][-1])
            assert result.stats.compiled_units == 1, result.stats
            start = time.perf_counter()
            again = engine.check([f"./{pkg}"], str(module))
            rows["repeat"].append(time.perf_counter() - start)
            assert again.stats.compiled_units == 0, again.stats

            perturb.touch(pkg)
            cold_cache = Path(tempfile.mkdtemp(prefix="cold-", dir=root))
            cold = Engine(Options(tests=False), ResultCache(str(cold_cache)))
            cold.go_env(str(module))
            start = time.perf_counter()
            cold.check([f"./{pkg}"], str(module))
            rows["cold"].append(time.perf_counter() - start)
            shutil.rmtree(cold_cache, ignore_errors=True)

            perturb.touch(pkg)
            rows["cli_first"].append(timed([*heaplens_cli, f"./{pkg}"], module, env))
            rows["cli_repeat"].append(timed([*heaplens_cli, f"./{pkg}"], module, env))

        med = {k: statistics.median(v) for k, v in rows.items()}
        m2 = med["m2"]
        print(
            f"{pkg:<15} {m2:>7.3f} {med['plain'] / m2:>9.2f} {med['first'] / m2:>9.2f} "
            f"{med['first'] / med['plain']:>11.2f} {med['cold'] / m2:>8.2f} "
            f"{med['cli_first'] / m2:>10.2f} {med['repeat']:>9.3f} {med['cli_repeat']:>10.3f} "
            f"{med['parse']:>6.1%} {med['parse_plain']:>11.1%} {med['overhead']:>9.1%}"
        )
    print()
    print("first/m2: heaplens's first check (in-process) over a fresh `go build -gcflags=-m=2`.")
    print("cold/m2: the same with nothing stored at all (go list loads the package graph).")
    print("cli1st/m2: the same as a `heaplens check` process, interpreter start included.")
    print("repeat: unchanged package, answered from heaplens's cache (seconds).")
    print("parse: reading the compiler's log, findings, ranges, reasons; over the time in `go`")
    print("  (heaplens's own compile of the package); parse/plain: over the plain `go build`.")
    print("overhead: all of heaplens's own work (fix candidates, cache) over the time in `go`.")
    print("Targets: engine overhead (parse + model + ranges: the parse column) <= 5% of the")
    print("compile, repeat <= 0.15 s, first/m2 <= 0.8.")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def runs_note(n: int) -> str:
    return f"median of {n} rounds"


if __name__ == "__main__":
    sys.exit(main())

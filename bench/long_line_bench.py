"""Benchmark recovering places past byte column 255 on one very long line.

    python bench/long_line_bench.py [--mb 1.0] [--mb 2.0]

Writes a package that is one line of small functions (each moves a variable to the heap
and leaks a parameter: two findings and a flow per function, all past byte 255, so the
compiler logs every one of them at column 255), then measures in the same run:

* ``go build`` of the package, fresh: the compiler's floor (the reference);
* ``go build -gcflags=-json=0,DIR``: the log heaplens reads;
* ``saturation.recover`` on that log, in-process: the work this benchmark is about;
* ``heaplens check --format json`` as a CLI process with nothing cached.

Each figure is printed as a ratio to the plain build. Run at two sizes: recovery that is
linear in the line keeps the same ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from heaplens import compiler_output, findings, saturation
from heaplens.syntax import SourceFile


def write_package(root: Path, size: int) -> Path:
    parts = [f"package long; var sink any; var _ = {uuid.uuid4().int % 10**9}"]
    total, i = 0, 0
    while total < size:
        one = f"func F{i}(p *int) *int {{ x := {i}; sink = &x; return p }}"
        parts.append(one)
        total += len(one) + 2
        i += 1
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text("module example.com/long\n\ngo 1.21\n")
    path = root / "long.go"
    path.write_text("; ".join(parts) + "\n")
    return path


def timed(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, action="append", help="line size in MB")
    sizes = parser.parse_args().mb or [1.0]
    for mb in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "m"
            path = write_package(root, int(mb * 1_000_000))
            plain = timed(["go", "build", "-o", os.devnull, "."], root)
            write_package(root, int(mb * 1_000_000))  # a fresh compile, as an edit makes
            log = Path(tmp) / "log"
            logged = timed(["go", "build", "-o", os.devnull, f"-gcflags=-json=0,{log}"], root)
            raw = compiler_output.read_log_dir(str(log))
            src = SourceFile(str(path), path.read_bytes())
            _ = src.tree  # parsed before the clock starts: every check parses anyway
            start = time.perf_counter()
            out = saturation.recover(
                raw.diagnostics,
                lambda f, src=src, name=str(path): src if f == name else None,
                lambda s: findings._NAME.fullmatch(s) is not None,
            )
            recovered = time.perf_counter() - start
            placed = sum(1 for d in out if d.position.column != saturation.COLUMN_MAX)
            write_package(root, int(mb * 1_000_000))
            env = dict(os.environ, HEAPLENS_CACHE_DIR=str(Path(tmp) / "cache"))
            cmd = [sys.executable, "-m", "heaplens", "check", "--format", "json", "."]
            check = timed(cmd, root, env)
            print(
                f"{mb:.1f} MB, {len(out)} records, {placed} placed: go build {plain:.1f} s; "
                f"-json build {logged / plain:.2f}x; recover {recovered / plain:.3f}x "
                f"({recovered:.2f} s); heaplens check {check / plain:.2f}x"
            )


if __name__ == "__main__":
    main()

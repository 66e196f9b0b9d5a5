"""Shared test helpers: fixture modules copied to a temporary directory, the CLI run as a
real subprocess, and an isolated result cache per test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
MODULES = FIXTURES / "modules"


def copy_module(name: str, dest: Path) -> Path:
    """Copy a fixture module (or ``examples/<name>``) into ``dest`` and return its path."""
    src = MODULES / name
    if not src.exists():
        src = ROOT / "examples" / name
    target = dest / name
    shutil.copytree(src, target)
    return target


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    d = tmp_path / "heaplens-cache"
    d.mkdir()
    return d


@pytest.fixture
def cli_env(cache_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HEAPLENS_CACHE_DIR"] = str(cache_dir)
    return env


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "heaplens", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_cli_on_a_terminal(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Run the CLI with its stderr on a pseudo-terminal: its exit code and all it wrote
    there (progress lines appear only on a terminal)."""
    import pty

    main, secondary = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "heaplens", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=secondary,
        timeout=300,
    )
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    return proc.returncode, seen


def check_json(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    proc = run_cli("check", "--format", "json", *args, cwd=cwd, env=env)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(
            f"not JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        ) from None
    return proc.returncode, data, proc.stderr


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[Path]:
    yield copy_module("corpus", tmp_path)


def line_of(path: Path, needle: str) -> tuple[int, bytes]:
    """1-based line number and bytes of the first line containing ``needle``."""
    for i, line in enumerate(path.read_bytes().splitlines(), 1):
        if needle.encode() in line:
            return i, line
    raise AssertionError(f"{needle!r} not in {path}")


def dep_workspace(tmp_path: Path, more_b: str = "") -> Path:
    """Package b passes &x to a.Keep, which does not keep it (yet): x stays on the stack.

    Tests change a.Keep to keep its argument and expect b's x to move to the heap.
    """
    mod = tmp_path / "dep"
    (mod / "a").mkdir(parents=True)
    (mod / "b").mkdir()
    (mod / "go.mod").write_text("module example.com/dep\n\ngo 1.21\n")
    (mod / "a" / "a.go").write_text(
        "package a\n\n//go:noinline\nfunc Keep(p *int) int { return *p }\n"
    )
    (mod / "b" / "b.go").write_text(
        'package b\n\nimport "example.com/dep/a"\n\n'
        "func Use() int {\n\tx := 1\n\treturn a.Keep(&x)\n}\n" + more_b
    )
    return mod


def write_big_package(module: Path, name: str, functions: int = 1500) -> Path:
    """A package that takes the compiler a second or more: for progress and cancellation."""
    directory = module / name
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"package {name}", "", 'import "fmt"', ""]
    for i in range(functions):
        lines.append(f"type T{i} struct{{ A, B int }}")
        lines.append(
            f"func F{i}(n int) (*T{i}, string) {{\n\tt := &T{i}{{A: n, B: n * {i}}}\n"
            f"\tfor j := 0; j < n; j++ {{\n\t\tt.A += j\n\t}}\n\treturn t, fmt.Sprint(t.A, {i})\n}}"
        )
    path = directory / f"{name}.go"
    path.write_text("\n".join(lines) + "\n")
    return path


def hanging_go(directory: Path) -> Path:
    """A ``go`` that hangs on every subcommand, ``env`` and ``version`` included, and
    leaves a child behind to be killed with it."""
    path = directory / "hangbin" / "go"
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\nsleep 300 &\nsleep 300\n")
    path.chmod(0o755)
    return path


_prebuilding: list[threading.Thread] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(item.nodeid.startswith("tests/test_stopped_compiler.py") for item in session.items):
        from test_stopped_compiler import prebuild

        thread = threading.Thread(target=prebuild, name="prebuild-stopped", daemon=True)
        _prebuilding.append(thread)
        thread.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    # A session that ends before the background builds do (a run of a few tests) must
    # not leave a `go build` behind.
    if any(t.is_alive() for t in _prebuilding):
        from heaplens import toolchain

        toolchain.kill_all_running()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.reliability.harness import TALLY

    if TALLY.cases:
        terminalreporter.write_line(
            f"reliability corpus: {TALLY.cases} cases tried, crashes {TALLY.crashes}, "
            f"hangs {TALLY.hangs}, orphaned processes {TALLY.orphans}, "
            f"data lost {TALLY.data_lost}"
        )

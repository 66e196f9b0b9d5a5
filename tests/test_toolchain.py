"""Finding, vetting and running ``go``: missing or old toolchains, hangs, garbage, and the
safe environment every run gets. Fake ``go`` scripts here stand in for faults only."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from conftest import copy_module, run_cli
from heaplens import toolchain


def _fake_go(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fakebin" / "go"
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_missing_go(corpus: Path, cli_env: dict[str, str]) -> None:
    env = dict(cli_env, PATH="/nonexistent")
    proc = run_cli("check", "./esc", cwd=corpus, env=env)
    assert proc.returncode == 2
    assert "Go toolchain was not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli("check", "--go", "/no/such/go", "./esc", cwd=corpus, env=cli_env)
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_too_old_go_is_refused(tmp_path: Path, corpus: Path, cli_env: dict[str, str]) -> None:
    fake = _fake_go(
        tmp_path,
        'if [ "$1" = env ]; then echo \'{"GOVERSION": "go1.20.14", "GOROOT": "/x"}\'; exit 0; fi\n'
        "exit 1\n",
    )
    proc = run_cli("check", "--go", str(fake), "./esc", cwd=corpus, env=cli_env)
    assert proc.returncode == 2
    assert "go1.20.14" in proc.stderr and "Go 1.21 or newer" in proc.stderr


def test_hanging_go_is_killed_with_its_children(
    tmp_path: Path, corpus: Path, cli_env: dict[str, str]
) -> None:
    pids = tmp_path / "pids"
    fake = _fake_go(
        tmp_path,
        f'if [ "$1" = env ]; then exec {os.environ.get("GO", "go")} "$@"; fi\n'
        f"sleep 300 & echo $! >> {pids}\n"
        f"echo $$ >> {pids}\n"
        "wait\n",
    )
    start = time.monotonic()
    proc = run_cli("check", "--go", str(fake), "--timeout", "2", "./esc", cwd=corpus, env=cli_env)
    assert time.monotonic() - start < 30
    assert proc.returncode == 2
    assert "did not finish within 2 s" in proc.stderr
    # Killed, they go within moments: wait for that, a few seconds at most.
    left = pids.read_text().split()
    deadline = time.monotonic() + 5
    while (left := [pid for pid in left if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == []


def _alive(pid: str) -> bool:
    """Whether process ``pid`` still runs (a zombie, killed and not reaped yet, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # the state, after "pid (name)"


def test_garbage_output_is_reported(tmp_path: Path, corpus: Path, cli_env: dict[str, str]) -> None:
    fake = _fake_go(
        tmp_path,
        f'if [ "$1" = env ]; then exec {os.environ.get("GO", "go")} "$@"; fi\n'
        'echo "%%% garbage {{{"; echo "more garbage" >&2; exit 3\n',
    )
    proc = run_cli("check", "--go", str(fake), "./esc", cwd=corpus, env=cli_env)
    assert proc.returncode == 2
    assert "more garbage" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_environment_is_made_safe(tmp_path: Path, corpus: Path, cli_env: dict[str, str]) -> None:
    seen = tmp_path / "env"
    fake = _fake_go(
        tmp_path,
        f'if [ "$1" = list ]; then env > {seen}; fi\nexec {os.environ.get("GO", "go")} "$@"\n',
    )
    env = dict(
        cli_env,
        GOFLAGS="-mod=mod -tags=x",
        GOPROXY="https://proxy.golang.org",
        GOTOOLCHAIN="auto",
    )
    proc = run_cli("check", "--go", str(fake), "./esc", cwd=corpus, env=env)
    assert proc.returncode == 0, proc.stderr
    values = dict(line.split("=", 1) for line in seen.read_text().splitlines() if "=" in line)
    assert values["GOTOOLCHAIN"] == "local"
    assert values["GOPROXY"] == "off"
    assert values["GOFLAGS"] == "-tags=x"


def test_toolchain_line_is_not_downloaded(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = copy_module("mixed", tmp_path)
    gomod = mod / "go.mod"
    gomod.write_text("module example.com/mixed\n\ngo 1.99.1\n\ntoolchain go1.99.1\n")
    proc = run_cli("check", "./...", cwd=mod, env=cli_env, timeout=120)
    assert proc.returncode == 2
    assert "1.99.1" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "downloading" not in (proc.stdout + proc.stderr).lower()


def test_run_cancel_kills_the_group(tmp_path: Path) -> None:
    import threading

    token = toolchain.CancelToken()
    threading.Timer(0.3, token.cancel).start()
    start = time.monotonic()
    with pytest.raises(toolchain.Cancelled):
        toolchain.run(
            ["sh", "-c", "sleep 60 & sleep 60; wait"],
            cwd=str(tmp_path),
            env=dict(os.environ),
            cancel=token,
        )
    assert time.monotonic() - start < 5


def test_run_calls_started_once_the_child_runs(tmp_path: Path) -> None:
    """Work meant to overlap a compile starts when the child is running, and the output
    is still all there (it goes to unnamed files, not pipes)."""
    marker = tmp_path / "child-ran"
    seen: list[bool] = []

    def started() -> None:
        time.sleep(0.3)  # the child has had ample time to create the marker
        seen.append(marker.exists())

    result = toolchain.run(
        ["sh", "-c", f"touch {marker}; head -c 200000 /dev/zero | tr '\\0' x; echo oops >&2"],
        cwd=str(tmp_path),
        env=dict(os.environ),
        started=started,
    )
    assert seen == [True]
    assert result.returncode == 0
    assert result.stdout == b"x" * 200000
    assert result.stderr == b"oops\n"


def test_one_deadline_bounds_every_run(tmp_path: Path) -> None:
    """A run gets what is left of the deadline, whatever its own timeout; once the
    deadline has passed, nothing more is started. The error names the whole budget."""
    deadline = toolchain.Deadline(1)
    start = time.monotonic()
    with pytest.raises(toolchain.TimedOut) as stopped:
        toolchain.run(
            ["sh", "-c", "sleep 60"],
            cwd=str(tmp_path),
            env=dict(os.environ),
            timeout=30,
            deadline=deadline,
        )
    assert time.monotonic() - start < 5
    assert "`sh` did not finish within 1 s" in str(stopped.value)
    marker = tmp_path / "started"
    with pytest.raises(toolchain.TimedOut):
        toolchain.run(
            ["sh", "-c", f"touch {marker}"],
            cwd=str(tmp_path),
            env=dict(os.environ),
            deadline=deadline,
        )
    assert not marker.exists()


def test_version_parsing() -> None:
    assert toolchain.parse_version("go1.21.13") == (1, 21)
    assert toolchain.parse_version("go1.22rc1") == (1, 22)
    assert toolchain.parse_version("devel +abc") is None


def test_the_deadline_bounds_gofmt_too(tmp_path: Path) -> None:
    """A fix's gofmt run is bounded by the command's deadline like every go run."""
    from heaplens.fixes.edits import gofmt

    goroot = tmp_path / "goroot"
    (goroot / "bin").mkdir(parents=True)
    fake = goroot / "bin" / "gofmt"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    start = time.monotonic()
    with pytest.raises(toolchain.TimedOut) as stopped:
        gofmt(b"package p\n", str(goroot), toolchain.Deadline(1))
    assert time.monotonic() - start < 5
    assert "`gofmt` did not finish within 1 s" in str(stopped.value)

"""Running the ``go`` command safely: which binary, which version, which environment, and
how a run is timed out or cancelled.

Safety rules, enforced here and nowhere else:

* ``GOTOOLCHAIN=local``: a ``toolchain`` line in go.mod or go.work can never make ``go``
  download and run another toolchain.
* ``GOPROXY=off`` unless the caller opts in: no module is ever downloaded.
* ``-mod=mod`` is removed from ``GOFLAGS``, so a run never rewrites go.mod or go.sum.
* Each run starts in its own process group and session; a timeout or a cancellation kills
  the whole group, so no ``compile``, ``cgo`` or ``gcc`` child outlives it.
* Children run with umask 077, so the files the compiler writes into our private
  temporary directory are readable by the user alone.

Only ``go list``, ``go test -c -o /dev/null`` and ``go env`` are run for analysis. None
of them executes code from the workspace: ``go generate`` is never invoked, test binaries
are discarded unlinked or to ``/dev/null``, and cgo's directive allowlist stays in force.
The one exception is asked for by name: ``heaplens fix --test`` and ``--bench``
(``fixes.measure``) run the fixed packages' tests and benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

MIN_GO = (1, 21)

# The environment the compiler itself reads (through internal/buildcfg).
COMPILER_ENV = (
    "GOOS",
    "GOARCH",
    "GOAMD64",
    "GOARM",
    "GOARM64",
    "GO386",
    "GOMIPS",
    "GOMIPS64",
    "GOPPC64",
    "GORISCV64",
    "GOWASM",
    "GOEXPERIMENT",
)
# Environment variables that change what the compiler produces. They go into cache keys.
_BUILD_ENV = (
    *COMPILER_ENV,
    "GOFLAGS",
    "CGO_ENABLED",
    "GOWORK",
    "GO111MODULE",
    "GOPATH",
    "GOROOT",
    "GOMODCACHE",
    "GOCACHE",
)


class ToolchainError(Exception):
    """The toolchain is missing, too old or unusable. The message is for the user."""


class Cancelled(Exception):
    """A run was cancelled by the caller."""


class TimedOut(Exception):
    """A run exceeded its timeout. The message names the command and the limit."""

    def __init__(self, command: str, seconds: float) -> None:
        self.command = command
        self.seconds = seconds
        what = f"`{command}`" if command else "heaplens"
        super().__init__(
            f"{what} did not finish within {seconds:g} s and was stopped "
            "(raise the limit with --timeout or the timeout setting)."
        )


class Deadline:
    """One time limit for a whole piece of work: every ``go`` run under it gets what is
    left of it, and none starts once it has passed.

    Why an object passed down rather than a timeout per run: the limit the user sets
    (``--timeout``, the server's ``timeout`` setting) is for the whole command. Separate
    allowances per run (a fixed 30 s for ``go env``, say) add up past it, and a hung
    ``go`` then outlasts the limit the user asked for. With a deadline every run is
    bounded by the same instant, however many runs there are and whoever starts them
    (toolchain discovery, each check, every check of the fix loop), and no caller has to
    do the arithmetic. A timeout that fires names the whole budget: that is the number
    the user can raise.
    """

    def __init__(self, seconds: float | None) -> None:
        #: The whole budget; ``None`` waits forever.
        self.seconds = seconds
        self._end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (0 or less once passed); ``None`` without a limit."""
        return None if self._end is None else self._end - time.monotonic()

    def check(self, command: str = "") -> None:
        """Raise ``TimedOut`` if the deadline has passed (before starting ``command``)."""
        left = self.remaining()
        if left is not None and left <= 0:
            raise TimedOut(command, self.seconds or 0.0)


class CancelToken:
    """Cooperative cancellation shared between the caller and the running processes.

    Callbacks run on cancellation, on the cancelling thread; a run registers one that
    kills its process group, so cancelling is immediate rather than polled.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            callbacks = list(self._callbacks)
        for cb in callbacks:
            cb()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Register ``callback``; returns a function that unregisters it."""
        with self._lock:
            already = self._event.is_set()
            if not already:
                self._callbacks.append(callback)
        if already:
            callback()

        def remove() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return remove


@dataclass(frozen=True)
class GoEnv:
    """What ``go env`` says about the toolchain we run."""

    binary: str
    version: str  # e.g. "go1.26.8"
    goroot: str
    gocache: str
    gomodcache: str
    gopath: str
    goos: str
    goarch: str
    build_env: tuple[tuple[str, str], ...]
    #: Where the compiler and the other tools live; "" if ``go env`` did not say.
    tooldir: str = ""

    @property
    def version_tuple(self) -> tuple[int, int]:
        return parse_version(self.version) or (0, 0)


def parse_version(text: str) -> tuple[int, int] | None:
    """``"go1.21.13"`` → ``(1, 21)``; also accepts ``go1.22rc1`` and ``devel`` strings."""
    m = re.search(r"go(\d+)\.(\d+)", text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2))


def find_go(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Locate the ``go`` binary: the explicit path, else ``go`` on PATH."""
    if explicit:
        path = os.path.expanduser(explicit)
        if os.sep in path or (os.altsep and os.altsep in path):
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return os.path.abspath(path)
            raise ToolchainError(f"Go binary {explicit!r} does not exist or is not executable.")
        found = shutil.which(path, path=(env or os.environ).get("PATH"))
        if found:
            return found
        raise ToolchainError(f"Go binary {explicit!r} was not found on PATH.")
    found = shutil.which("go", path=(env or os.environ).get("PATH"))
    if not found:
        raise ToolchainError(
            "The Go toolchain was not found: no `go` on PATH. Install Go 1.21 or newer, "
            "or point heaplens at it (--go PATH, or the goBinary setting)."
        )
    return found


def safe_env(
    base: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    allow_network: bool = False,
) -> dict[str, str]:
    """The environment every ``go`` run gets: the user's, made safe."""
    env = dict(os.environ if base is None else base)
    if extra:
        env.update(extra)
    env["GOTOOLCHAIN"] = "local"
    if not allow_network:
        env["GOPROXY"] = "off"
    # Never let a run rewrite go.mod/go.sum; keep the rest of the user's GOFLAGS.
    flags = [f for f in env.get("GOFLAGS", "").split() if not f.startswith("-mod=mod")]
    if flags:
        env["GOFLAGS"] = " ".join(flags)
    else:
        env.pop("GOFLAGS", None)
    # Machine-readable messages: no localisation, no colour, no interactive prompts.
    env["LC_ALL"] = "C"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


@dataclass(frozen=True)
class RunResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float


_live_groups: set[int] = set()
_live_lock = threading.Lock()


def kill_all_running() -> None:
    """Kill every process group started by this module. Used when the server shuts down."""
    with _live_lock:
        groups = list(_live_groups)
    for pgid in groups:
        _kill_group(pgid)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    timeout: float | None = None,
    deadline: Deadline | None = None,
    cancel: CancelToken | None = None,
    started: Callable[[], None] | None = None,
) -> RunResult:
    """Run a command in its own process group; kill the whole group on timeout or cancel.

    The run is stopped after ``timeout`` seconds or at ``deadline``, whichever comes
    first; it is not started at all when the deadline has already passed.

    Output goes to unnamed temporary files rather than pipes, so a chatty child can never
    block on a full pipe while we wait for it. ``started`` is called once the child runs:
    work meant to overlap with it begins there, not before, since a Python thread that
    holds the interpreter would delay the start of the child.
    """
    command = _command_name(argv)
    limit, budget = timeout, timeout
    if deadline is not None and deadline.seconds is not None:
        deadline.check(command)
        left = deadline.remaining() or 0.0
        if limit is None or left < limit:
            limit, budget = left, deadline.seconds
    start_time = time.monotonic()
    with (
        tempfile.TemporaryFile(prefix="heaplens-run-") as out,
        tempfile.TemporaryFile(prefix="heaplens-run-") as err,
    ):
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                umask=0o077,
            )
        except FileNotFoundError as e:
            raise ToolchainError(f"Cannot run {argv[0]!r}: {e.strerror}.") from e
        except PermissionError as e:
            raise ToolchainError(f"Cannot run {argv[0]!r}: permission denied.") from e
        except NotADirectoryError as e:
            raise ToolchainError(f"Cannot run in {cwd!r}: not a directory.") from e
        pgid = proc.pid
        with _live_lock:
            _live_groups.add(pgid)
        stopped: list[str] = []

        def stop(why: str) -> None:
            stopped.append(why)
            _kill_group(pgid)

        # A blocking wait wakes the moment the child exits; the timer and the cancel
        # callback kill the group from other threads when they must.
        timer = threading.Timer(limit, stop, ("timeout",)) if limit is not None else None
        unregister = cancel.on_cancel(lambda: stop("cancel")) if cancel is not None else None
        try:
            if timer is not None:
                timer.daemon = True
                timer.start()
            if started is not None:
                started()
            proc.wait()
        finally:
            if timer is not None:
                timer.cancel()
            if unregister is not None:
                unregister()
            # Even on success, a stray grandchild must not outlive the run.
            _kill_group(pgid)
            with _live_lock:
                _live_groups.discard(pgid)
        if stopped:
            if stopped[0] == "cancel":
                raise Cancelled(command)
            raise TimedOut(command, budget or 0.0)
        out.seek(0)
        stdout = out.read()
        err.seek(0)
        stderr = err.read()
    return RunResult(tuple(argv), proc.returncode, stdout, stderr, time.monotonic() - start_time)


def _command_name(argv: Sequence[str]) -> str:
    """How messages name a run: ``go list``, ``go env``, ``compile`` (not the binary's
    full path, nor a flag)."""
    name = os.path.basename(argv[0]) if argv else ""
    if len(argv) > 1 and not argv[1].startswith("-"):
        name += " " + argv[1]
    return name


_ENV_VARS = (
    "GOVERSION",
    "GOROOT",
    "GOCACHE",
    "GOMODCACHE",
    "GOPATH",
    "GOOS",
    "GOARCH",
    "GOTOOLDIR",
)


def go_env(
    binary: str,
    env: Mapping[str, str],
    cwd: str,
    deadline: Deadline | None = None,
    cancel: CancelToken | None = None,
) -> GoEnv:
    """Ask the toolchain about itself, and refuse anything older than Go 1.21.

    ``deadline`` bounds ``go env`` and the ``go version`` that may follow it: they are
    part of the work the caller's limit is for (see ``Deadline``)."""
    import json

    names = list(dict.fromkeys([*_ENV_VARS, *_BUILD_ENV]))
    result = run(
        [binary, "env", "-json", *names], cwd=cwd, env=env, deadline=deadline, cancel=cancel
    )
    text = result.stdout.decode("utf-8", "replace")
    try:
        values = json.loads(text) if result.returncode == 0 else None
    except ValueError:
        values = None
    if not isinstance(values, dict) or not values.get("GOVERSION"):
        # Go before 1.16 has no GOVERSION; `go version` tells us what it is.
        version = _go_version_text(binary, env, cwd, deadline, cancel)
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = f" ({detail[-1]})" if detail else ""
        if version and (parse_version(version) or (0, 0)) < MIN_GO:
            raise ToolchainError(_too_old(binary, version))
        raise ToolchainError(f"`{binary} env` failed; is this a Go toolchain?{tail}")
    version = str(values["GOVERSION"])
    parsed = parse_version(version)
    if parsed is not None and parsed < MIN_GO:
        raise ToolchainError(_too_old(binary, version))
    build_env = tuple(sorted((k, str(values.get(k, ""))) for k in _BUILD_ENV))
    return GoEnv(
        binary=binary,
        version=version,
        goroot=str(values.get("GOROOT", "")),
        gocache=str(values.get("GOCACHE", "")),
        gomodcache=str(values.get("GOMODCACHE", "")),
        gopath=str(values.get("GOPATH", "")),
        goos=str(values.get("GOOS", "")),
        goarch=str(values.get("GOARCH", "")),
        build_env=build_env,
        tooldir=str(values.get("GOTOOLDIR", "")),
    )


def _too_old(binary: str, version: str) -> str:
    return (
        f"{binary} is {version}; heaplens needs Go {MIN_GO[0]}.{MIN_GO[1]} or newer "
        "(older compilers do not report escape analysis in a form heaplens can read)."
    )


def _go_version_text(
    binary: str,
    env: Mapping[str, str],
    cwd: str,
    deadline: Deadline | None,
    cancel: CancelToken | None,
) -> str | None:
    """What ``go version`` says, if it says anything in time; only for a better message,
    so a failure or a timeout here is not an error of its own."""
    try:
        result = run([binary, "version"], cwd=cwd, env=env, deadline=deadline, cancel=cancel)
    except (ToolchainError, TimedOut):
        return None
    m = re.search(r"go\d+\.\d+\S*", result.stdout.decode("utf-8", "replace"))
    return m.group(0) if m else None

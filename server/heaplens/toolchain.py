"""Running the ``go`` command safely: which binary, which version, which environment, and
how a run is timed out or cancelled.

Safety rules, enforced here and nowhere else:

* ``GOTOOLCHAIN=local``: a ``toolchain`` line in go.mod or go.work can never make ``go``
  download and run another toolchain.
* ``GOPROXY=off`` unless the caller opts in: no module is ever downloaded.
* ``-mod=mod`` is removed from ``GOFLAGS`` (the variable, or the go command's own env
  file when the variable is empty) and from the build flags, in every spelling the go
  command accepts (``--mod=mod``, ``-mod mod``, quoted): a run never rewrites go.mod or
  go.sum (``sanitize_goflags``, ``sanitize_build_flags``). A toolchain whose ``go env``
  still reports it (from ``$GOROOT/go.env``) is refused. ``-trimpath`` goes the same way,
  silently: it would make the compiler's log name files by import path (``_dropped``).
* Every path heaplens hands a program inside a larger argument is escaped for the
  syntax that argument has: the ``-json`` log directory as a file URI, ``-gcflags``
  values quoted as the go command splits them (``json_log_flag``, ``gcflags``).
* Programs are found on PATH the way Go's ``exec.LookPath`` has since Go 1.19
  (``exec.ErrDot``): an empty, ``.`` or other relative PATH entry is never searched, so a
  ``go`` (or any program) lying in the workspace or the current directory is never run
  by accident (``look_path``; ``run`` resolves every bare program name with it).
* Each run starts in its own process group and session; a timeout or a cancellation kills
  the whole group, so no ``compile``, ``cgo`` or ``gcc`` child outlives it.
* Children run with umask 077, so the files the compiler writes into our private
  temporary directory are readable by the user alone.

Only ``go list`` (``-export`` compiles, it never links) and ``go env`` are run for
analysis, and the compiler itself. None of them executes code from the workspace:
``go generate`` is never invoked, no binary is linked, and cgo's directive allowlist stays
in force.
The one exception is asked for by name: ``heaplens fix --test`` and ``--bench``
(``fixes.measure``) run the fixed packages' tests and benchmarks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

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


class ProgramNotFound(ToolchainError):
    """``look_path`` found no usable ``name`` on PATH. ``ignored`` lists the PATH entries
    that were not searched (empty, ``.`` or relative) but hold an executable ``name``."""

    def __init__(self, name: str, ignored: Sequence[str] = ()) -> None:
        self.name = name
        self.ignored = tuple(ignored)
        super().__init__(f"no `{name}` on PATH{ignored_note(name, self.ignored)}")


def ignored_note(name: str, ignored: Sequence[str]) -> str:
    """Why a ``name`` the shell would find was not used: "" when nothing was skipped."""
    if not ignored:
        return ""
    where = ", ".join(repr(entry) for entry in ignored)
    return (
        f" (the `{name}` in the PATH entry {where} was not used: PATH entries that are "
        "empty, `.` or relative are ignored for safety, since they resolve against the "
        "current directory)"
    )


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _candidates(directory: str, name: str) -> list[str]:
    base = os.path.join(directory, name)
    if os.name != "nt" or os.path.splitext(name)[1]:
        return [base]
    exts = os.environ.get("PATHEXT", ".COM;.EXE;.BAT;.CMD").split(os.pathsep)
    return [base + ext for ext in exts if ext]


def look_path(name: str, path: str | None = None) -> str:
    """The absolute path of the program ``name`` on ``path`` (a PATH value; ``None``: this
    process's PATH), found as Go's ``exec.LookPath`` does since Go 1.19.

    Entries that are empty, ``.`` or otherwise relative are never searched: they resolve
    against whatever the current directory is (heaplens's, or the directory a ``go`` run
    starts in, which is the workspace), and a program found there is one the workspace
    supplied. Go reports such a find as ``exec.ErrDot``; we skip it and keep looking, so
    ``PATH=":$PATH"`` still finds the real ``go``, and say so on stderr, once. Absolute
    entries are searched in order, as Go and the shell do, whatever they point at.

    ``name`` must be a bare program name; a path is the caller's to use as it is.
    Raises ``ProgramNotFound``.
    """
    if os.sep in name or (os.altsep and os.altsep in name) or not name:
        raise ValueError(f"look_path wants a program name, not a path: {name!r}")
    entries = (os.environ.get("PATH", "") if path is None else path).split(os.pathsep)
    ignored: list[str] = []
    for entry in entries:
        if not os.path.isabs(entry):
            if any(_executable(c) for c in _candidates(entry or os.curdir, name)):
                ignored.append(entry)
            continue
        for candidate in _candidates(entry, name):
            if _executable(candidate):
                if ignored:
                    _warn_once(f"heaplens: using {candidate}{ignored_note(name, ignored)}")
                return candidate
    raise ProgramNotFound(name, ignored)


def find_go(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Locate the ``go`` binary: the explicit one (``--go``, the ``goBinary`` setting),
    else ``go`` on PATH (``look_path``: no empty, ``.`` or relative entries).

    An explicit value that contains a path separator is used as it is, as Go's
    ``exec.Command`` would: the user named that file. A relative one (``--go ./go``) is
    taken from heaplens's own current directory and made absolute before any run. A
    bare name (``--go go1.22.5``) is looked up on PATH like ``go`` itself.
    """
    path = (os.environ if env is None else env).get("PATH", "")
    if explicit:
        named = os.path.expanduser(explicit)
        if os.sep in named or (os.altsep and os.altsep in named):
            if _executable(named):
                return os.path.abspath(named)
            raise ToolchainError(f"Go binary {explicit!r} does not exist or is not executable.")
        try:
            return look_path(named, path)
        except ProgramNotFound as e:
            note = ignored_note(named, e.ignored)
            raise ToolchainError(f"Go binary {explicit!r} was not found on PATH{note}.") from e
    try:
        return look_path("go", path)
    except ProgramNotFound as e:
        raise ToolchainError(
            f"The Go toolchain was not found: no `go` on PATH{ignored_note('go', e.ignored)}. "
            "Install Go 1.21 or newer, or point heaplens at it (--go PATH, or the goBinary "
            "setting)."
        ) from e


# -- never -mod=mod --------------------------------------------------------------------

_log = logging.getLogger(__name__)
_warned: set[str] = set()
_warned_lock = threading.Lock()

MOD_MOD_WARNING = "heaplens: ignoring -mod=mod: heaplens never modifies go.mod"

#: What replaces GOFLAGS when nothing is left of it: non-empty, so that the go command
#: does not fall back to the GOFLAGS of its env file, and a no-op: "-mod=" is documented
#: as "as if no flag were passed" (cmd/go/internal/work.buildModeInit).
_NO_GOFLAGS = "-mod="

# go build and go test flags that take a value, which "-flag value" puts in the next
# argument: that argument is a value, never a flag of its own.
_VALUE_FLAGS = frozenset(
    {
        "C",
        "asmflags",
        "buildmode",
        "compiler",
        "covermode",
        "coverpkg",
        "exec",
        "gccgoflags",
        "gcflags",
        "installsuffix",
        "ldflags",
        "modfile",
        "o",
        "overlay",
        "p",
        "pgo",
        "pkgdir",
        "tags",
        "toolexec",
        "vet",
    }
)


def _warn_once(message: str) -> None:
    with _warned_lock:
        if message in _warned:
            return
        _warned.add(message)
    _log.warning(message)


def _flag_parts(word: str) -> tuple[str, bool, str] | None:
    """``-name=value`` or ``--name=value`` as (name, has "=", value); None for a word
    that is not a flag (Go's flag package: one or two dashes, no more)."""
    if word.startswith("--"):
        body = word[2:]
    elif word.startswith("-"):
        body = word[1:]
    else:
        return None
    if not body or body.startswith(("-", "=")):
        return None
    name, eq, value = body.partition("=")
    return name, bool(eq), value


def _dropped(parts: tuple[str, bool, str] | None) -> str | None:
    """Whether a flag (``_flag_parts``) is never passed on: the warning to give once
    ("" for none), or None to keep it.

    ``-trimpath`` changes nothing in escape analysis, only the names positions carry: the
    log then names files by import path (``example.com/m/x.go``) instead of their path,
    and no finding lands in a file. Dropping it is exact; mapping those names back would
    need every module's directory, and code inlined from the standard library would still
    be misnamed. Nothing the user sees depends on it, so no warning."""
    if parts is None:
        return None
    name, eq, value = parts
    if name == "mod" and eq and value == "mod":
        return MOD_MOD_WARNING
    if name == "trimpath":
        return ""
    return None


#: Passed to every go command after the user's flags. A command-line flag wins over
#: GOFLAGS from any source, including ``$GOROOT/go.env``, which heaplens cannot rewrite:
#: so no ``-trimpath`` from anywhere renames the files of the compiler's log (``_dropped``).
FORCED_BUILD_FLAGS = ("-trimpath=false",)


def sanitize_build_flags(flags: Sequence[str]) -> tuple[str, ...]:
    """``flags`` (go build flags, one argument each, as ``--build-flags`` and the
    ``buildFlags`` setting give them) without any that would let go rewrite go.mod:
    ``-mod=mod``, ``--mod=mod``, and ``-mod mod`` / ``--mod mod`` as two arguments. Other
    ``-mod`` values (``readonly``, ``vendor``) and ``-modfile`` are kept. Warns once.
    ``-trimpath`` is dropped too (``_dropped``)."""
    out: list[str] = []
    dropped = False
    i = 0
    while i < len(flags):
        parts = _flag_parts(flags[i])
        if parts is not None and not parts[1] and i + 1 < len(flags):
            name = parts[0]
            if name == "mod" and flags[i + 1] == "mod":
                dropped = True
                i += 2
                continue
            if name == "mod" or name in _VALUE_FLAGS:
                out += flags[i : i + 2]  # the next argument is this flag's value
                i += 2
                continue
        why = _dropped(parts)
        if why is not None:
            dropped = dropped or bool(why)
        else:
            out.append(flags[i])
        i += 1
    if dropped:
        _warn_once(MOD_MOD_WARNING)
    return tuple(out)


def split_goflags(text: str) -> list[str] | None:
    """GOFLAGS as the go command splits it (cmd/internal/quoted.Split): at white space,
    with '' or "" around a whole field. ``None`` where go itself refuses it."""
    fields: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\n\r":
            i += 1
        if i == n:
            break
        if text[i] in "'\"":
            end = text.find(text[i], i + 1)
            if end < 0:
                return None  # "unterminated string": go fails before it runs anything
            fields.append(text[i + 1 : end])
            i = end + 1
            continue
        start = i
        while i < n and text[i] not in " \t\n\r":
            i += 1
        fields.append(text[start:i])
    return fields


def join_quoted(fields: Sequence[str]) -> str:
    """The inverse of ``split_goflags`` (cmd/internal/quoted.Join): what GOFLAGS and the
    value of a ``-gcflags`` are split with."""
    out: list[str] = []
    for field in fields:
        if not any(c in field for c in " \t\n\r'\""):
            out.append(field)
        elif "'" not in field:
            out.append(f"'{field}'")
        else:
            out.append(f'"{field}"')  # a field with both quotes cannot have come from Split
    return " ".join(out)


def sanitize_goflags(text: str) -> str:
    """A GOFLAGS value without ``-mod=mod`` or ``--mod=mod`` (quoted or not, anywhere in
    it) or ``-trimpath`` (``_dropped``); ``text`` itself when it has none. Warns once
    when it drops a ``-mod=mod``.

    In GOFLAGS every field is a whole flag, so ``-mod mod`` there is no spelling of
    ``-mod=mod``: go refuses the stray ``mod`` ("non-flag") and runs nothing."""
    fields = split_goflags(text)
    if fields is None:
        return text
    reasons = [_dropped(_flag_parts(f)) for f in fields]
    kept = [f for f, why in zip(fields, reasons, strict=True) if why is None]
    if len(kept) == len(fields):
        return text
    if any(reasons):
        _warn_once(MOD_MOD_WARNING)
    return join_quoted(kept)


def _has_mod_mod(text: str) -> bool:
    fields = split_goflags(text) or []
    return any(_dropped(_flag_parts(f)) == MOD_MOD_WARNING for f in fields)


# -- paths inside arguments --------------------------------------------------------------


def file_uri(path: str) -> str:
    """``path`` (made absolute) as a ``file://`` URI with every character the URI syntax
    reserves percent-escaped: ``#`` and ``?`` would start a fragment or a query, ``%`` an
    escape, and a space or a quote would be split by ``-gcflags`` (none survives
    escaping). Go's ``url.Parse``, which the compiler reads ``-json`` with, undoes it."""
    return pathlib.Path(os.path.abspath(path)).as_uri()


def json_log_flag(directory: str) -> str:
    """The compiler flag that writes the optimisation log into ``directory``.

    A URI rather than the bare path the compiler also takes (``logopt.parseLogPath``):
    the escaped URI holds no white space and no quote, so it passes whole through the
    go command's splitting of ``-gcflags``, where a path holding both kinds of quote
    cannot be quoted at all."""
    return "-json=0," + file_uri(directory)


def gcflags(flags: Sequence[str]) -> str:
    """One ``-gcflags`` argument that passes ``flags`` to the compiler, each whole: the
    go command splits the value at white space, except inside quotes
    (``load.PerPackageFlag``). A value that does not start with ``-`` would be read as
    ``pattern=flags``; callers start with a flag of their own."""
    return "-gcflags=" + join_quoted(flags)


def go_env_file(env: Mapping[str, str]) -> str | None:
    """The go command's own env file (what ``go env -w`` writes), as cmd/go's
    ``cfg.EnvFile`` finds it for a process with environment ``env``; None when off."""
    named = env.get("GOENV", "")
    if named == "off":
        return None
    if named:
        return os.path.abspath(named)
    if sys.platform == "win32":
        config = env.get("APPDATA") or env.get("AppData") or ""
    elif sys.platform == "darwin":
        home = env.get("HOME", "")
        config = os.path.join(home, "Library", "Application Support") if home else ""
    else:
        config = env.get("XDG_CONFIG_HOME", "")
        if config and not os.path.isabs(config):
            return None  # os.UserConfigDir refuses it, and go then reads no file
        if not config:
            home = env.get("HOME", "")
            config = os.path.join(home, ".config") if home else ""
    return os.path.join(config, "go", "env") if config else None


def _go_env_file_value(env: Mapping[str, str], key: str) -> str:
    """``key`` as the go env file sets it ("" if not): cmd/go's ``readEnvFile`` rules."""
    file = go_env_file(env)
    if file is None:
        return ""
    try:
        with open(file, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    value = ""
    for line in data.split(b"\n"):
        name, eq, rest = line.partition(b"=")
        if eq and line[:1].isupper() and name == key.encode():
            value = rest.decode("utf-8", "surrogateescape")
    return value


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
    # Never let a run rewrite go.mod/go.sum; keep the rest of the user's GOFLAGS. The go
    # command reads GOFLAGS from its env file (`go env -w`) when the variable is empty.
    own = env.pop("GOFLAGS", "")
    flags = own or _go_env_file_value(env, "GOFLAGS")
    clean = sanitize_goflags(flags)
    if clean != flags:
        env["GOFLAGS"] = clean if split_goflags(clean) else _NO_GOFLAGS
    elif own:
        env["GOFLAGS"] = own
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

    A bare program name (``argv[0]`` without a separator) is found with ``look_path``;
    a relative path is taken from this process's directory, not from ``cwd``.

    ``PWD`` is set to ``cwd``, as a shell and Go's os/exec do. The go command names
    every file from its working directory as ``os.Getwd`` finds it, which is ``PWD``
    when that is the same directory and the fully resolved path otherwise: without it,
    a workspace opened through a symlink would be compiled, and reported, under another
    name than the one its documents and overlays have.
    """
    command = _command_name(argv)
    program = _program_path(argv, env)
    limit, budget = _time_limit(command, timeout, deadline)
    start_time = time.monotonic()
    with (
        tempfile.TemporaryFile(prefix="heaplens-run-") as out,
        tempfile.TemporaryFile(prefix="heaplens-run-") as err,
    ):
        proc = _start(argv, program, cwd, env, out, err)
        stopped = _wait(proc, limit, cancel, started)
        if stopped == "cancel":
            raise Cancelled(command)
        if stopped == "timeout":
            raise TimedOut(command, budget or 0.0)
        out.seek(0)
        stdout = out.read()
        err.seek(0)
        stderr = err.read()
    return RunResult(tuple(argv), proc.returncode, stdout, stderr, time.monotonic() - start_time)


def _program_path(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """The file ``run`` executes for ``argv``: a bare name found with ``look_path``, a
    relative path made absolute from this process's directory; "" for an empty ``argv``."""
    program = argv[0] if argv else ""
    if program and os.sep not in program and not (os.altsep and os.altsep in program):
        # Popen would search PATH itself, empty and relative entries included.
        return look_path(program, env.get("PATH", ""))
    if program:
        # Popen would take a relative path from ``cwd``, the workspace.
        return os.path.abspath(program)
    return program


def _time_limit(
    command: str, timeout: float | None, deadline: Deadline | None
) -> tuple[float | None, float | None]:
    """How long a run may take, and the budget a ``TimedOut`` names: the tighter of
    ``timeout`` and what is left of ``deadline``. Raises ``TimedOut`` when the deadline
    has already passed, so the run never starts."""
    limit, budget = timeout, timeout
    if deadline is not None and deadline.seconds is not None:
        deadline.check(command)
        left = deadline.remaining() or 0.0
        if limit is None or left < limit:
            limit, budget = left, deadline.seconds
    return limit, budget


def _start(
    argv: Sequence[str],
    program: str,
    cwd: str,
    env: Mapping[str, str],
    out: IO[bytes],
    err: IO[bytes],
) -> subprocess.Popen[bytes]:
    """Start the child in a session and process group of its own, output to ``out`` and
    ``err``; a program or directory that cannot be used is a ``ToolchainError``."""
    try:
        return subprocess.Popen(
            list(argv),
            executable=program or None,
            cwd=cwd,
            env={**env, "PWD": os.path.abspath(cwd)},
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


def _wait(
    proc: subprocess.Popen[bytes],
    limit: float | None,
    cancel: CancelToken | None,
    started: Callable[[], None] | None,
) -> str | None:
    """Wait for ``proc`` to exit, killing its process group after ``limit`` seconds or on
    ``cancel``. Returns why it was stopped first ("timeout" or "cancel"), or None when it
    ended by itself. The group is killed in any case: no grandchild outlives the run."""
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
    return stopped[0] if stopped else None


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
    values = _go_env_values(binary, env, cwd, deadline, cancel)
    version = str(values["GOVERSION"])
    parsed = parse_version(version)
    if parsed is not None and parsed < MIN_GO:
        raise ToolchainError(_too_old(binary, version))
    _refuse_mod_mod(binary, str(values.get("GOFLAGS", "")))
    # Everything heaplens starts from GOROOT (gofmt, the compiler) is started by a path
    # that must not depend on the directory a run happens in; go took a relative GOROOT
    # from the directory it ran in, ``cwd``.
    goroot = str(values.get("GOROOT", ""))
    if not goroot:
        raise ToolchainError(f"`{binary} env` reported no GOROOT; is this a Go toolchain?")
    goroot = os.path.join(os.path.abspath(cwd), goroot)
    tooldir = str(values.get("GOTOOLDIR", ""))
    tooldir = os.path.join(os.path.abspath(cwd), tooldir) if tooldir else ""
    build_env = tuple(sorted((k, str(values.get(k, ""))) for k in _BUILD_ENV))
    return GoEnv(
        binary=binary,
        version=version,
        goroot=goroot,
        gocache=str(values.get("GOCACHE", "")),
        gomodcache=str(values.get("GOMODCACHE", "")),
        gopath=str(values.get("GOPATH", "")),
        goos=str(values.get("GOOS", "")),
        goarch=str(values.get("GOARCH", "")),
        build_env=build_env,
        tooldir=tooldir,
    )


def _go_env_values(
    binary: str,
    env: Mapping[str, str],
    cwd: str,
    deadline: Deadline | None,
    cancel: CancelToken | None,
) -> dict[str, object]:
    """What ``go env -json`` reports, with a ``GOVERSION`` in it. A toolchain that says
    nothing usable is a ``ToolchainError``: one too old to have ``GOVERSION`` (before Go
    1.16; ``go version`` tells which), or no Go toolchain at all."""
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
    return values


def _refuse_mod_mod(binary: str, goflags: str) -> None:
    """Refuse a toolchain whose own GOFLAGS (``go env`` reports it) hold ``-mod=mod``."""
    if _has_mod_mod(goflags):
        # safe_env removed it from the variable and the user's env file; this is
        # another source, such as $GOROOT/go.env.
        raise ToolchainError(
            f"{binary} is configured with GOFLAGS={goflags!r}, and -mod=mod would let it "
            "rewrite go.mod; heaplens never modifies go.mod. Remove -mod=mod from the "
            "go command's configuration (`go env GOENV` and $GOROOT/go.env)."
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

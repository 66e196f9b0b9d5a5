"""A compiler that stops after escape analysis, built from the user's own GOROOT.

Why: on an edit, only the escape-analysis verdicts (escapes, moves to heap, leaks,
inlining) are needed at once, and two thirds of a compile is the back end (SSA and code
generation), which plays no part in them. The compiler has no flag to stop early, and
``-N`` changes the verdicts. So heaplens builds, once per toolchain, a copy of that
toolchain's own compiler with a few lines added to ``gc.Main`` right after the
``escape.Funcs(...)`` call: when ``HEAPLENS_STOP_AFTER_ESCAPE`` is set it flushes the
``-json`` log as the end of ``gc.Main`` does (``logopt.FlushLoggedOpts``), flushes the
errors, and exits 0 without writing an object file. Measured on compress/flate with Go
1.26.8: 40 ms where the whole compile takes 118 ms, with identical escape, leak and
inlining records; bounds and nil checks (back end) are missing, by design.

How: ``go build -overlay=PATCH.json -o DIR/compile-<go version>-<hash> cmd/compile``,
where the overlay replaces ``$GOROOT/src/cmd/compile/internal/gc/main.go`` with the
patched copy: GOROOT is never modified and no source is downloaded. The build runs in
the safety environment of every other run (``toolchain.safe_env``: no network,
``GOTOOLCHAIN=local``), in a private directory, cancellable and timed. The binary is
keyed by GOROOT, GOVERSION and the real compiler's build ID, and lives in heaplens's
cache directory, never in the workspace.

When: ``Compilers.get`` answers the binary if it exists; otherwise it starts the build in
the background (once per toolchain) and answers None, and the caller uses the full
compile meanwhile. A failed build leaves a marker file with the reason: it is logged
once and never retried for that toolchain. If the anchor is not in main.go (a Go
version heaplens does not know), the path is off and ``note`` says why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .. import toolchain
from ..cache import default_directory as _cache_directory

#: Set in the compiler's environment to make the patched compiler stop.
ENV_VAR = "HEAPLENS_STOP_AFTER_ESCAPE"
MAIN_GO = os.path.join("src", "cmd", "compile", "internal", "gc", "main.go")
#: Seconds for one build: cold, it compiles the whole compiler (35 s to 100 s on 2 cores).
BUILD_TIMEOUT = 900.0

# The escape-analysis call in gc.Main: `escape.Funcs(typecheck.Target.Decls)` up to Go
# 1.21, `escape.Funcs(typecheck.Target.Funcs)` since.
_ANCHOR = re.compile(r"^([ \t]*)escape\.Funcs\(typecheck\.Target\.\w+\)[ \t]*\n", re.M)
# What gc.Main does at its end, once everything is compiled; each must be there.
_NEEDED = ("logopt.FlushLoggedOpts(base.Ctxt, base.Ctxt.Pkgpath)", "base.ExitIfErrors()", '"os"')

_log = logging.getLogger("heaplens.stopped_compiler")


class Unavailable(Exception):
    """The stopped compiler cannot be had for this toolchain; the message says why."""


def patch(source: str) -> str:
    """``main.go`` with the stop inserted after escape analysis; ``Unavailable`` when the
    anchor (or what the stop calls) is not in it."""
    m = _ANCHOR.search(source)
    if m is None:
        raise Unavailable("no escape.Funcs(typecheck.Target...) call in gc.Main's main.go")
    missing = [n for n in _NEEDED if n not in source]
    if missing:
        raise Unavailable(f"gc.Main's main.go has no {missing[0]}")
    i = m.group(1)
    stop = (
        f'{i}if os.Getenv("{ENV_VAR}") != "" {{ // heaplens: stop after escape analysis\n'
        f"{i}\tlogopt.FlushLoggedOpts(base.Ctxt, base.Ctxt.Pkgpath)\n"
        f"{i}\tbase.ExitIfErrors()\n"
        f"{i}\tbase.FlushErrors()\n"
        f"{i}\tos.Exit(0)\n"
        f"{i}}}\n"
    )
    return source[: m.end()] + stop + source[m.end() :]


@dataclass(frozen=True)
class Identity:
    """What a stopped compiler is built from."""

    goroot: str
    version: str
    #: The real compiler's build ID (``go tool buildid``).
    build_id: str
    host: tuple[str, str]

    @property
    def name(self) -> str:
        digest = hashlib.sha256(
            "\0".join((self.goroot, self.version, self.build_id)).encode()
        ).hexdigest()[:16]
        return f"compile-{self.version}-{digest}"


def identify(go: toolchain.GoEnv, env: Mapping[str, str], deadline: toolchain.Deadline) -> Identity:
    """The toolchain's identity: its compiler (``go tool -n compile``) and that
    compiler's build ID."""

    def output(*args: str) -> str:
        r = toolchain.run([go.binary, *args], cwd=tempfile.gettempdir(), env=env, deadline=deadline)
        if r.returncode != 0:
            raise Unavailable(f"`go {' '.join(args)}` failed: {r.stderr.decode(errors='replace')}")
        return r.stdout.decode().strip()

    compiler = output("tool", "-n", "compile")
    build_id = output("tool", "buildid", compiler)
    host = output("env", "GOHOSTOS", "GOHOSTARCH").split()
    if len(host) != 2:
        raise Unavailable("`go env GOHOSTOS GOHOSTARCH` said nothing usable")
    return Identity(go.goroot, go.version, build_id, (host[0], host[1]))


def build(
    go: toolchain.GoEnv,
    env: Mapping[str, str],
    directory: str,
    identity: Identity,
    *,
    main_go: str | None = None,
    deadline: toolchain.Deadline | None = None,
    cancel: toolchain.CancelToken | None = None,
) -> str:
    """Build the stopped compiler into ``directory``; its path. ``main_go`` stands for
    GOROOT's main.go (a test's copy); ``Unavailable`` says why it could not be built."""
    real = os.path.join(go.goroot, MAIN_GO)
    try:
        with open(main_go or real, encoding="utf-8") as f:
            patched = patch(f.read())
    except OSError as e:
        raise Unavailable(f"cannot read {main_go or real}: {e.strerror}") from e
    os.makedirs(directory, mode=0o700, exist_ok=True)
    target = os.path.join(directory, identity.name)
    work = tempfile.mkdtemp(prefix="build-", dir=directory)
    try:
        with open(os.path.join(work, "main.go"), "w", encoding="utf-8") as f:
            f.write(patched)
        with open(os.path.join(work, "overlay.json"), "w", encoding="utf-8") as f:
            json.dump({"Replace": {real: os.path.join(work, "main.go")}}, f)
        out = os.path.join(work, "compile")
        result = toolchain.run(
            [go.binary, "build", f"-overlay={work}/overlay.json", "-o", out, "cmd/compile"],
            cwd=work,
            env=_build_env(env, identity, work),
            timeout=BUILD_TIMEOUT,
            deadline=deadline,
            cancel=cancel,
        )
        if result.returncode != 0 or not os.path.exists(out):
            text = (result.stderr + result.stdout).decode("utf-8", "replace").strip()
            raise Unavailable(f"`go build cmd/compile` failed: {text[-2000:]}")
        os.replace(out, target)  # whole or not at all: another process may look
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _build_env(env: Mapping[str, str], identity: Identity, work: str) -> dict[str, str]:
    """The safe environment, for a compiler that runs here: built for the host, with no
    flags, workspace or experiment of the user's (they are for the user's packages)."""
    out = toolchain.safe_env(env)
    for name in toolchain.COMPILER_ENV:
        out.pop(name, None)
    out.update(
        GOOS=identity.host[0],
        GOARCH=identity.host[1],
        GOFLAGS="",
        GOWORK="off",
        GOTOOLCHAIN="local",
        GOPROXY="off",
        TMPDIR=work,
    )
    return out


class Compilers:
    """The stopped compilers of one cache directory, for every toolchain this process
    uses: looked up, built in the background on first use, and failures remembered."""

    def __init__(
        self,
        directory: str,
        *,
        main_go: str | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = directory
        self._main_go = main_go
        self._log = log or _log.warning
        self._lock = threading.Lock()
        self._identities: dict[tuple[str, str, str], Identity] = {}
        self._building: dict[tuple[str, str, str], threading.Thread] = {}
        self._notes: dict[tuple[str, str, str], str] = {}

    def note(self, go: toolchain.GoEnv) -> str | None:
        """Why the stopped compiler is off for ``go`` (None when it is not known to be)."""
        with self._lock:
            return self._notes.get(_key(go))

    def get(self, go: toolchain.GoEnv, env: Mapping[str, str], *, wait: bool = False) -> str | None:
        """The stopped compiler for ``go``, or None while it is being built (in the
        background, started here on first use) or when it cannot be had (``note``).
        With ``wait``, the build is waited for."""
        key = _key(go)
        with self._lock:
            if key in self._notes:
                return None
            identity = self._identities.get(key)
            if identity is not None and os.path.exists(self._path(identity)):
                return self._path(identity)
            thread = self._building.get(key)
            if thread is None:
                thread = threading.Thread(
                    target=self._ensure, args=(go, dict(env)), name="heaplens-stopped", daemon=True
                )
                self._building[key] = thread
                thread.start()
        if not wait:
            return None
        thread.join()
        with self._lock:
            identity = self._identities.get(key)
        return self._path(identity) if identity and os.path.exists(self._path(identity)) else None

    def _path(self, identity: Identity) -> str:
        return os.path.join(self.directory, identity.name)

    def _ensure(self, go: toolchain.GoEnv, env: dict[str, str]) -> None:
        """Find or build the compiler for ``go``; a failure is noted, logged once and
        marked on disk so that no later process retries it."""
        key = _key(go)
        try:
            identity = identify(go, env, toolchain.Deadline(60.0))
            marker = self._path(identity) + ".failed"
            if os.path.exists(marker):
                with open(marker, encoding="utf-8") as f:
                    raise Unavailable(f.read().strip() or "an earlier build failed")
            if not os.path.exists(self._path(identity)):
                try:
                    build(go, env, self.directory, identity, main_go=self._main_go)
                except Unavailable as e:
                    _write_marker(marker, str(e))
                    raise
            with self._lock:
                self._identities[key] = identity
        except (Unavailable, toolchain.ToolchainError, toolchain.TimedOut, OSError) as e:
            why = f"the compiler that stops after escape analysis is off for {go.version}: {e}"
            with self._lock:
                self._notes[key] = why
            self._log(why)
        except toolchain.Cancelled:
            pass  # the server is shutting down
        finally:
            with self._lock:
                self._building.pop(key, None)


def _key(go: toolchain.GoEnv) -> tuple[str, str, str]:
    return (go.binary, go.goroot, go.version)


def _write_marker(path: str, why: str) -> None:
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(why + "\n")
    except OSError:
        pass  # then it is retried by the next process: no worse than before


_registry: dict[str, Compilers] = {}
_registry_lock = threading.Lock()


def for_directory(directory: str) -> Compilers:
    """The one ``Compilers`` of ``directory`` in this process: engines rebuilt on a
    settings change share its builds."""
    with _registry_lock:
        found = _registry.get(directory)
        if found is None:
            found = _registry[directory] = Compilers(directory)
        return found


def default_directory() -> str:
    return os.path.join(_cache_directory(), "compilers")

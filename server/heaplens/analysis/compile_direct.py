"""Compile one package by running the compiler itself, without the ``go`` command.

Why: on an edit, one package changes and everything it imports is already built. The
``go`` command would spend most of its time re-deriving that: loading the module graph,
hashing every dependency to find it in the build cache, then starting ``compile``.
Measured on compress/flate (2 cores, Go 1.26): ``go build -gcflags=-m=2`` 0.24 s, plain
``go build`` 0.19 s, ``compile -json`` run directly 0.11 s. gopls does the same kind of
thing for type checking; here it is the real compiler with the real export data of the
dependencies, so the escape analysis is exactly what ``go build`` would report.

When: only when the ``go`` command would add nothing but bookkeeping. The package is not
in the standard library, has no cgo, assembly, SWIG or embedded files (a ``.syso`` is the
linker's alone: it does not count), knows its module's ``go`` version, and is built with
no flag that changes compilation (``-race``, ``-cover``, ``-gcflags``, ``-trimpath``, a
PGO profile...). Every dependency has export data from the listing's ``go list -export``
run, that file still exists, and for a dependency in the workspace its sources still match
what that data was built from. Any of these missing, ``plan`` says why and the engine lets
the ``go`` command do it.

The flags mirror what cmd/go's ``gcToolchain.gc`` passes (``-p``, ``-lang``,
``-complete``, ``-c``, ``-nolocalimports``, ``-importcfg``), and unsaved buffers are
passed the way ``go build -overlay`` passes them: the buffer's temporary file, with a
``-trimpath`` rewrite so that positions name the real file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from ..packages import Listing, Package
from ..toolchain import COMPILER_ENV, GoEnv, json_log_flag
from . import collisions

# Build flags that do not change how a package is compiled (they choose files, which the
# listing already did, or act at link time).
_NEUTRAL_VALUE_FLAGS = frozenset({"tags", "mod", "modfile", "ldflags", "p"})
_NEUTRAL_BOOL_FLAGS = frozenset({"modcacherw", "v", "x", "buildvcs"})

# Compiler messages that mean the export data, not the source, is the problem.
_ENVIRONMENTAL = re.compile(
    r"could not import|reading export data|export data|object is \[|"
    r"unsupported version|-importcfg|cannot find package|version .* does not match"
)


@dataclass(frozen=True)
class Plan:
    """How to compile one package directly (or, from ``plan_test``, its tests)."""

    package: Package
    importcfg: str
    lang: str

    @property
    def pkgpath(self) -> str:
        """``-p``: "main" for a main package (its test variant uses the import path)."""
        return "main" if self.package.name == "main" else self.package.import_path


def neutral_flags(flags: Sequence[str]) -> bool:
    """True when none of ``flags`` (go build flags, as in GOFLAGS) changes compilation."""
    i = 0
    while i < len(flags):
        flag = flags[i]
        if not flag.startswith("-"):
            return False
        name, eq, value = flag.lstrip("-").partition("=")
        if name == "pgo":
            if value != "off":
                return False
        elif name == "trimpath":
            if value != "false":  # heaplens passes -trimpath=false: paths as they are
                return False
        elif name in _NEUTRAL_VALUE_FLAGS:
            if not eq:
                i += 1  # "-tags x": the value is the next word
        elif name not in _NEUTRAL_BOOL_FLAGS:
            return False
        i += 1
    return True


def plan(
    pkg: Package,
    listing: Listing,
    go: GoEnv,
    *,
    fresh: Callable[[Package], bool],
    flags_neutral: bool,
) -> Plan | str:
    """A plan to compile ``pkg`` directly, or the reason the go command must do it."""
    if not flags_neutral:
        return "build flags change compilation"
    if not go.tooldir or not os.path.exists(compiler(go)):
        return "no compiler in GOTOOLDIR"
    if pkg.standard:
        return "standard library"
    if not pkg.go_only:
        return "cgo, assembly or embedded files"
    lang = _lang(pkg.go_version)
    if lang is None:
        return "no go version in go.mod"
    if pkg.name == "main" and os.path.exists(os.path.join(pkg.dir, "default.pgo")):
        return "a PGO profile"
    if any(";" in f for f in pkg.go_files):
        return "a file name with ';'"
    lines = [f"importmap {a}={b}" for a, b in pkg.import_map]
    for path in pkg.deps:
        if path == "unsafe":
            continue  # built into the compiler
        usable, line = _packagefile(path, listing, fresh)
        if not usable:
            return line
        lines.append(line)
    return Plan(pkg, "\n".join(lines) + "\n", lang)


def plan_test(base: Plan, listing: Listing, *, fresh: Callable[[Package], bool]) -> Plan | str:
    """A plan to compile the tests of ``base``'s package directly: the package with its
    in-package test files (``p [p.test]``, as an archive), then its external test package
    (``p_test``) against that archive. No test binary is linked; nothing needs one.

    The go command recompiles a dependency of the tests that itself imports ``p`` against
    the test variant of ``p``; that case, like embedded files in tests, is left to it.
    """
    pkg = base.package
    if not pkg.tests_go_only:
        return "embedded files in tests"
    lines = [base.importcfg.rstrip("\n")] if base.importcfg.strip() else []
    known = set(pkg.deps) | {"unsafe", pkg.import_path}
    for path in listing.test_deps(pkg):
        if path in known:
            continue
        known.add(path)
        dep = listing.graph.get(path)
        if dep is not None and pkg.import_path in dep.deps:
            return f"{path}, which the tests import, imports the package itself"
        usable, line = _packagefile(path, listing, fresh)
        if not usable:
            return line
        lines.append(line)
    return Plan(pkg, "\n".join(lines) + "\n", base.lang)


def _packagefile(path: str, listing: Listing, fresh: Callable[[Package], bool]) -> tuple[bool, str]:
    """(True, the importcfg line) for a dependency, or (False, why its export data
    cannot be used)."""
    dep = listing.graph.get(path)
    if dep is None or not dep.export:
        return False, f"no export data for {path}"
    if not os.path.exists(dep.export):
        return False, f"export data for {path} was removed from the build cache"
    if not fresh(dep):
        return False, f"{path} changed since it was built"
    return True, f"packagefile {path}={dep.export}"


def _lang(go_version: str) -> str | None:
    m = re.match(r"(\d+)\.(\d+)", go_version)
    return f"go{m.group(1)}.{m.group(2)}" if m else None


def compiler(go: GoEnv) -> str:
    return os.path.join(go.tooldir, "compile.exe" if os.name == "nt" else "compile")


def argv(
    go: GoEnv,
    *,
    pkgpath: str,
    lang: str,
    files: Sequence[str],
    importcfg_file: str,
    object_file: str,
    log_dir: str,
    buffers: Mapping[str, str],
    concurrency: int,
    pack: bool = False,
    renames: Collection[str] = (),
) -> list[str]:
    """The compile command line. ``buffers`` maps a real file to its unsaved copy;
    ``pack`` writes an archive that a later compile can import; the files in
    ``renames`` are compiled under another name (``collisions``)."""
    args = [
        compiler(go),
        # Never a shared path such as /dev/null: a compile that fails removes its output
        # file, and one running as root would delete the device.
        "-o",
        object_file,
        "-p",
        pkgpath,
        f"-lang={lang}",
        "-complete",
        f"-c={max(1, concurrency)}",
        "-nolocalimports",
        "-importcfg",
        importcfg_file,
        # As in the go-command path (flags.gcflags): no debug information, and the log.
        "-dwarf=false",
        json_log_flag(log_dir),
    ]
    if pack:
        args.append("-pack")
    rewrites = [
        f"{buffers.get(f, f)}=>{collisions.renamed(f) if f in renames else f}"
        for f in files
        if f in buffers or f in renames
    ]
    if rewrites:
        args += ["-trimpath", ";".join(rewrites)]
    args += [buffers.get(f, f) for f in files]
    return args


def env(base: Mapping[str, str], go: GoEnv) -> dict[str, str]:
    """The compile's environment: the go command sets what `go env` says (which includes
    `go env -w` settings) before it starts a tool, and so do we."""
    out = dict(base)
    for name, value in go.build_env:
        if name in COMPILER_ENV and value:
            out[name] = value
    if go.goroot:
        out["GOROOT"] = go.goroot
    return out


def environmental(messages: Sequence[str]) -> bool:
    """True when a failed compile blames its inputs' export data, not the sources."""
    return any(_ENVIRONMENTAL.search(m) for m in messages)

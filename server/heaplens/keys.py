"""Cache keys: a hash of everything that determines a compile unit's findings.

A unit is a package compiled on its own (``plain``) or with its tests (``test``). Its key
covers:

* the toolchain: ``go`` binary identity, version, GOROOT and the build environment
  (GOOS, GOARCH, GOFLAGS, CGO_ENABLED, GOEXPERIMENT...);
* heaplens's own schema version and the build flags;
* the package's directory, import path and the contents of its files, with unsaved
  buffers (overlays) in place of the files on disk;
* go.mod, go.sum, go.work and go.work.sum;
* the identity of every dependency: for a dependency in the workspace (or in a local
  ``replace`` or GOPATH), the contents of its files; for one from the module cache, its
  module path and version; for the standard library, the toolchain already says it.

A dependency edited on disk therefore changes the key of every package that imports it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping

from . import __version__
from .cache import SCHEMA
from .packages import Listing, Package
from .toolchain import GoEnv


class FileHasher:
    """Content hashes of files, remembered by (size, mtime, inode) so unchanged files are
    not read again."""

    def __init__(self) -> None:
        self._memo: dict[str, tuple[tuple[int, int, int], str]] = {}

    def digest(self, path: str, overlays: Mapping[str, bytes]) -> str:
        if path in overlays:
            return "o" + hashlib.sha256(overlays[path]).hexdigest()
        try:
            st = os.stat(path)
        except OSError:
            return "missing"
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        known = self._memo.get(path)
        if known is not None and known[0] == stamp:
            return known[1]
        try:
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
        except OSError:
            return "unreadable"
        self._memo[path] = (stamp, digest)
        return digest


def _code_fingerprint() -> str:
    """heaplens's own code determines results too: a changed parser must not reuse entries
    an older one wrote. Sizes and mtimes of our modules are enough, and cost no reads."""
    here = os.path.dirname(os.path.abspath(__file__))
    parts = []
    for dirpath, _dirs, files in os.walk(here):
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(dirpath, name))
                parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(sorted(parts)).encode()).hexdigest()


CODE = _code_fingerprint()


def toolchain_identity(go: GoEnv, build_flags: Iterable[str], env: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    try:
        st = os.stat(go.binary)
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = "?"
    parts = [
        f"heaplens {__version__} schema {SCHEMA} code {CODE}",
        go.binary,
        stamp,
        go.version,
        go.goroot,
        repr(go.build_env),
        repr(tuple(build_flags)),
        # The query's environment (GO111MODULE, GOWORK overrides) changes the build too.
        repr(sorted((k, v) for k, v in env.items() if k.startswith(("GO", "CGO_")))),
    ]
    h.update("\0".join(parts).encode())
    return h.hexdigest()


def unit_key(
    variant: str,
    pkg: Package,
    listing: Listing,
    toolchain: str,
    hasher: FileHasher,
    overlays: Mapping[str, bytes],
    gomodcache: str,
) -> str:
    h = hashlib.sha256()

    def add(*parts: str) -> None:
        for part in parts:
            h.update(part.encode("utf-8", "surrogateescape"))
            h.update(b"\0")

    add(variant, toolchain, pkg.import_path, pkg.dir)
    files = pkg.all_files if variant == "test" else pkg.go_files
    for path in files:
        add(path, hasher.digest(path, overlays))
    for path in pkg.build_files:
        add(path, hasher.digest(path, overlays))
    deps = listing.test_deps(pkg) if variant == "test" else pkg.deps
    for dep_path in deps:
        # A test binary's dependencies include recompiled variants, "x [p.test]": same files.
        dep = listing.graph.get(dep_path.split(" [", 1)[0])
        if dep is None:
            add("dep", dep_path)
        elif dep.standard:
            continue
        elif dep.is_local(gomodcache):
            add("local", dep_path, dep.dir)
            for path in dep.go_files:
                add(path, hasher.digest(path, overlays))
        else:
            add("module", dep_path, dep.module_path, dep.module_version)
    return h.hexdigest()


def source_digest(pkg: Package, hasher: FileHasher, overlays: Mapping[str, bytes]) -> str:
    """A digest of a package's Go sources as the compiler would read them now."""
    h = hashlib.sha256()
    for path in pkg.go_files:
        h.update(f"{path}\0{hasher.digest(path, overlays)}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()

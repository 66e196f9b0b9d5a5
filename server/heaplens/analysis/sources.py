"""Source files as one check sees them: unsaved buffers in place of the disk, and the
files that never change (GOROOT, the module cache) kept parsed across checks.

Owns reading and parsing, and what reasons ask of a package's sources (its scope, the
scalar types of imported packages, how closures of initialisers are numbered).
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from .. import findings
from ..packages import Package
from ..syntax import SourceFile


class ReadOnlyFiles:
    """Source files that never change under a running engine: the toolchain's GOROOT and
    the module cache (which the go command keeps read-only). Reasons read them for code
    inlined from there (whose function is it? what is the value?) and for other
    packages' types; kept parsed across checks, so an edit does not parse them again."""

    _LIMIT = 512

    def __init__(self) -> None:
        self._files: OrderedDict[str, SourceFile | None] = OrderedDict()
        self.scalars: dict[str, frozenset[str]] = {}
        self.roots: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add_roots(self, *roots: str) -> None:
        """Directories whose files never change: a toolchain's GOROOT/src, a module
        cache. Roots are only added: every engine of the process shares these files."""
        with self._lock:
            self.roots = tuple(
                dict.fromkeys((*self.roots, *(os.path.join(r, "") for r in roots if r)))
            )

    def holds(self, path: str) -> bool:
        return bool(self.roots) and path.startswith(self.roots)

    def get(self, path: str) -> SourceFile | None:
        with self._lock:
            if path in self._files:
                self._files.move_to_end(path)
                return self._files[path]
        src = read_source(path, None)
        with self._lock:
            self._files[path] = src
            while len(self._files) > self._LIMIT:
                self._files.popitem(last=False)
        return src


#: One for the process: the files never change, whichever engine reads them.
READ_ONLY = ReadOnlyFiles()


def read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def read_source(path: str, data: bytes | None) -> SourceFile | None:
    """``path``'s source: ``data`` (an unsaved buffer), else the disk's."""
    if data is None:
        data = read_bytes(path)
    return SourceFile(path, data) if data is not None else None


class Sources:
    """Source files for one check, with unsaved buffers in place of the disk."""

    def __init__(
        self, overlays: Mapping[str, bytes], read_only: ReadOnlyFiles | None = None
    ) -> None:
        self._overlays = overlays
        self._read_only = read_only or ReadOnlyFiles()
        self._files: dict[str, SourceFile | None] = {}
        self._scopes: dict[tuple[str, ...], findings.PackageScope] = {}
        self._package_files: dict[str, tuple[str, ...]] = {}
        self._scalars: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def get(self, path: str) -> SourceFile | None:
        with self._lock:
            if path in self._files:
                return self._files[path]
        data = self._overlays.get(path)
        if data is None and self._read_only.holds(path):
            return self._read_only.get(path)
        src = read_source(path, data)
        with self._lock:
            self._files[path] = src
        return src

    def parse(self, paths: Sequence[str]) -> None:
        """Read and parse ``paths`` now, so that later lookups find them ready."""
        for path in paths:
            src = self.get(path)
            if src is not None:
                src.index_nodes()
                src.line_starts  # noqa: B018 - computing it is the point

    def scope_for(self, files: Sequence[str]) -> Callable[[str], findings.PackageScope]:
        """What reasons need of each file's package (``findings.PackageScope``), for the
        package made of ``files``.

        The same directory can hold a package with or without its test files, so the
        answer is remembered per set of files, not per directory.
        """

        by_dir: dict[str, tuple[str, ...]] = {}
        for f in sorted(files):
            by_dir.setdefault(os.path.dirname(f), ())
            by_dir[os.path.dirname(f)] += (f,)

        def lookup(path: str) -> findings.PackageScope:
            members = by_dir.get(os.path.dirname(path), ())
            with self._lock:
                known = self._scopes.get(members)
            if known is not None:
                return known
            scope = findings.PackageScope.of(
                src for src in (self.get(p) for p in members) if src is not None
            )
            with self._lock:
                self._scopes[members] = scope
            return scope

        return lookup

    def know_packages(self, graph: Mapping[str, Package]) -> None:
        """Remember where the packages of a listing are, for ``imported_scalar``."""
        with self._lock:
            for path, pkg in graph.items():
                self._package_files.setdefault(path, pkg.go_files)

    def imported_scalar(self, path: str, name: str) -> bool:
        """Whether the type ``name`` of the package ``path`` is defined as a number or a
        bool. Only packages the check listed are read; others are not known.

        Only files whose text could declare it so are parsed: ``reflect.Value`` must not
        cost a parse of all of reflect.
        """
        key = f"{path}\0{name}"
        with self._lock:
            files = self._package_files.get(path, ())
            stable = bool(files) and all(map(self._read_only.holds, files))
            known = (self._read_only.scalars if stable else self._scalars).get(key)
        if known is None:
            # `Duration int64` ending its line, as a type declaration of a number would.
            maybe = re.compile(
                rb"\b"
                + re.escape(name.encode())
                + rb"\s+(?!struct\b|interface\b|func\b|map\b|chan\b)[A-Za-z_][\w.]*[ \t]*(?:\n|//)"
            )
            found = False
            for file in files:
                data = self._overlays.get(file) or read_bytes(file)
                if data is not None and maybe.search(data):
                    src = self.get(file)
                    if src is not None and name in src.scalar_types:
                        found = True
                        break
            known = frozenset({name}) if found else frozenset()
            with self._lock:
                (self._read_only.scalars if stable else self._scalars)[key] = known
        return name in known

    def init_closures_before_for(self, files: Sequence[str]) -> Callable[[str], int]:
        """For each file, how many closures in package variables' initial values the
        compiler numbers before that file's own: it calls them ``init.func1``, ``2``...
        across the package, in the order its files are compiled, which is ``files``'."""
        known: dict[str, int] = {}

        def lookup(path: str) -> int:
            if path in known:
                return known[path]
            src = self.get(path)
            count = 0
            if src is not None:
                for other in files:
                    if other == path:
                        break
                    before = self.get(other)
                    if (
                        before is not None
                        and os.path.dirname(other) == os.path.dirname(path)
                        and before.package_name == src.package_name
                    ):
                        count += before.init_closures
            known[path] = count
            return count

        return lookup

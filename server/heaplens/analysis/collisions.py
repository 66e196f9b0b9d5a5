"""Log files that another file's log overwrote, and how heaplens gets them back.

The compiler writes its ``-json`` log one file per source file, named after the source
file's *base name* only: ``DIR/<package>/<base>.json`` (``logopt.writerForLSP``, which
truncates the file it opens). Two source files with one base name in one package's log
directory therefore share a log file, and the one written last replaces the other
(golang/go#78700). It happens in two ways:

1. **Code of another package compiled into this one.** A generic function instantiated
   here (``slices.Sort`` is GOROOT's ``slices/sort.go``) is logged under this package, and
   it meets the package's own ``sort.go``. The log is written sorted by the compiler's
   file index, and the package's own files come first, so the other file wins. Measured on
   Go 1.21.13 and 1.26.8: ``sort.json`` then names GOROOT's ``slices/sort.go`` in its
   header, and nothing of the package's ``sort.go`` is left. The same goes for a module
   dependency's generics (a ``util.go`` of ours and ``lo``'s ``slice.go``...).
2. **Main packages.** The go command compiles every main package with ``-p main``, so all
   main packages of one ``go list -export`` run log into ``DIR/main/``. ``cmd/a/main.go``
   and ``cmd/b/main.go`` then write one file, and may do so at the same time: even the
   survivor can be a mix of both.

``lost_files`` finds the first kind: a log file named after one of the package's files
whose header names another file. ``main_clashes`` finds the second: main packages of one
run that share a base name.

Recovery: the package is compiled again on its own, and each file that lost its log is
given to the compiler under a name of its own, ``<file>~heaplens.go`` (``renamed``): by
``-trimpath`` when heaplens runs the compiler itself, by an ``-overlay`` that moves the
file when the go command does. It then logs to ``<base>.go~heaplens.json``, and
``restore`` takes the suffix out of the log's bytes before anything reads them, so the
rest of heaplens only ever sees the real file. The new name keeps all the compiler and the
go command care about: the directory (embed patterns), the contents (build constraints),
the ``.go`` extension, and it can become neither a ``_test.go`` file nor gain a
``_GOOS``/``_GOARCH`` suffix. The names heaplens has had to change are remembered
(``Engine``), so the next compile of the package renames them at once and costs one
compile, not two.

Why this and not another way:

* An ``-overlay`` that keeps the name does not help: positions, and so the log's name,
  are the file's real path. Only the name the compiler is given decides where the log
  goes.
* Reading ``-m=2`` text for the package instead would be a second parser for a second
  format, one that lacks the log's positions inside inlined code, for a rare case.
* Renaming every file of every package, always, would avoid the second compile, but
  would put a rewrite in front of every position of every log read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from urllib.parse import unquote

from ..compiler_output import LogFile, RawLog
from ..model import CompileError
from ..packages import Listing, Package

#: What a renamed file's name gets: ``sort.go`` is compiled as ``sort.go~heaplens.go``.
#: Only characters that neither JSON strings nor URIs escape, so that the log's bytes
#: hold it as written wherever they name the file.
SUFFIX = "~heaplens.go"
_SUFFIXED = (".go" + SUFFIX).encode()


def renamed(path: str) -> str:
    """The name a file is compiled under when its own would lose its log."""
    return path + SUFFIX


def real_path(path: str) -> str:
    """The file a (possibly) renamed path stands for."""
    return path[: -len(SUFFIX)] if path.endswith(".go" + SUFFIX) else path


def restore(data: bytes) -> bytes:
    """A log's bytes with every renamed file named as itself again."""
    return data.replace(_SUFFIXED, b".go") if _SUFFIXED in data else data


def restore_errors(errors: Iterable[CompileError]) -> tuple[CompileError, ...]:
    """Compile errors naming the real files, not the names they were compiled under."""
    out = []
    for e in errors:
        real = real_path(e.file)
        if real != e.file:
            e = CompileError(real, e.line, e.column, e.message.replace(e.file, real), e.package)
        out.append(e)
    return tuple(dict.fromkeys(out))


def _stem(base: str) -> str:
    """What the compiler keeps of a base name for its log's name: up to the last
    ``.go``. Compared case-blind: on macOS and Windows ``Sort.json`` is ``sort.json``."""
    cut = base.rfind(".go")
    return (base[:cut] if cut >= 0 else base).casefold()


def log_stem(path: str) -> str:
    """The (case-folded) name of the log a source file's diagnostics go to."""
    return _stem(path.replace("\\", "/").rsplit("/", 1)[-1])


def _stem_of_log(name: str) -> str:
    # The compiler path-escapes the name (``url.PathEscape``).
    return unquote(name[: -len(".json")] if name.endswith(".json") else name).casefold()


def log_subdir(import_path: str, name: str) -> str:
    """The directory of the log a package's compile writes (its ``-p``, unescaped)."""
    return "main" if name == "main" else import_path


def lost_files(log: RawLog, subdir: str, files: Iterable[str]) -> list[str]:
    """Those of ``files`` (one package's, compiled under their own names) whose log
    another file's replaced: their log's name is taken by a log about another file.

    A file the compiler had nothing to say about has no log at all, and is not lost.
    """
    taken: dict[str, list[str | None]] = {}
    logs: list[LogFile] = [*log.files, *log.skipped]
    for one in logs:
        if one.package == subdir and one.name:
            taken.setdefault(_stem_of_log(one.name), []).append(one.header)
    lost = []
    for f in files:
        headers = taken.get(log_stem(f), [])
        if any(h != f for h in headers):
            lost.append(f)
    return lost


def main_clashes(packages: Mapping[str, Collection[str]]) -> set[str]:
    """Of main packages compiled in one run (import path → files), those that share a
    log file name with another: their logs went to one file, perhaps at the same time."""
    owners: dict[str, set[str]] = {}
    for path, files in packages.items():
        for f in files:
            owners.setdefault(log_stem(f), set()).add(path)
    return {p for paths in owners.values() if len(paths) > 1 for p in paths}


def overlay(renames: Collection[str], buffers: Mapping[str, str]) -> dict[str, str]:
    """An ``-overlay`` ``Replace`` map: unsaved buffers in place of their files, and each
    of ``renames`` moved to its new name (its old one deleted)."""
    out = dict(buffers)
    for f in renames:
        out[f] = ""
        out[renamed(f)] = buffers.get(f, f)
    return out


def restore_listing(listing: Listing) -> None:
    """The targets of a listing made with renamed files, with their real files."""

    def real(pkg: Package) -> Package:
        return replace(
            pkg,
            go_files=tuple(real_path(f) for f in pkg.go_files),
            errors=restore_errors(pkg.errors),
        )

    listing.targets = [real(p) for p in listing.targets]
    for p in listing.targets:
        listing.graph[p.import_path] = p
    listing.errors = list(restore_errors(listing.errors))

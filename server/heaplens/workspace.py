"""Which packages the user means: from what they typed to *queries*.

A user names directories, files, ``./...`` patterns or import paths. A query is one
directory to run ``go`` in (the module or workspace root that owns the packages, so
nested modules and go.work both work) plus the patterns to give it there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

# Directories that never hold packages the user means by "./...".
SKIP_DIRS = frozenset({"vendor", "testdata", "node_modules", ".git", ".hg", ".svn"})


class TargetError(Exception):
    """What the user named cannot be analysed: a path that does not exist, a pattern that
    matches no packages, a directory outside any module with nothing to analyse. The
    message is one line, for the user."""


@dataclass(frozen=True)
class Query:
    """One ``go`` invocation's worth of user request."""

    root: str
    patterns: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    #: Files the user named; findings are shown for these only. ``None`` means all.
    files: frozenset[str] | None = None
    #: Files of a directory outside any module, compiled as an ad-hoc package.
    adhoc: bool = False


def find_up(start: str, name: str) -> str | None:
    """The nearest directory at or above ``start`` that contains ``name``."""
    d = os.path.abspath(start)
    while True:
        if os.path.isfile(os.path.join(d, name)):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _work_uses(work_dir: str) -> list[str]:
    """Module directories named by the ``use`` directives of ``work_dir/go.work``."""
    try:
        with open(os.path.join(work_dir, "go.work"), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    uses: list[str] = []
    in_block = False
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if in_block:
            if line == ")":
                in_block = False
            elif line:
                uses.append(line.strip('"'))
        elif line.startswith("use"):
            rest = line[3:].strip()
            if rest.startswith("("):
                in_block = True
            elif rest:
                uses.append(rest.strip('"'))
    return [os.path.normpath(os.path.join(work_dir, u)) for u in uses]


@dataclass(frozen=True)
class _Root:
    dir: str
    env: tuple[tuple[str, str], ...]
    adhoc: bool = False
    #: For a go.work root: the modules it uses. ``./...`` only matches inside them.
    uses: tuple[str, ...] = ()


def outside_any_module(directory: str, env: Mapping[str, str]) -> bool:
    """Whether ``directory`` is in no module, workspace or GOPATH: its Go files can only
    be compiled on their own, as ``go build a.go b.go`` would."""
    return os.path.isdir(directory) and _root_for(directory, env).adhoc


def _root_for(directory: str, env: Mapping[str, str]) -> _Root:
    """Where to run ``go`` for packages in ``directory``, and any environment it needs."""
    mod = find_up(directory, "go.mod")
    if env.get("GOWORK", "") != "off":
        work_file = env.get("GOWORK")
        work = os.path.dirname(work_file) if work_file else find_up(directory, "go.work")
        uses = _work_uses(work) if work else []
        if work and mod and mod in uses:
            return _Root(work, (), uses=tuple(uses))
        if work and not mod and any(_within(u, directory) for u in uses):
            # The workspace root itself, or a folder above several of its modules.
            return _Root(work, (), uses=tuple(uses))
        if work and mod and _within(mod, work):
            # A module below a go.work that does not use it: build it on its own.
            return _Root(mod, (("GOWORK", "off"),))
    if mod:
        return _Root(mod, ())
    gopath = env.get("GOPATH") or os.path.join(os.path.expanduser("~"), "go")
    for entry in gopath.split(os.pathsep):
        src = os.path.join(os.path.abspath(entry), "src")
        if entry and _within(os.path.abspath(directory), src) and directory != src:
            return _Root(src, (("GO111MODULE", "off"),))
    return _Root(directory, (("GO111MODULE", "on"),), adhoc=True)


def _walk(base: str) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk`` over the directories ``./...`` covers, as the go command skips them."""
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not d.startswith((".", "_"))
        )
        yield dirpath, dirnames, filenames


# How far below a folder outside any module Go code is looked for, before the folder is
# called no Go workspace: two levels of folders, and no more than this many of them.
NEAR_DEPTH = 2
NEAR_DIRS = 500


def not_a_workspace(directory: str, env: Mapping[str, str]) -> str | None:
    """Why ``directory`` is no folder to search for Go packages, or None when it is one.

    It is one when the go command would build there (a go.mod or go.work in it or above
    it, or GOPATH/src), or when Go code is near its top: a go.mod, go.work or .go file
    in it or in the two levels of folders below it. The root of the file system, however
    it is reached, never is: a search from there walks every disk.
    """
    real = os.path.realpath(directory)
    if os.path.dirname(real) == real:
        if real == os.path.abspath(directory):
            return "it is the root of the file system"
        return f"it leads to {real}, the root of the file system"
    if not _root_for(directory, env).adhoc or _go_code_near(directory):
        return None
    return (
        "it is in no Go module, workspace or GOPATH, and no go.mod or .go file is in it "
        f"or in the {NEAR_DEPTH} levels of folders below it"
    )


def _go_code_near(top: str) -> bool:
    level = [top]
    seen = 0
    for depth in range(NEAR_DEPTH + 1):
        below: list[str] = []
        for directory in level:
            seen += 1
            if seen > NEAR_DIRS:
                return False
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                if entry.is_dir(follow_symlinks=False):
                    if name not in SKIP_DIRS and not name.startswith((".", "_")):
                        below.append(entry.path)
                elif name.endswith(".go") or name in ("go.mod", "go.work"):
                    return True
        level = sorted(below) if depth < NEAR_DEPTH else []
    return False


def _has_go_files(base: str) -> bool:
    return any(any(n.endswith(".go") for n in files) for _d, _s, files in _walk(base))


def _path_like(arg: str, cwd: str) -> bool:
    """Whether ``arg`` names a file or directory rather than an import path.

    As for the go command: absolute, or starting with ``./`` or ``../``. Also what only a
    path can be: ending in ``/`` (a shell's completion of a directory) or ``.go``, or
    starting with a directory that exists here (``pkg/typo`` when ``pkg`` exists).
    """
    if os.path.isabs(arg) or arg in (".", "..") or arg.startswith(("./", "../")):
        return True
    if arg.endswith(("/", ".go")):
        return True
    first, sep, _rest = arg.partition("/")
    return bool(sep) and os.path.isdir(os.path.join(cwd, first))


def _nested_modules(base: str) -> list[str]:
    """Directories below ``base`` (not ``base`` itself) that hold a go.mod."""
    found: list[str] = []
    for dirpath, _dirnames, filenames in _walk(base):
        if dirpath != base and "go.mod" in filenames:
            found.append(dirpath)
    return found


def _rel_pattern(root: str, directory: str, recursive: bool) -> str:
    rel = os.path.relpath(directory, root)
    pat = "." if rel == "." else "./" + rel.replace(os.sep, "/")
    return pat + "/..." if recursive else pat


def plan(args: Iterable[str], cwd: str, env: Mapping[str, str]) -> list[Query]:
    """Turn what the user typed into queries, one per directory ``go`` must run in.

    Raises ``TargetError`` for a path that does not exist, a ``dir/...`` pattern with no
    Go file below it, and a directory outside any module that has no Go files of its own:
    go would say nothing useful about them, or nothing at all."""
    targets = _Targets(env)
    for arg in args:
        _add_argument(targets, arg, cwd)
    return targets.queries()


@dataclass(frozen=True)
class _Targets:
    """What ``plan`` has gathered so far, by the root ``go`` must run in."""

    env: Mapping[str, str]
    #: Patterns to give ``go`` at each root.
    grouped: dict[_Root, list[str]] = field(default_factory=dict)
    #: The files the user named, at roots where only those are to be shown.
    named_files: dict[_Root, set[str]] = field(default_factory=dict)
    #: Roots where something was named whole (a directory, a pattern), not a file.
    whole: set[_Root] = field(default_factory=set)
    #: The Go files of directories outside any module, by their ad-hoc root.
    adhoc_files: dict[_Root, list[str]] = field(default_factory=dict)

    def add_directory(self, directory: str, recursive: bool, file: str | None = None) -> None:
        """The packages in ``directory`` (and below it, when ``recursive``); with ``file``,
        only that file of it is to be shown."""
        root = _root_for(directory, self.env)
        if root.adhoc:
            names = _adhoc_files(directory)
            self.adhoc_files.setdefault(root, []).extend(names)
        elif root.uses and not any(_within(directory, u) for u in root.uses):
            # go list cannot match "./..." in a folder that is in no workspace module;
            # name each module below it instead.
            for use in root.uses:
                if recursive and _within(use, directory):
                    self.grouped.setdefault(root, []).append(_rel_pattern(root.dir, use, True))
        else:
            self.grouped.setdefault(root, []).append(_rel_pattern(root.dir, directory, recursive))
        if file is None:
            self.whole.add(root)
        else:
            self.named_files.setdefault(root, set()).add(file)
        if recursive:
            self._add_nested_modules(directory, root)

    def _add_nested_modules(self, directory: str, root: _Root) -> None:
        """Every module below ``directory`` that ``root`` does not cover, whole."""
        for nested in _nested_modules(directory):
            nested_root = _root_for(nested, self.env)
            if nested_root.dir == root.dir:
                continue  # a workspace module: "./..." at the work root covers it
            self.grouped.setdefault(nested_root, []).append(
                _rel_pattern(nested_root.dir, nested, True)
            )
            self.whole.add(nested_root)

    def add_import_path(self, cwd: str, arg: str) -> None:
        """An import path or import-path pattern: resolved from where the user is."""
        root = _root_for(cwd, self.env)
        self.grouped.setdefault(root, []).append(arg)
        self.whole.add(root)

    def queries(self) -> list[Query]:
        queries: list[Query] = []
        for root, patterns in self.grouped.items():
            files = None if root in self.whole else frozenset(self.named_files.get(root, set()))
            queries.append(Query(root.dir, tuple(dict.fromkeys(patterns)), root.env, files))
        for root, names in self.adhoc_files.items():
            files = None if root in self.whole else frozenset(self.named_files.get(root, set()))
            queries.append(
                Query(root.dir, tuple(dict.fromkeys(names)), root.env, files, adhoc=True)
            )
        return queries


def _adhoc_files(directory: str) -> list[str]:
    """The Go files (not tests) of ``directory``, which is outside any module."""
    names = sorted(
        os.path.join(directory, n)
        for n in os.listdir(directory)
        if n.endswith(".go") and not n.endswith("_test.go")
    )
    if not names:
        raise TargetError(
            f"{directory} is outside any Go module (no go.mod in it or above it) "
            "and has no .go files to analyse on their own"
        )
    return names


def _add_argument(targets: _Targets, arg: str, cwd: str) -> None:
    """One thing the user typed: a ``dir/...`` pattern, a file, a directory, or else an
    import path."""
    if (arg.endswith("/...") or arg == "...") and _add_tree(targets, arg, cwd):
        return
    path = os.path.join(cwd, arg)
    if not os.path.exists(path) and _path_like(arg, cwd):
        raise TargetError(f"no such file or directory: {arg}")
    if os.path.isfile(path) and arg.endswith(".go"):
        targets.add_directory(os.path.dirname(os.path.abspath(path)), False, os.path.abspath(path))
    elif os.path.isdir(path):
        targets.add_directory(os.path.abspath(path), False)
    else:
        targets.add_import_path(cwd, arg)


def _add_tree(targets: _Targets, arg: str, cwd: str) -> bool:
    """``dir/...``: every package at or below ``dir``. False when ``dir`` is no directory
    and ``arg`` may be an import-path pattern instead."""
    base = os.path.normpath(os.path.join(cwd, arg[: -len("...")] or "."))
    if os.path.isdir(base):
        why = not_a_workspace(base, targets.env)
        if why is not None:
            # Before any walk: "/..." would walk every disk to say nothing.
            raise TargetError(f"{base} is not a Go workspace: {why}")
        if not _has_go_files(base):
            raise TargetError(f"{arg} matched no packages (no .go files below it)")
        targets.add_directory(base, True)
        return True
    if _path_like(arg, cwd):
        given = arg[: -len("/...")] or "/"
        raise TargetError(f"{arg} matched no packages (no such directory: {given})")
    return False

"""What ``go list`` knows about packages: files, module, dependencies, errors.

``list_packages`` runs ``go list -e -deps`` for a query and types the answer. With
``log_dir`` it also compiles the packages named on the command line in the same
invocation (``-export`` with our ``-gcflags``), which saves a whole ``go`` start on a
first check. A ``Listing`` can be stored and reused: ``fingerprint`` says whether the
directories and build files it was made from are still as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from . import toolchain
from .compile_errors import name_real_files, parse_error_text
from .model import CompileError
from .workspace import SKIP_DIRS, Query, find_up

_LIST_FIELDS = (
    "ImportPath,Name,Dir,GoFiles,CgoFiles,TestGoFiles,XTestGoFiles,TestImports,XTestImports,"
    "Module,Standard,DepOnly,Error,DepsErrors,Deps,Incomplete,Export,ImportMap,EmbedPatterns,"
    "CFiles,CXXFiles,MFiles,FFiles,SFiles,SwigFiles,SwigCXXFiles,"
    "TestEmbedPatterns,XTestEmbedPatterns,IgnoredGoFiles"
)
# Inputs of a package other than its Go files that its compile depends on. A package with
# any of them needs the go command (cgo, assembly, embedding) to be compiled. Not .syso
# files: only the linker reads them, and heaplens never links.
_NON_GO_INPUTS = (
    "CgoFiles",
    "CFiles",
    "CXXFiles",
    "MFiles",
    "FFiles",
    "SFiles",
    "SwigFiles",
    "SwigCXXFiles",
    "EmbedPatterns",
)


@dataclass(frozen=True)
class Package:
    """What ``go list`` says about one package. All paths are absolute."""

    import_path: str
    name: str
    dir: str
    go_files: tuple[str, ...]
    test_files: tuple[str, ...]
    xtest_files: tuple[str, ...]
    test_imports: tuple[str, ...]
    module_path: str
    module_dir: str
    module_version: str
    #: The module's go.mod and go.sum, and the go.work that governs the build, if any.
    build_files: tuple[str, ...]
    standard: bool
    deps: tuple[str, ...]
    errors: tuple[CompileError, ...] = ()
    #: The ``go`` directive of the package's module ("1.22"); "" outside a module.
    go_version: str = ""
    #: True when its Go files are all the compiler needs: no cgo, assembly or embedding.
    go_only: bool = False
    #: True when its test files embed nothing (they cannot use cgo or assembly).
    tests_go_only: bool = False
    #: Export data from the build that listed it (only ``go list -export`` says).
    export: str = ""
    #: Imports that resolve to another path (vendoring), as (written, resolved) pairs.
    import_map: tuple[tuple[str, str], ...] = ()
    #: Go files in its directory that build constraints leave out (``IgnoredGoFiles``).
    ignored_files: tuple[str, ...] = ()

    @property
    def has_tests(self) -> bool:
        return bool(self.test_files or self.xtest_files)

    @property
    def all_files(self) -> tuple[str, ...]:
        return self.go_files + self.test_files + self.xtest_files

    def is_local(self, gomodcache: str) -> bool:
        """Source that can change without a version change: the workspace, a local
        ``replace``, GOPATH. Not the standard library, not the module cache."""
        if self.standard or self.module_version:
            return False
        return not (gomodcache and self.dir.startswith(gomodcache + os.sep))


@dataclass
class Listing:
    """The packages a query asked for, and every package they need."""

    targets: list[Package] = field(default_factory=list)
    #: Every package in the graph by import path, targets and dependencies alike.
    graph: dict[str, Package] = field(default_factory=dict)
    #: Errors that belong to no package (go.mod asks for a newer Go, say).
    errors: list[CompileError] = field(default_factory=list)
    #: For local packages with export data: a digest of the sources that data was built
    #: from (``keys.source_digest``). Export data is only trusted while it still matches.
    export_state: dict[str, str] = field(default_factory=dict)

    def test_deps(self, pkg: Package) -> tuple[str, ...]:
        """Everything the package's test binary depends on, as far as the graph knows."""
        seen: dict[str, None] = dict.fromkeys(pkg.deps)
        for imp in pkg.test_imports:
            if imp in seen or imp == pkg.import_path:
                continue
            seen[imp] = None
            dep = self.graph.get(imp)
            if dep is not None:
                seen.update(dict.fromkeys(dep.deps))
        return tuple(seen)

    def merge(self, fresher: Listing) -> None:
        """Take newer metadata for the packages ``fresher`` knows about."""
        self.graph.update(fresher.graph)
        for path in fresher.graph:
            self.export_state.pop(path, None)
        self.export_state.update(fresher.export_state)
        replaced = {p.import_path: p for p in fresher.targets}
        self.targets = [replaced.get(p.import_path, p) for p in self.targets]

    def name_real_files(self, buffers: Mapping[str, str]) -> None:
        """Make errors in unsaved buffers name the real files (``name_real_files``)."""
        if not buffers:
            return
        for path, pkg in self.graph.items():
            if pkg.errors:
                self.graph[path] = replace(pkg, errors=name_real_files(pkg.errors, buffers))
        self.targets = [self.graph.get(p.import_path, p) for p in self.targets]
        self.errors = list(name_real_files(self.errors, buffers))

    # -- storage -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "targets": [p.import_path for p in self.targets],
            "graph": [_package_to_json(p) for p in self.graph.values()],
            "export_state": self.export_state,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Listing:
        graph = {d["import_path"]: _package_from_json(d) for d in data["graph"]}
        state = {str(k): str(v) for k, v in dict(data.get("export_state", {})).items()}
        return Listing(targets=[graph[t] for t in data["targets"]], graph=graph, export_state=state)


def _package_to_json(p: Package) -> dict[str, Any]:
    d = {f.name: getattr(p, f.name) for f in fields(p)}
    d["errors"] = ()  # errors are results, kept with the results; a listing is structure
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _package_from_json(d: dict[str, Any]) -> Package:
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
    values["import_map"] = tuple((str(a), str(b)) for a, b in values.get("import_map", ()))
    return Package(**values)


def _abs(directory: str, names: object) -> tuple[str, ...]:
    if not isinstance(names, list):
        return ()
    return tuple(os.path.join(directory, str(n)) for n in names)


def errors_from(obj: object, root: str, package: str) -> list[CompileError]:
    """Turn a ``go list`` ``Error`` object into errors with absolute positions."""
    if not isinstance(obj, dict):
        return []
    text = str(obj.get("Err", ""))
    pos = str(obj.get("Pos", ""))
    errors = parse_error_text(text, root, package)
    if errors and any(e.file for e in errors):
        return errors
    if pos:
        parsed = parse_error_text(f"{pos}: {text}", root, package)
        if parsed:
            return parsed
    return errors or ([CompileError("", 0, 0, text.strip(), package)] if text.strip() else [])


def list_packages(
    query: Query,
    patterns: tuple[str, ...],
    go: toolchain.GoEnv,
    env: Mapping[str, str],
    *,
    overlay: str | None = None,
    build_flags: tuple[str, ...] = (),
    gcflags: tuple[str, ...] = (),
    compile_targets: bool = False,
    timeout: float | None = None,
    deadline: toolchain.Deadline | None = None,
    cancel: toolchain.CancelToken | None = None,
    started: Callable[[], None] | None = None,
) -> Listing:
    """Run ``go list -e -deps`` on ``patterns`` from the query's root.

    With ``compile_targets`` the named packages are compiled too (``-export``), with
    ``gcflags`` applied to them only; their ``Error`` then carries compile errors.
    """
    run_env = dict(env)
    run_env.update(dict(query.env))
    argv = [go.binary, "list", "-e", "-deps", f"-json={_LIST_FIELDS}"]
    if compile_targets:
        argv.append("-export")
        argv.extend(gcflags)
    if overlay:
        argv.append(f"-overlay={overlay}")
    argv.extend(build_flags)
    argv.extend(patterns)
    result = toolchain.run(
        argv,
        cwd=query.root,
        env=run_env,
        timeout=timeout,
        deadline=deadline,
        cancel=cancel,
        started=started,
    )
    listing = Listing()
    raw = decode_stream(result.stdout)
    if result.returncode != 0 and not raw:
        message = result.stderr.decode("utf-8", "replace").strip() or "go list failed"
        listing.errors.extend(
            parse_error_text(message, query.root, "") or [CompileError("", 0, 0, message, "")]
        )
        return listing
    work = None if dict(query.env).get("GOWORK") == "off" else find_up(query.root, "go.work")
    build_files_cache: dict[str, tuple[str, ...]] = {}
    for obj in raw:
        pkg = _package_from(obj, query.root, work, build_files_cache)
        if pkg is None:
            continue
        listing.graph[pkg.import_path] = pkg
        if not obj.get("DepOnly"):
            listing.targets.append(pkg)
    return listing


def decode_stream(data: bytes) -> list[dict[str, object]]:
    """``go list -json`` prints concatenated JSON objects; decode them one by one."""
    text = data.decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    out: list[dict[str, object]] = []
    i = 0
    n = len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        try:
            obj, i = decoder.raw_decode(text, i)
        except ValueError:
            break
        if isinstance(obj, dict):
            out.append(obj)
    return out


def _package_from(
    obj: dict[str, object],
    root: str,
    work: str | None,
    build_files_cache: dict[str, tuple[str, ...]],
) -> Package | None:
    path = str(obj.get("ImportPath", ""))
    if not path or (path.endswith("...") and not obj.get("Dir")):
        return None  # a pattern that matched nothing: its Error is all there is
    directory = str(obj.get("Dir", "") or "")
    module = _module_of(obj.get("Module"))
    deps = obj.get("Deps")
    test_imports = [*_strs(obj.get("TestImports")), *_strs(obj.get("XTestImports"))]
    return Package(
        import_path=path,
        name=str(obj.get("Name", "") or ""),
        dir=directory,
        go_files=_abs(directory, obj.get("GoFiles")) + _abs(directory, obj.get("CgoFiles")),
        test_files=_abs(directory, obj.get("TestGoFiles")),
        xtest_files=_abs(directory, obj.get("XTestGoFiles")),
        test_imports=tuple(dict.fromkeys(test_imports)),
        module_path=module.path,
        module_dir=module.dir,
        module_version=module.version,
        build_files=_build_files(module.gomod, work, build_files_cache),
        standard=bool(obj.get("Standard")),
        deps=tuple(str(d) for d in deps) if isinstance(deps, list) else (),
        errors=tuple(dict.fromkeys(_package_errors(obj, root, path))),
        go_version=module.go_version,
        go_only=not any(obj.get(k) for k in _NON_GO_INPUTS),
        tests_go_only=not (obj.get("TestEmbedPatterns") or obj.get("XTestEmbedPatterns")),
        export=str(obj.get("Export", "") or ""),
        import_map=tuple(sorted((str(k), str(v)) for k, v in _dict(obj.get("ImportMap")).items())),
        ignored_files=_abs(directory, obj.get("IgnoredGoFiles")),
    )


@dataclass(frozen=True)
class _Module:
    """What a package's ``Module`` says; all "" for a package in no module."""

    path: str = ""
    dir: str = ""
    version: str = ""
    gomod: str = ""
    go_version: str = ""


def _module_of(module: object) -> _Module:
    """A ``go list`` ``Module`` object. Where the module's files are (its directory,
    version and go.mod) is what its ``Replace`` says, if it is replaced."""
    if not isinstance(module, dict):
        return _Module()
    replaced = module.get("Replace")
    src = replaced if isinstance(replaced, dict) else module
    return _Module(
        path=str(module.get("Path", "")),
        dir=str(src.get("Dir", "") or module.get("Dir", "") or ""),
        version=str(src.get("Version", "") or ""),
        gomod=str(src.get("GoMod", "") or module.get("GoMod", "") or ""),
        go_version=str(module.get("GoVersion", "") or ""),
    )


def _build_files(
    gomod: str, work: str | None, cache: dict[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """The files that decide how a package builds besides its own: its go.mod and go.sum,
    and the go.work and go.work.sum of ``work``, those that exist. Looked at once for
    each go.mod and workspace, in ``cache``."""
    key = f"{gomod}\0{work}"
    build_files = cache.get(key)
    if build_files is None:
        files = []
        if gomod and os.path.isfile(gomod):
            files.append(gomod)
            gosum = os.path.join(os.path.dirname(gomod), "go.sum")
            if os.path.isfile(gosum):
                files.append(gosum)
        if work:
            for name in ("go.work", "go.work.sum"):
                p = os.path.join(work, name)
                if os.path.isfile(p):
                    files.append(p)
        build_files = tuple(files)
        cache[key] = build_files
    return build_files


def _package_errors(obj: dict[str, object], root: str, path: str) -> list[CompileError]:
    """The package's own ``Error`` and its ``DepsErrors``, in that order."""
    errors: list[CompileError] = errors_from(obj.get("Error"), root, path)
    deps_errors = obj.get("DepsErrors")
    if isinstance(deps_errors, list):
        for e in deps_errors:
            errors.extend(errors_from(e, root, path))
    return errors


def _dict(value: object) -> dict[object, object]:
    return value if isinstance(value, dict) else {}


def _strs(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def fingerprint(
    query: Query, listing: Listing, gomodcache: str, stable_before: int | None = None
) -> str | None:
    """A digest of what decides a listing's *structure*: which packages and files exist.

    That is the modification times of the directories the patterns cover and of every
    local package's directory (adding, removing or renaming a file changes them), plus
    go.mod, go.sum and go.work. File *contents* are not here; cache keys cover them.
    ``None`` when the query cannot be fingerprinted (an import-path wildcard), or when
    something it covers changed at or after ``stable_before`` (nanoseconds): a listing
    made while files moved may describe neither the old state nor the new one.
    """
    dirs: set[str] = set()
    for pattern in query.patterns:
        if query.adhoc:
            dirs.add(os.path.dirname(pattern))
        elif pattern == "." or pattern.startswith("./"):
            recursive = pattern.endswith("/...") or pattern == "./..."
            base = os.path.normpath(
                os.path.join(query.root, pattern[: -len("/...")] if recursive else pattern)
            )
            if recursive:
                for dirpath, dirnames, _files in os.walk(base):
                    dirnames[:] = [
                        d for d in dirnames if d not in SKIP_DIRS and not d.startswith((".", "_"))
                    ]
                    dirs.add(dirpath)
            else:
                dirs.add(base)
        elif "..." in pattern:
            return None
    build: set[str] = set()
    for pkg in listing.graph.values():
        if pkg.is_local(gomodcache):
            dirs.add(pkg.dir)
        build.update(pkg.build_files)
    for name in ("go.mod", "go.sum", "go.work", "go.work.sum"):
        build.add(os.path.join(query.root, name))
    h = hashlib.sha256()
    for path in sorted(dirs | build):
        try:
            st = os.stat(path)
            if stable_before is not None and st.st_mtime_ns >= stable_before:
                return None
            h.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            h.update(f"{path}\0-\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()

"""Listings: ``go list`` runs, the listings stored between checks, and the bookkeeping of
export data (which local packages' export data still matches their sources, so that
``compile_direct`` may use it)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping

from .. import keys, packages
from ..cache import ResultCache
from ..packages import Listing
from ..workspace import Query
from . import flags
from .run import Check, unmoved
from .units import Unit


def listing_key(query: Query, toolchain_id: str, tests: bool, overlays: Mapping[str, bytes]) -> str:
    """Where a query's listing is stored."""
    # Buffers that exist only in the editor add files the disk does not show.
    unsaved_only = sorted(p for p in overlays if not os.path.exists(p))
    text = json.dumps(
        [query.root, query.patterns, query.env, query.adhoc, toolchain_id, tests, unsaved_only]
    )
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def stored(cache: ResultCache, key: str, query: Query, check: Check) -> Listing | bool | None:
    """The stored listing if its directories have not changed; False when one is stored
    but stale (files added or removed); None when none is."""
    found = cache.get_listing(key)
    if found is None:
        return None
    fp, data = found
    try:
        listing = Listing.from_json(data)
    except (KeyError, TypeError, ValueError):
        return False
    if packages.fingerprint(query, listing, check.go.gomodcache) == fp:
        return listing
    return False


def from_module(
    cache: ResultCache, query: Query, toolchain_id: str, tests: bool, check: Check
) -> Listing | None:
    """The listing of directories, taken from the stored listing of their whole module
    (``./...``) while that one is fresh: a directory analysed after ``./...`` is then
    answered from the cache instead of compiled again. None when a pattern is not one
    directory of that listing's targets."""
    if query.adhoc or not all(
        p == "." or (p.startswith("./") and "..." not in p) for p in query.patterns
    ):
        return None
    whole = dataclasses.replace(query, patterns=("./...",), files=None)
    found = stored(cache, listing_key(whole, toolchain_id, tests, check.overlays), whole, check)
    if not isinstance(found, Listing):
        return None
    by_dir = {p.dir: p for p in found.targets}
    targets = []
    for pattern in query.patterns:
        pkg = by_dir.get(os.path.normpath(os.path.join(query.root, pattern)))
        if pkg is None:
            return None
        targets.append(pkg)
    return Listing(targets, dict(found.graph), [], dict(found.export_state))


def go_list(
    query: Query,
    patterns: tuple[str, ...],
    check: Check,
    log_dir: str | None = None,
    export: bool = False,
    started: Callable[[], None] | None = None,
    overlay: str | None = None,
) -> Listing:
    """``go list``: the package graph; with ``log_dir``, the targets are compiled too
    and the compiler's log is written there; with ``export``, where every package's
    export data is (built as ``go build`` would, so from the build cache). ``overlay``
    replaces the check's own ``-overlay`` file."""
    compile_flags = (
        (*flags.gcflags(check.build_flags, log_dir), "-work") if log_dir is not None else ()
    )
    with check.timed_go():
        listing = packages.list_packages(
            query,
            patterns,
            check.go,
            check.env,
            overlay=overlay or check.overlay_file,
            build_flags=flags.non_gc_flags(check.build_flags),
            gcflags=compile_flags,
            compile_targets=log_dir is not None or export,
            deadline=check.deadline,
            cancel=check.cancel,
            started=started,
        )
    listing.name_real_files(check.buffers)
    check.sources.know_packages(listing.graph)
    return listing


def add_test_only_imports(query: Query, listing: Listing, check: Check) -> None:
    """List local packages that only tests import, so their changes reach test keys."""
    missing = sorted(
        {
            imp
            for pkg in listing.targets
            if pkg.has_tests
            for imp in pkg.test_imports
            if imp not in listing.graph and "." in imp.split("/", 1)[0]
        }
    )
    if not missing:
        return
    extra = go_list(query, tuple(missing), check)
    for path, pkg in extra.graph.items():
        listing.graph.setdefault(path, pkg)


class ExportData:
    """Which local packages' export data is still theirs, for one engine."""

    def __init__(self, hasher: keys.FileHasher) -> None:
        self._hasher = hasher
        self._attempts: set[tuple[str, tuple[str, ...]]] = set()

    def record(self, listing: Listing, check: Check) -> None:
        """Remember what local packages' sources were when their export data was built,
        so a later direct compile can tell whether that data is still theirs."""
        for pkg in listing.graph.values():
            if (
                pkg.export
                and pkg.is_local(check.go.gomodcache)
                and unmoved(pkg.go_files, check.started_ns)
            ):
                digest = keys.source_digest(pkg, self._hasher, check.overlays)
                listing.export_state[pkg.import_path] = digest

    def find_for_tests(
        self, query: Query, listing: Listing, tests: Iterable[Unit], check: Check
    ) -> None:
        """Find the export data of what the tests import (the test binaries just built
        it, so this is the build cache answering): the next change to these packages
        compiles their tests without the go command."""
        missing = sorted(
            {
                path
                for unit in tests
                if unit.result is not None and unit.cacheable and not unit.result.errors
                for path in listing.test_deps(unit.package)
                if path not in ("unsafe", unit.package.import_path)
                and not (path in listing.graph and listing.graph[path].export)
            }
        )
        attempt = (query.root, tuple(missing))
        if not missing or query.adhoc or attempt in self._attempts:
            return
        # Once per engine: when go cannot say (a module missing offline, say), asking
        # again on every edit would only slow every edit down.
        self._attempts.add(attempt)
        extra = go_list(query, tuple(missing), check, export=True)
        if extra.errors or any(p.errors for p in extra.graph.values()):
            return  # not worth a message: the tests just keep using the go command
        self.record(extra, check)
        for path, pkg in extra.graph.items():
            if path not in listing.graph or not listing.graph[path].export:
                listing.graph[path] = pkg
                if path in extra.export_state:
                    listing.export_state[path] = extra.export_state[path]

    def fresh(self, check: Check, listing: Listing) -> Callable[[packages.Package], bool]:
        """Whether a dependency's export data matches its sources (``compile_direct``)."""

        def fresh(dep: packages.Package) -> bool:
            if not dep.is_local(check.go.gomodcache):
                return True  # the toolchain or a module version pins it; both are keyed
            digest = keys.source_digest(dep, self._hasher, check.overlays)
            return listing.export_state.get(dep.import_path) == digest

        return fresh

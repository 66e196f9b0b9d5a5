"""``heaplens.listFindings`` and ``heaplens/findingsChanged``: every finding the server
holds, as one list, for views of the whole workspace (the VS Code "Heap Escapes" view,
Neovim's ``:HeaplensList``).

The list is what the editor shows now: each file's findings as the document store holds
them (moved through edits, with their verified fixes), their ranges and messages as their
diagnostics have them (the client's position encoding, the same words), and their costs
from the profile join. Nothing here runs the compiler: a package no analysis or scan has
seen is not in the list.

Whenever the analyzer publishes a file's diagnostics anew, the set of findings may have
changed: the client is told with ``heaplens/findingsChanged``, at most twice a second, so
a view asks again instead of polling. Registered with the analyzer (the packages it
analysed, the profiles), the document store and the settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Protocol

from .. import kinds as kind_table
from ..model import Finding, Kind
from .analysis import Analyzer
from .client import FeatureHost, SettingsSource
from .convert import LineLookup, path_to_uri
from .documents import DocumentStore
from .presentation import diagnostic, shown_share

log = logging.getLogger(__name__)

LIST_FINDINGS = "heaplens.listFindings"
FINDINGS_CHANGED = "heaplens/findingsChanged"
#: ``findingsChanged`` goes out at most this often (seconds between two)...
CHANGED_SPACING = 0.5
#: ... and this long after the first publish of a burst: an analysis publishes every
#: file of its package, one after the other, and that is one change.
CHANGED_DELAY = 0.1


class ListHost(FeatureHost, Protocol):
    """The server as the list sees it: a feature host that can send a notification."""

    def notify(self, method: str, params: Any) -> None:
        """A server->client notification of a method the protocol has no type for."""


def register(
    server: ListHost, analyzer: Analyzer, docs: DocumentStore, settings: SettingsSource
) -> None:
    changed = _Throttle(lambda: server.notify(FINDINGS_CHANGED, {}))
    analyzer.on_published(lambda _path: changed.poke())

    @server.command(LIST_FINDINGS)
    async def list_findings(*args: Any) -> dict[str, Any]:
        wanted = _kinds_argument(args)
        kinds = settings().kind_set if wanted is None else wanted
        build = partial(findings_list, server, analyzer, docs, settings, kinds)
        # In a worker: moving and converting thousands of findings keeps hover waiting.
        return await asyncio.get_running_loop().run_in_executor(analyzer.executor, build)


def _kinds_argument(args: tuple[Any, ...]) -> frozenset[Kind] | None:
    """The ``kinds`` of the command's first argument, None when none is given. Names no
    kind has are left out (a client newer than the server)."""
    if not args or not isinstance(args[0], dict) or args[0].get("kinds") is None:
        return None
    names = args[0]["kinds"]
    if not isinstance(names, list):
        return None
    known = {k.value: k for k in Kind}
    return frozenset(known[n] for n in names if isinstance(n, str) and n in known)


def findings_list(
    server: FeatureHost,
    analyzer: Analyzer,
    docs: DocumentStore,
    settings: SettingsSource,
    kinds: frozenset[Kind],
) -> dict[str, Any]:
    """The command's answer (see the contract in the module docstring)."""
    alloc = analyzer.profiles.labels.alloc
    rows: list[tuple[Finding, dict[str, Any]]] = []
    # A package the ``exclude`` setting pauses is left out: the store may still hold the
    # findings it had before. (``Analyzer.paused`` comes with that setting; until both
    # are merged an analyzer without it pauses nothing.)
    paused: Callable[[str], bool] = getattr(analyzer, "paused", lambda _directory: False)
    paths = [p for p in docs.paths_with_findings() if not paused(os.path.dirname(p))]
    for path in sorted(paths, key=lambda p: (analyzer.import_path(os.path.dirname(p)), p)):
        rows.extend(_file_rows(server, analyzer, docs, settings, kinds, path))
    if alloc:
        rows.sort(key=lambda row: _cost_key(row[0]))
    return {
        "profile": alloc or None,
        "sortedBy": "cost" if alloc else "position",
        "findings": [row for _f, row in rows],
    }


def _cost_key(f: Finding) -> tuple[float, int]:
    """Highest cost first; findings without one last. The sort is stable: ties keep the
    package, file, position order."""
    if f.cost is None:
        return (1.0, 0)
    return (-f.cost.share, -f.cost.alloc_space)


def _file_rows(
    server: FeatureHost,
    analyzer: Analyzer,
    docs: DocumentStore,
    settings: SettingsSource,
    kinds: frozenset[Kind],
    path: str,
) -> Iterable[tuple[Finding, dict[str, Any]]]:
    """One file's rows, in file order, each with the range and message its diagnostic
    has (the same conversion, so a view's row and the squiggle agree)."""
    state = docs.findings(path)
    shown = [f for f in state.findings if f.kind in kinds]
    if not shown:
        return []
    current = settings()
    encoding = server.encoding()
    related = server.supports_related_information()
    lines = docs.lines(path)
    cache: dict[str, LineLookup] = {path: lines}

    def lines_for(p: str) -> LineLookup:
        if p not in cache:
            cache[p] = docs.lines(p)
        return cache[p]

    uri = docs.by_path(path)
    where = {
        "uri": uri.uri if uri is not None else path_to_uri(path),
        "package": analyzer.import_path(os.path.dirname(path)),
        "directory": os.path.dirname(path),
    }
    out = []
    for f in sorted(shown, key=lambda f: (f.range.start, f.range.end)):
        d = diagnostic(f, lines, lines_for, encoding, current, related, state.stale)
        row = {
            **where,
            "range": {
                "start": {"line": d.range.start.line, "character": d.range.start.character},
                "end": {"line": d.range.end.line, "character": d.range.end.character},
            },
            "kind": f.kind.value,
            "label": kind_table.info(f.kind).label,
            "message": d.message,
            "subject": f.subject,
            "reason": f.reason.code.value,
            "function": f.function,
            "severity": int(d.severity) if d.severity is not None else 3,
            "stale": state.stale,
            "cost": _cost(f),
            "fixes": [{"title": x.title, "kind": x.kind} for x in f.fixes if x.verified],
        }
        out.append((f, row))
    return out


def _cost(f: Finding) -> dict[str, Any] | None:
    """The finding's cost: ``share`` is its own part of the allocated bytes, so shares
    add up along a tree; ``lineShare`` is that of its line when it shares the line with
    findings the profile cannot tell apart (``shared_by`` of them)."""
    cost = f.cost
    if cost is None:
        return None
    out: dict[str, Any] = {
        "alloc_space": cost.alloc_space,
        "alloc_objects": cost.alloc_objects,
        "share": cost.share,
    }
    if cost.shared_by > 1:
        out["shared_by"] = cost.shared_by
        out["lineShare"] = shown_share(cost)
    return out


class _Throttle:
    """Calls ``send`` once for a burst of pokes: ``CHANGED_DELAY`` after the first, and
    never within ``CHANGED_SPACING`` of the previous call. Pokes come on the loop."""

    def __init__(self, send: Callable[[], None]) -> None:
        self._send = send
        self._timer: asyncio.TimerHandle | None = None
        self._last = float("-inf")

    def poke(self) -> None:
        if self._timer is not None:
            return  # one is due: it covers this change too
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on the loop (a unit test): at once
            self._fire()
            return
        at = max(loop.time() + CHANGED_DELAY, self._last + CHANGED_SPACING)
        self._timer = loop.call_at(at, self._fire)

    def _fire(self) -> None:
        self._timer = None
        with contextlib.suppress(RuntimeError):
            self._last = asyncio.get_running_loop().time()
        try:
            self._send()
        except Exception:  # a client that is gone: nothing to refresh
            log.debug("could not send %s", FINDINGS_CHANGED, exc_info=True)

"""Analysis results, keyed by everything that determines them.

The Go build cache cannot help here: it does not replay ``-json`` logs (a cache hit writes
nothing), so heaplens keeps its own. A key is a hash of the inputs of one compile unit (see
``keys``); the value is the unit's findings and errors, exactly as the engine would
compute them again. Entries live in memory and, for the CLI and across server restarts, in
a private directory on disk (one small JSON file each, written atomically).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from .model import (
    CompileError,
    Finding,
    Fix,
    FlowStep,
    Kind,
    Leak,
    Location,
    Position,
    Range,
    Reason,
    ReasonCode,
)

#: 8: findings may be of kinds bounds-check and nil-check, which an older heaplens cannot
#: decode; and a file's findings now include its checks.
#: 9: a file's entry holds its broken assertions and unreadable directives too.
SCHEMA = 9
_MAX_DISK_ENTRIES = 20000
_MAX_MEMORY_ENTRIES = 2048


@dataclass(frozen=True)
class UnitResult:
    """What one compile unit (a package, or its tests) produced."""

    findings: tuple[Finding, ...]
    errors: tuple[CompileError, ...]
    unknown: tuple[str, ...] = ()


def default_directory() -> str:
    explicit = os.environ.get("HEAPLENS_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "heaplens")


class ResultCache:
    """A two-level cache: an LRU in memory in front of a directory on disk (optional)."""

    def __init__(self, directory: str | None) -> None:
        self._dir = os.path.join(directory, f"v{SCHEMA}") if directory else None
        #: key -> (tag, result); see ``get``.
        self._memory: OrderedDict[str, tuple[str, UnitResult]] = OrderedDict()
        self._listings: dict[str, tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._writes = 0

    def get(self, key: str, tag: str | None = "") -> UnitResult | None:
        """The result stored under ``key``, if it was stored with ``tag``.

        A tag lets one entry stand for "the latest result for these inputs" and still be
        checked against the rest: a file's findings are filed under its text and checked
        against what the compiler logged, which is known only after a compile. ``None``
        accepts any tag: it loads an entry ahead of need without vouching for it.
        """
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
        if hit is None and self._dir is not None:
            try:
                with open(self._path(key), "rb") as f:
                    data = orjson.loads(f.read())
                hit = (str(data.get("tag", "")), _decode_unit(data))
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                return None
            self._remember(key, hit)
        if hit is None or (tag is not None and hit[0] != tag):
            return None
        return hit[1]

    def put(self, key: str, result: UnitResult, tag: str = "") -> None:
        self._remember(key, (tag, result))
        if self._dir is None:
            return
        if not self._write(self._path(key), {"tag": tag, **_encode_unit(result)}):
            return
        self._writes += 1
        if self._writes % 200 == 0:
            self._trim()

    # -- listings: package structure, reused while the directories are unchanged --------

    def get_listing(self, key: str) -> tuple[str, dict[str, Any]] | None:
        """The stored (fingerprint, listing JSON) for a query key."""
        with self._lock:
            hit = self._listings.get(key)
        if hit is not None or self._dir is None:
            return hit
        try:
            with open(self._listing_path(key), "rb") as f:
                data = orjson.loads(f.read())
            stored = (str(data["fingerprint"]), dict(data["listing"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        with self._lock:
            self._listings[key] = stored
        return stored

    def put_listing(self, key: str, fingerprint: str, listing: dict[str, Any]) -> None:
        with self._lock:
            if self._listings.get(key) == (fingerprint, listing):
                return  # unchanged: no need to write it again
            self._listings[key] = (fingerprint, listing)
        if self._dir is None:
            return
        path = self._listing_path(key)
        self._write(path, {"fingerprint": fingerprint, "listing": listing})

    def _listing_path(self, key: str) -> str:
        assert self._dir is not None
        return os.path.join(self._dir, "listings", key + ".json")

    def _write(self, path: str, data: object) -> bool:
        try:
            _private_dirs(os.path.dirname(path))
            blob = orjson.dumps(data)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, path)
        except OSError:
            return False  # a cache that cannot be written is only a slower cache
        return True

    def _remember(self, key: str, entry: tuple[str, UnitResult]) -> None:
        with self._lock:
            self._memory[key] = entry
            self._memory.move_to_end(key)
            while len(self._memory) > _MAX_MEMORY_ENTRIES:
                self._memory.popitem(last=False)

    def _path(self, key: str) -> str:
        assert self._dir is not None
        return os.path.join(self._dir, key[:2], key + ".json")

    def _trim(self) -> None:
        assert self._dir is not None
        entries: list[tuple[float, str]] = []
        for dirpath, _dirs, files in os.walk(self._dir):
            if os.path.basename(dirpath) == "listings":
                continue
            for name in files:
                p = os.path.join(dirpath, name)
                with contextlib.suppress(OSError):
                    entries.append((os.stat(p).st_mtime, p))
        if len(entries) <= _MAX_DISK_ENTRIES:
            return
        entries.sort()
        for _mtime, p in entries[: len(entries) - _MAX_DISK_ENTRIES]:
            with contextlib.suppress(OSError):
                os.remove(p)


def _private_dirs(path: str) -> None:
    """Create ``path`` and any missing parents readable by the user alone (``makedirs``
    applies its mode to the last level only)."""
    missing: list[str] = []
    while path and not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(d, 0o700)


def _loc(loc: Location | None) -> list[Any] | None:
    return None if loc is None else [loc.file, loc.position.line, loc.position.column]


# Decoded places and positions, shared: flows repeat a few places many times, findings
# share lines and columns, and model objects are immutable. Decoding is on the path of
# every check that reuses a file's findings, and constructing frozen objects is most of
# its cost. Bounded, since a server decodes for as long as it runs.
_places: dict[tuple[str, int, int], Location] = {}
_positions: dict[tuple[int, int], Position] = {}
_KINDS: dict[str, Kind] = {k.value: k for k in Kind}


def _unloc(data: list[Any] | None) -> Location | None:
    if data is None:
        return None
    key = (data[0], data[1], data[2])
    place = _places.get(key)
    if place is None:
        if len(_places) > 50_000:
            _places.clear()
        place = _places[key] = Location(data[0], _position(data[1], data[2]))
    return place


def _position(line: int, column: int) -> Position:
    key = (line, column)
    pos = _positions.get(key)
    if pos is None:
        if len(_positions) > 50_000:
            _positions.clear()
        pos = _positions[key] = Position(line, column)
    return pos


def _encode_unit(result: UnitResult) -> dict[str, Any]:
    return {
        "findings": [_encode_finding(f) for f in result.findings],
        "errors": [[e.file, e.line, e.column, e.message, e.package] for e in result.errors],
        "unknown": list(result.unknown),
    }


def _decode_unit(data: dict[str, Any]) -> UnitResult:
    return UnitResult(
        findings=tuple([_decode_finding(f) for f in data["findings"]]),
        errors=tuple(CompileError(*e) for e in data["errors"]),
        unknown=tuple(data.get("unknown", ())),
    )


def _encode_finding(f: Finding) -> dict[str, Any]:
    r = f.range
    return {
        "k": f.kind.value,
        "f": f.file,
        "r": [r.start.line, r.start.column, r.end.line, r.end.column],
        "m": f.message,
        "why": _encode_reason(f.reason),
        "fn": f.function,
        "p": None if f.point is None else [f.point.line, f.point.column],
        "s": f.subject,
        "flow": [[_loc(s.location), s.what, s.why, s.dst, _loc(s.inlined_from)] for s in f.flow],
        "fixes": [[x.kind, x.title, x.verified] for x in f.fixes],
        "leak": None if f.leak is None else [f.leak.heap_derefs, [list(r) for r in f.leak.results]],
        "n": f.count,
        "in": [_loc(x) for x in f.inline],
    }


def _encode_reason(r: Reason) -> list[Any]:
    return [
        r.code.value,
        r.name,
        r.inlined_from,
        None if r.then is None else _encode_reason(r.then),
    ]


def _decode_reason(data: list[Any]) -> Reason:
    code, name, inlined_from, then = data
    return Reason(
        _REASONS[code], name, inlined_from, None if then is None else _decode_reason(then)
    )


_REASONS = {c.value: c for c in ReasonCode}


def _decode_finding(d: dict[str, Any]) -> Finding:
    # Positional arguments, shared positions and a dict for the kind: this runs for every
    # finding of every reused file (see the note above ``_places``).
    r = d["r"]
    p = d["p"]
    start = _position(r[0], r[1])
    flow = d["flow"]
    fixes = d["fixes"]
    leak = d["leak"]
    return Finding(
        _KINDS[d["k"]],
        d["f"],
        Range(start, _position(r[2], r[3])),
        d["m"],
        _decode_reason(d["why"]),
        d["fn"],
        tuple([FlowStep(_unloc(s[0]), s[1], s[2], s[3], _unloc(s[4])) for s in flow])
        if flow
        else (),
        None if p is None else _position(p[0], p[1]),
        d["s"],
        tuple([Fix(*x) for x in fixes]) if fixes else (),
        None if leak is None else Leak(leak[0], tuple((n, k) for n, k in leak[1])),
        d["n"],
        tuple([loc for loc in map(_unloc, d["in"]) if loc is not None]) if d["in"] else (),
    )

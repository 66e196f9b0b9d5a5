"""``heaplens check --format sarif``: SARIF 2.1.0 for code-scanning dashboards.

SARIF has no byte columns: a run counts columns in UTF-16 code units or in code points.
heaplens declares ``utf16CodeUnits`` and converts with the shared position helper, so a
finding after Chinese text or an emoji lands on the right character in any viewer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from . import __version__, wording
from .analysis import CheckResult
from .model import Finding, Kind, Location, Position
from .positions import LineIndex

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_RULES: dict[Kind, tuple[str, str]] = {
    Kind.MOVED_TO_HEAP: (
        "A variable is allocated on the heap",
        "The compiler moved this variable to the heap because a reference to it outlives "
        "the function. Each call allocates, and the garbage collector must reclaim it.",
    ),
    Kind.ESCAPES_TO_HEAP: (
        "A value escapes to the heap",
        "The compiler allocates this value on the heap because it may be used after the "
        "function returns, or its size or lifetime cannot be proven.",
    ),
    Kind.LEAKING_PARAM: (
        "A parameter leaks",
        "The value passed in this parameter may be kept beyond the call, so callers must "
        "allocate what they pass on the heap.",
    ),
    Kind.INLINING: ("A function can be inlined", "The compiler can inline this function."),
    Kind.CANNOT_INLINE: (
        "A function cannot be inlined",
        "The compiler will not inline this function; the reason says why.",
    ),
}


class _Columns:
    """Byte columns → UTF-16 columns, reading and indexing each file once."""

    def __init__(self) -> None:
        self._lines: dict[str, LineIndex | None] = {}

    def utf16(self, file: str, pos: Position) -> int:
        if file not in self._lines:
            try:
                self._lines[file] = LineIndex(Path(file).read_bytes())
            except OSError:
                self._lines[file] = None
        lines = self._lines[file]
        if lines is None:
            return pos.column
        return lines.to_units(pos.line, pos.column - 1, "utf-16") + 1


def _uri(path: str) -> str:
    return Path(path).as_uri() if os.path.isabs(path) else path


def _location(
    file: str, start: Position, end: Position | None, cols: _Columns, message: str = ""
) -> dict[str, Any]:
    region: dict[str, Any] = {
        "startLine": start.line,
        "startColumn": cols.utf16(file, start),
    }
    if end is not None:
        region["endLine"] = end.line
        region["endColumn"] = cols.utf16(file, end)
    loc: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": _uri(file)}, "region": region}
    }
    if message:
        loc["message"] = {"text": message}
    return loc


def _result(f: Finding, cols: _Columns, rule_index: Callable[[Kind], int]) -> dict[str, Any]:
    text = wording.message(f, ": ")
    if f.function:
        text += f" (in {f.function})"
    located: list[tuple[Location, str]] = [
        (s.location, wording.step_text(s)) for s in f.flow if s.location is not None
    ]
    result: dict[str, Any] = {
        "ruleId": f.kind.value,
        "ruleIndex": rule_index(f.kind),
        "level": "note",
        "message": {"text": text},
        "locations": [_location(f.file, f.range.start, f.range.end, cols)],
    }
    if located:
        result["relatedLocations"] = [
            {"id": i, **_location(loc.file, loc.position, None, cols, msg)}
            for i, (loc, msg) in enumerate(located)
        ]
        result["codeFlows"] = [
            {
                "threadFlows": [
                    {
                        "locations": [
                            {"location": _location(loc.file, loc.position, None, cols, msg)}
                            for loc, msg in located
                        ]
                    }
                ]
            }
        ]
    properties: dict[str, Any] = {"reasonCode": f.reason.code.value}
    if f.count > 1:
        properties["count"] = f.count
    verified = [x.kind for x in f.fixes if x.verified]
    if verified:
        properties["fixes"] = verified
    result["properties"] = properties
    return result


def render(result: CheckResult, kinds: Collection[Kind]) -> dict[str, Any]:
    cols = _Columns()
    rule_kinds = [k for k in Kind]
    rules = [
        {
            "id": k.value,
            "name": "".join(w.capitalize() for w in k.value.split("-")),
            "shortDescription": {"text": _RULES[k][0]},
            "fullDescription": {"text": _RULES[k][1]},
            "defaultConfiguration": {"level": "note"},
        }
        for k in rule_kinds
    ]
    errors = result.all_errors
    notifications = []
    for e in errors:
        note: dict[str, Any] = {"level": "error", "message": {"text": e.message}}
        if e.file:
            note["locations"] = [_location(e.file, Position(e.line, max(e.column, 1)), None, cols)]
        notifications.append(note)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "heaplens",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "columnKind": "utf16CodeUnits",
                "invocations": [
                    {
                        "executionSuccessful": not errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "properties": {"goVersion": result.go_version},
                "results": [
                    _result(f, cols, rule_kinds.index) for f in result.findings if f.kind in kinds
                ],
            }
        ],
    }

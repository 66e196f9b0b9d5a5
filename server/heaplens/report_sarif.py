"""``heaplens check --format sarif``: SARIF 2.1.0 for code-scanning dashboards.

SARIF has no byte columns: a run counts columns in UTF-16 code units or in code points.
heaplens declares ``utf16CodeUnits`` and converts with the shared position helper, so a
finding after Chinese text or an emoji lands on the right character in any viewer.

Every result carries ``partialFingerprints`` (``heaplens/v1``: the hash of its baseline
key, which names no line), so code scanning tracks it across commits. With a baseline,
results carry ``baselineState`` (``new`` or ``unchanged``), and each baseline finding that
is gone is a result of its own with ``baselineState: absent``, where the baseline saw it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, wording
from . import kinds as kind_table
from .analysis import CheckResult
from .baseline import ABSENT, FINGERPRINT_NAME, Entry, Marks, ModuleRoots, mark
from .model import Finding, Kind, Location, Position
from .positions import FileColumns
from .report_cost import NO_PROFILE, Ranking, profile_fields, profile_to_json, ranked_share, shown

if TYPE_CHECKING:
    from .profiles import ProfileReport

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _utf16(cols: FileColumns, file: str, pos: Position) -> int:
    return cols.column(file, pos.line, pos.column)


def _uri(path: str) -> str:
    return Path(path).as_uri() if os.path.isabs(path) else path


def _location(
    file: str, start: Position, end: Position | None, cols: FileColumns, message: str = ""
) -> dict[str, Any]:
    region: dict[str, Any] = {
        "startLine": start.line,
        "startColumn": _utf16(cols, file, start),
    }
    if end is not None:
        region["endLine"] = end.line
        region["endColumn"] = _utf16(cols, file, end)
    loc: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": _uri(file)}, "region": region}
    }
    if message:
        loc["message"] = {"text": message}
    return loc


def _result(
    f: Finding,
    cols: FileColumns,
    rule_index: Callable[[Kind], int],
    report: ProfileReport | None = None,
    marks: Marks | None = None,
) -> dict[str, Any]:
    text = wording.message(f, ": ")
    if f.function:
        text += f" (in {f.function})"
    located: list[tuple[Location, str]] = [
        (s.location, wording.step_text(s)) for s in f.flow if s.location is not None
    ]
    result: dict[str, Any] = {
        "ruleId": f.kind.value,
        "ruleIndex": rule_index(f.kind),
        "level": kind_table.info(f.kind).sarif_level,
        "message": {"text": text},
        "locations": [_location(f.file, f.range.start, f.range.end, cols)],
    }
    key = marks.key(f) if marks is not None else None
    if key is not None:
        result["partialFingerprints"] = {FINGERPRINT_NAME: key.fingerprint}
    state = marks.state(f) if marks is not None else None
    if state is not None:
        result["baselineState"] = state
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
    if report is not None:
        properties.update(profile_fields(f, report))
        if f.cost is not None:
            result["rank"] = rank(ranked_share(f.cost))
    result["properties"] = properties
    return result


def _absent_result(e: Entry, file: str | None, rule_index: Callable[[Kind], int]) -> dict[str, Any]:
    """A baseline finding that is gone, at its place in the baseline (lines as they were
    then). Its file is named as in this checkout when the module is here, so the URI
    stays inside the repository code scanning knows; else as the baseline named it."""
    kind = Kind(e.key.kind)
    # Byte columns: the baseline's text is not here to count UTF-16 units in (they agree
    # on ASCII lines).
    region = {
        "startLine": e.line,
        "startColumn": e.column,
        "endLine": e.end_line,
        "endColumn": e.end_column,
    }
    text = e.message + (f" (in {e.key.function})" if e.key.function else "")
    return {
        "ruleId": kind.value,
        "ruleIndex": rule_index(kind),
        "level": kind_table.info(kind).sarif_level,
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(file or e.file)},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_NAME: e.key.fingerprint},
        "baselineState": ABSENT,
    }


def rank(share: float) -> float:
    """SARIF's ``rank`` (0 to 100, higher first; -1, the default, means unknown): the
    percentage of the profile's allocated bytes, so dashboards that sort by rank put the
    costliest allocations first. Only heap findings with a profile have one."""
    return round(min(max(share, 0.0), 1.0) * 100, 2)


def _rule(row: kind_table.KindInfo) -> dict[str, Any]:
    """One rule per kind, all from its row of the table of kinds."""
    return {
        "id": row.name,
        "name": row.sarif_name,
        "shortDescription": {"text": row.sarif_short},
        "fullDescription": {"text": row.sarif_full},
        "defaultConfiguration": {"level": row.sarif_level},
    }


def render(
    result: CheckResult,
    kinds: Collection[Kind],
    ranking: Ranking = NO_PROFILE,
    marks: Marks | None = None,
) -> dict[str, Any]:
    """The SARIF log. With profiles (``ranking.report``), heap results carry their cost
    and a ``rank``, and the run's properties say which profiles were read. ``marks``
    (keys, and a baseline's states) are made here, for the current directory, when not
    given."""
    if marks is None:
        marks = mark(result.findings, kinds, ModuleRoots(os.getcwd()))
    cols = FileColumns("utf-16")
    rules = [_rule(row) for row in kind_table.KINDS]
    index = {row.name: i for i, row in enumerate(kind_table.KINDS)}

    def rule_index(kind: Kind) -> int:
        return index[kind.value]

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
                "properties": _run_properties(result, ranking.report),
                "results": [
                    *(
                        _result(f, cols, rule_index, ranking.report, marks)
                        for f in shown(result.findings, kinds, ranking)
                    ),
                    *(
                        _absent_result(e, marks.absent_files.get(e), rule_index)
                        for e in marks.absent
                    ),
                ],
            }
        ],
    }


def _run_properties(result: CheckResult, report: ProfileReport | None) -> dict[str, Any]:
    properties: dict[str, Any] = {"goVersion": result.go_version}
    if report is not None:
        properties["profile"] = profile_to_json(report)
    return properties

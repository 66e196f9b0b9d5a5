"""``heaplens check --format json``: the documented, versioned machine-readable schema.

Lines and columns are 1-based; columns count bytes, as the Go toolchain does; ends are
exclusive. Version 1 fields are a contract: add fields, never change or remove them.

Each finding carries its baseline ``key`` and ``fingerprint`` (``heaplens.baseline``), and
the report the ``kinds`` it reports, so any report can serve as a later run's baseline.
With ``--baseline``, each finding also says whether it is ``new`` or ``unchanged``, and
the report's ``baseline`` object counts them and lists the findings that are gone.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any

from . import wording
from .analysis import CheckResult
from .baseline import Entry, Marks, ModuleRoots, mark
from .model import CompileError, Finding, FlowStep, Kind, Reason
from .report_cost import NO_PROFILE, Ranking, profile_fields, profile_to_json, shown

SCHEMA_VERSION = 1


def flow_to_json(step: FlowStep) -> dict[str, Any] | None:
    if step.location is None:
        return None
    out: dict[str, Any] = {
        "file": step.location.file,
        "line": step.location.position.line,
        "column": step.location.position.column,
        "message": step.message,
    }
    if step.dst:
        out["to"] = step.dst
    if step.inlined_from is not None:
        out["inlined_from"] = {
            "file": step.inlined_from.file,
            "line": step.inlined_from.position.line,
            "column": step.inlined_from.position.column,
        }
    return out


def reason_args(r: Reason) -> dict[str, Any]:
    """What a reason code names: ``name`` (callee, variable, container, target),
    ``inlined_from`` (whose code was inlined at the finding), ``then`` (for
    ``kept-by-object``: the object's own reason code and arguments)."""
    out: dict[str, Any] = {}
    if r.name:
        out["name"] = wording.tidy(r.name)
    if r.inlined_from:
        out["inlined_from"] = wording.tidy(r.inlined_from)
    if r.then is not None:
        out["then"] = {"code": r.then.code.value, **reason_args(r.then)}
    return out


def finding_to_json(f: Finding) -> dict[str, Any]:
    flow = [j for j in (flow_to_json(s) for s in f.flow) if j is not None]
    return {
        "file": f.file,
        "line": f.range.start.line,
        "column": f.range.start.column,
        "end_line": f.range.end.line,
        "end_column": f.range.end.column,
        "kind": f.kind.value,
        "message": f.message,
        "reason": wording.reason_text(f.reason, f.kind),
        "reason_code": f.reason.code.value,
        "reason_args": reason_args(f.reason),
        "count": f.count,
        "function": f.function,
        "subject": f.subject,
        "flow": flow,
        "fixes": [
            {"kind": x.kind, "title": x.title, "verified": x.verified}
            for x in f.fixes
            if x.verified
        ],
    }


def error_to_json(e: CompileError) -> dict[str, Any]:
    return {
        "file": e.file,
        "line": e.line,
        "column": e.column,
        "message": e.message,
        "package": e.package,
    }


def _absent_to_json(e: Entry) -> dict[str, Any]:
    return {
        "file": e.file,
        "line": e.line,
        "column": e.column,
        "end_line": e.end_line,
        "end_column": e.end_column,
        "kind": e.key.kind,
        "message": e.message,
        "function": e.key.function,
        "subject": e.key.subject,
        "key": e.key.to_json(),
        "fingerprint": e.key.fingerprint,
    }


def render(
    result: CheckResult,
    kinds: Collection[Kind],
    ranking: Ranking = NO_PROFILE,
    marks: Marks | None = None,
) -> dict[str, Any]:
    """The report. With profiles (``ranking.report``), each finding gains ``cost`` and
    ``hot`` and the report a top-level ``profile``. ``marks`` (keys, and a baseline's
    states) are made here, for the current directory, when not given."""
    report = ranking.report
    if marks is None:
        marks = mark(result.findings, kinds, ModuleRoots(os.getcwd()))
    findings = []
    for f in shown(result.findings, kinds, ranking):
        out = finding_to_json(f)
        if report is not None:
            out.update(profile_fields(f, report))
        key = marks.key(f)
        if key is not None:
            out["key"] = key.to_json()
            out["fingerprint"] = key.fingerprint
        state = marks.state(f)
        if state is not None:
            out["baseline"] = state
        findings.append(out)
    rendered: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "go_version": result.go_version,
        "kinds": sorted(k.value for k in kinds),
        "findings": findings,
        "errors": [error_to_json(e) for e in result.all_errors],
        "packages": [
            {
                "import_path": p.import_path,
                "dir": p.dir,
                "cached": p.cached,
                "compiled": not p.errors,
            }
            for p in result.packages
        ],
    }
    if report is not None:
        rendered["profile"] = profile_to_json(report)
    if marks.compared:
        rendered["baseline"] = {
            "new": sum(1 for f in findings if f.get("baseline") == "new"),
            "unchanged": sum(1 for f in findings if f.get("baseline") == "unchanged"),
            "absent": [_absent_to_json(e) for e in marks.absent],
        }
    return rendered

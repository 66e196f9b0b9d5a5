"""Findings as the editor shows them: diagnostics, inlay hints and hover text.

Everything is computed from a file's current findings (already moved through any edits)
and its current text; nothing here runs the compiler.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from lsprotocol import types
from pygls.protocol import default_converter

from .. import advice, kinds, wording
from ..model import Cost, Finding, Location, Position, Range
from ..positions import Encoding
from ..profiles.wording import cost_phrase, share_label
from .convert import LineLookup, path_to_uri, to_lsp_position, to_lsp_range
from .settings import Settings

SOURCE = "heaplens"
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}

LinesFor = Callable[[str], LineLookup]
#: An inlay hint shows a finding's share of the allocated bytes from this share on.
INLAY_SHARE = 0.01


@dataclass(frozen=True)
class ProfileLabels:
    """The basenames of the loaded allocation and CPU profiles ("" for none), as the
    hover names them: "41% of allocated bytes in mem.out"."""

    alloc: str = ""
    cpu: str = ""


def shown_share(cost: Cost) -> float:
    """The share a finding is weighed by: its line's, when it shares the line with
    findings the profile cannot tell apart (its own is only an even part of that)."""
    return cost.group_share if cost.shared_by > 1 else cost.share


def message(f: Finding) -> str:
    return wording.message(f, ": ")


def _flow_locations(
    f: Finding, lines_for: LinesFor, encoding: Encoding
) -> list[types.DiagnosticRelatedInformation]:
    out = []
    for step in f.flow:
        if step.location is None or not os.path.isabs(step.location.file):
            continue
        lines = lines_for(step.location.file)
        pos = to_lsp_position(lines, step.location.position, encoding)
        text = wording.step_text(step)
        if step.inlined_from is not None:
            inl = step.inlined_from
            text += f" (inlined from {os.path.basename(inl.file)}:{inl.position.line})"
        out.append(
            types.DiagnosticRelatedInformation(
                location=types.Location(
                    uri=path_to_uri(step.location.file), range=types.Range(start=pos, end=pos)
                ),
                message=text,
            )
        )
    return out


def diagnostic(
    f: Finding,
    lines: LineLookup,
    lines_for: LinesFor,
    encoding: Encoding,
    settings: Settings,
    related_support: bool,
    stale: bool,
) -> types.Diagnostic:
    text = message(f)
    related = _flow_locations(f, lines_for, encoding)
    if related and not related_support:
        # No related information in this client: the chain goes into the message.
        text += "\n" + "\n".join(f"  ← {r.message}" for r in related)
    if stale:
        text += " (from the last build that compiled)"
    data: dict[str, Any] = {
        "kind": f.kind.value,
        "function": f.function,
        "subject": f.subject,
        "stale": stale,
        "range": [f.range.start.line, f.range.start.column, f.range.end.line, f.range.end.column],
        "fixes": [
            {"kind": x.kind, "title": x.title, "verified": x.verified}
            for x in f.fixes
            if x.verified
        ],
        "reason_code": f.reason.code.value,
        "count": f.count,
    }
    return types.Diagnostic(
        range=to_lsp_range(lines, f.range, encoding),
        severity=finding_severity(f, settings),
        code=f.kind.value,
        source=SOURCE,
        message=text,
        related_information=related if related_support and related else None,
        data=data,
    )


def severity(kind: str, settings: Settings) -> types.DiagnosticSeverity:
    """The user's severity for ``kind``, else the table's default for it."""
    return _SEVERITY[settings.severity.get(kind) or kinds.info(kind).severity]


_LOUDER = {
    types.DiagnosticSeverity.Hint: types.DiagnosticSeverity.Information,
    types.DiagnosticSeverity.Information: types.DiagnosticSeverity.Warning,
    types.DiagnosticSeverity.Warning: types.DiagnosticSeverity.Error,
    types.DiagnosticSeverity.Error: types.DiagnosticSeverity.Error,
}


def finding_severity(f: Finding, settings: Settings) -> types.DiagnosticSeverity:
    """``severity`` of the finding's kind, weighed by the profiles: one step louder for
    a heap finding with at least ``profileHotShare`` of the allocated bytes (or, with
    only a CPU profile, in a function with that share of the samples); a hint for one
    an allocation profile never saw allocate."""
    level = severity(f.kind.value, settings)
    if not kinds.info(f.kind).heap:
        return level
    threshold = settings.profileHotShare
    if f.cost is not None:  # an allocation profile is loaded
        if not f.cost.seen:
            return types.DiagnosticSeverity.Hint
        return _LOUDER[level] if shown_share(f.cost) >= threshold else level
    if f.hot is not None and f.hot >= threshold:
        return _LOUDER[level]
    return level


_CONVERTER = default_converter()  # type: ignore[no-untyped-call]


def encode(d: types.Diagnostic) -> bytes:
    """``d`` as JSON, as pygls would send it. Encoded once per diagnostic (and in a
    worker thread for a fresh analysis): a publish of 4,500 diagnostics encoded whole,
    on the loop, kept hover and inlay hints waiting for most of a second."""
    data = _CONVERTER.unstructure(d)
    try:
        return orjson.dumps(data)
    except TypeError:  # a lone surrogate, which orjson refuses: escaped, as json does
        return json.dumps(data).encode()


def package_clause_range(source: bytes) -> Range:
    """Where ``package name`` is, for the stale note. Falls back to the first line."""
    from ..syntax import parse_tree

    tree = parse_tree(source)
    for node in tree.root_node.named_children:
        if node.type == "package_clause":
            start, end = node.start_point, node.end_point
            return Range(
                Position(start.row + 1, start.column + 1), Position(end.row + 1, end.column + 1)
            )
    return Range(Position(1, 1), Position(1, 1))


def stale_hint(source: bytes, lines: LineLookup, encoding: Encoding, why: str) -> types.Diagnostic:
    return types.Diagnostic(
        range=to_lsp_range(lines, package_clause_range(source), encoding),
        severity=types.DiagnosticSeverity.Hint,
        code="stale",
        source=SOURCE,
        message=f"heaplens: escape findings are from the last build that compiled ({why}).",
        data={"kind": "stale"},
    )


def excluded_note(
    source: bytes, lines: LineLookup, encoding: Encoding, message: str
) -> types.Diagnostic:
    """For a file the build leaves out: why it has no findings (as gopls warns that it
    found no package for it), at its package clause."""
    return types.Diagnostic(
        range=to_lsp_range(lines, package_clause_range(source), encoding),
        severity=types.DiagnosticSeverity.Information,
        code="excluded",
        source=SOURCE,
        message=f"heaplens: {message}.",
        data={"kind": "excluded"},
    )


def has_inlay_hint(kind: str) -> bool:
    """Whether findings of ``kind`` get an inlay hint (the table says: heap kinds do)."""
    return kinds.info(kind).inlay_hint


def inlay_hint(
    f: Finding,
    lines: LineLookup,
    lines_for: LinesFor,
    encoding: Encoding,
    profile: ProfileLabels | None = None,
) -> types.InlayHint:
    target = next(
        (s.location for s in reversed(f.flow) if s.location is not None),
        Location(f.file, f.range.start),
    )
    target_pos = to_lsp_position(lines_for(target.file), target.position, encoding)
    label = advice.short_label(f)
    if f.cost is not None and shown_share(f.cost) >= INLAY_SHARE:
        label += f" · {share_label(shown_share(f.cost))}"
    part = types.InlayHintLabelPart(
        value=label,
        tooltip=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=hover_markdown(f, profile=profile)
        ),
        location=types.Location(
            uri=path_to_uri(target.file), range=types.Range(start=target_pos, end=target_pos)
        ),
    )
    return types.InlayHint(
        position=to_lsp_position(lines, f.range.end, encoding),
        label=[part],
        kind=types.InlayHintKind.Type,
        padding_left=True,
    )


def hover_markdown(f: Finding, stale: bool = False, profile: ProfileLabels | None = None) -> str:
    row = kinds.info(f.kind)
    what = row.label
    subject = f"`{f.subject}`" if f.subject else "This value"
    lines = [f"**heaplens** · {what}", ""]
    where = f" in `{f.function}`" if f.function else ""
    if not row.escape:
        lines.append(f"{wording.headline(f)}{where}.")
    else:
        why = wording.reason_text(f.reason, f.kind)
        reason = f": {why}" if why else ""
        times = f" ({f.count} times)" if f.count > 1 else ""
        lines.append(f"{subject} {what}{times}{where}{reason}.")
        lines.append(f"\n_Compiler:_ `{wording.tidy(f.message)}`")
    lines += profile_lines(f, profile or ProfileLabels())
    steps = [s for s in f.flow if s.location is not None]
    if steps:
        lines += ["", "**How it gets there**", ""]
        for i, s in enumerate(steps, 1):
            assert s.location is not None
            link = _link(s.location)
            into = f" → `{wording.destination(s)}`" if s.dst else ""
            inl = ""
            if s.inlined_from is not None:
                inl = f" (inlined from {_link(s.inlined_from)})"
            lines.append(f"{i}. `{wording.tidy(s.what)}` ({s.why or 'flow'}){into} — {link}{inl}")
    if row.escape:
        lines += ["", f"**Keep it on the stack:** {advice.keep_on_stack(f)}"]
    if stale:
        lines += ["", "_From the last build that compiled; the package does not compile now._"]
    return "\n".join(lines)


def profile_lines(f: Finding, profile: ProfileLabels) -> list[str]:
    """What the profiles say of ``f``, for the hover: its share of the allocated bytes,
    and its function's share of the CPU samples."""
    out: list[str] = []
    if f.cost is not None:
        phrase = cost_phrase(f.cost, profile.alloc or "the profile")
        out += ["", f"**Profile:** {phrase[:1].upper()}{phrase[1:]}."]
    if f.hot is not None:
        where = profile.cpu or "the CPU profile"
        out += ["", f"Its function has {share_label(f.hot)} of CPU samples in {where}."]
    return out


def _link(loc: Location) -> str:
    name = os.path.basename(loc.file)
    if not os.path.isabs(loc.file):
        return f"{name}:{loc.position.line}"  # `<autogenerated>`: nowhere to link to
    uri = path_to_uri(loc.file)
    return f"[{name}:{loc.position.line}]({uri}#L{loc.position.line})"


def findings_at(findings: Sequence[Finding], pos: Position) -> list[Finding]:
    hits = [f for f in findings if f.range.start <= pos <= f.range.end]
    return sorted(
        hits,
        key=lambda f: (
            f.range.end.line - f.range.start.line,
            f.range.end.column - f.range.start.column,
        ),
    )

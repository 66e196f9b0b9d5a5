"""``heaplens check --format github``: GitHub Actions workflow commands, one annotation per
finding, so a pull request shows findings inline without uploading SARIF.

``::warning file=REL,line=L,col=C,endLine=EL,endColumn=EC,title=KIND::MESSAGE``: the
command (``error``, ``warning`` or ``notice``) is the kind's severity; the path is relative
to the directory heaplens ran in (run it at the repository root); columns count
characters. With a baseline, only new findings are annotated. Values are escaped as the
runner reads them: ``%``, CR and LF everywhere, and ``:`` and ``,`` in properties too.
"""

from __future__ import annotations

from collections.abc import Collection

from . import kinds as kind_table
from . import wording
from .analysis import CheckResult
from .baseline import Marks
from .model import Finding, Kind
from .positions import FileColumns
from .report_cost import NO_PROFILE, Ranking, shown
from .report_text import display_path

#: SARIF's levels (the table of kinds speaks them) as workflow commands.
_COMMANDS = {"error": "error", "warning": "warning", "note": "notice", "none": "notice"}


def escape_data(text: str) -> str:
    """A message, as the runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (file, title): also ``:`` and ``,``, which end the name or the
    property."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding, cwd: str, chars: FileColumns) -> str:
    level = _COMMANDS[kind_table.info(f.kind).sarif_level]
    r = f.range
    properties = [
        ("file", display_path(f.file, cwd).replace("\\", "/")),
        ("line", str(r.start.line)),
        ("col", str(chars.column(f.file, r.start.line, r.start.column))),
        ("endLine", str(r.end.line)),
        ("endColumn", str(chars.column(f.file, r.end.line, r.end.column))),
        ("title", f.kind.value),
    ]
    text = wording.message(f, ": ")
    if f.function:
        text += f" (in {f.function})"
    props = ",".join(f"{name}={escape_property(value)}" for name, value in properties)
    return f"::{level} {props}::{escape_data(text)}"


def render(
    result: CheckResult,
    kinds: Collection[Kind],
    cwd: str,
    ranking: Ranking = NO_PROFILE,
    marks: Marks | None = None,
) -> str:
    """One line per finding shown (with a baseline: per new finding)."""
    chars = FileColumns("utf-32")  # characters
    lines = [
        annotation(f, cwd, chars)
        for f in shown(result.findings, kinds, ranking)
        if marks is None or marks.is_new(f)
    ]
    return "".join(line + "\n" for line in lines)

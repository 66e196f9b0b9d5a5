"""Positions in cgo packages, mapped back to the files the user wrote.

For a file that imports "C", the compiler compiles what cmd/cgo generated from it
(``x.cgo1.go``), and its ``-json`` log reports positions in that generated file, by base
name only. The generated file says where each part came from with ``//line`` and
``/*line*/`` directives. heaplens keeps the go command's work directory for the run
(``-work``, inside its own private temporary directory), reads those directives, and
moves every position back to the original ``.go`` file.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from .compiler_output import RawDiagnostic, RawOutput, path_of
from .model import Position
from .toolchain import file_uri

_DIRECTIVE = re.compile(
    rb"//line (?P<a>[^\n]*?):(?P<l>\d+)(?::(?P<c>\d+))?\n"
    rb"|/\*line (?P<ia>[^*]*?):(?P<il>\d+)(?::(?P<ic>\d+))?\*/"
)


@dataclass(frozen=True)
class _Directive:
    at: tuple[int, int]  # (line, column) in the generated file of the byte after it
    file: str
    line: int
    column: int | None


class _Generated:
    def __init__(self, directives: list[_Directive]) -> None:
        self.directives = directives
        self._keys = [d.at for d in directives]

    def map(self, pos: Position) -> tuple[str, Position] | None:
        i = bisect.bisect_right(self._keys, (pos.line, pos.column)) - 1
        if i < 0:
            return None
        d = self.directives[i]
        if d.at[0] == pos.line:
            column = (d.column or 1) + pos.column - d.at[1] if d.column else pos.column
            return d.file, Position(d.line, column)
        return d.file, Position(d.line + pos.line - d.at[0], pos.column)


def _parse(source: bytes) -> list[_Directive]:
    directives: list[_Directive] = []
    current = ""
    line_starts = [0]
    for i, b in enumerate(source):
        if b == 0x0A:
            line_starts.append(i + 1)
    for m in _DIRECTIVE.finditer(source):
        file = (m.group("a") or m.group("ia") or b"").decode("utf-8", "replace")
        file = file or current
        current = file
        line = int(m.group("l") or m.group("il"))
        col = m.group("c") or m.group("ic")
        end = m.end()
        row = bisect.bisect_right(line_starts, end) - 1
        directives.append(
            _Directive((row + 1, end - line_starts[row] + 1), file, line, int(col) if col else None)
        )
    return directives


def remap(raw: RawOutput, work_dir: str, package_of: Callable[[str], str | None]) -> None:
    """Move positions reported in cgo-generated files back to the user's files.

    ``package_of`` maps a source directory to the import path compiled from it.
    """
    generated: dict[tuple[str, str], _Generated] = {}
    for dirpath, _dirs, files in os.walk(work_dir):
        for name in files:
            if not name.endswith(".cgo1.go"):
                continue
            try:
                with open(os.path.join(dirpath, name), "rb") as f:
                    directives = _parse(f.read())
            except OSError:
                continue
            if not directives or not os.path.isabs(directives[0].file):
                continue
            package = package_of(os.path.dirname(directives[0].file))
            if package is not None:
                generated[(package, name)] = _Generated(directives)
    if not generated:
        return

    def move(package: str, file: str, pos: Position) -> tuple[str, Position] | None:
        if os.path.isabs(file):
            return None
        g = generated.get((package, os.path.basename(file)))
        return g.map(pos) if g is not None else None

    fixed: list[RawDiagnostic] = []
    for diag in raw.diagnostics:
        moved = move(diag.package, diag.file, diag.position)
        if moved is None:
            fixed.append(diag)
            continue
        related = []
        for item in diag.raw_related:
            related.append(_move_related(item, diag.package, move))
        fixed.append(replace(diag, file=moved[0], position=moved[1], raw_related=tuple(related)))
    raw.diagnostics = fixed


def _move_related(
    item: object, package: str, move: Callable[[str, str, Position], tuple[str, Position] | None]
) -> object:
    try:
        loc = item["location"]  # type: ignore[index]
        uri = loc["uri"]
        start = loc["range"]["start"]
        file = path_of(uri) if isinstance(uri, str) else None
        if file is None:
            return item
        moved = move(package, file, Position(start["line"], start["character"]))
    except (KeyError, TypeError):
        return item
    if moved is None:
        return item
    path, pos = moved
    point = {"line": pos.line, "character": pos.column}
    # Escaped as the compiler escapes its own URIs, for ``path_of`` to read back.
    moved_uri = file_uri(path) if os.path.isabs(path) else path
    return {**item, "location": {"uri": moved_uri, "range": {"start": point, "end": point}}}  # type: ignore[dict-item]

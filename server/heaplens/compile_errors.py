"""Parse the toolchain's error text (``file:line:col: message``) into ``CompileError``s.

Paths in error text are relative to the directory ``go`` ran in; they become absolute
here. Indented continuation lines (``have (int)`` / ``want (string)``) are folded into the
error above them. Lines that name no position become errors with an empty file.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping

from .model import CompileError

_POS = re.compile(
    r"^(?P<file>[^\s:][^:]*?\.(?:go|s|c|h|cc|cpp|cxx|hh|hpp|m|mod|work|sum|y)|<[^>]+>)"
    r":(?P<line>\d+)(?::(?P<col>\d+))?:\s?(?P<msg>.*)$"
)
_NOISE = re.compile(r"^(# |FAIL\s|ok\s|\?\s|WORK=)")


def parse_error_text(text: str, cwd: str, package: str) -> list[CompileError]:
    errors: list[CompileError] = []
    current_pkg = package
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        if line.startswith("# "):
            current_pkg = line[2:].strip() or package
            continue
        if _NOISE.match(line):
            continue
        if raw[:1].isspace() and errors:
            prev = errors[-1]
            errors[-1] = CompileError(
                prev.file, prev.line, prev.column, f"{prev.message}\n{line.strip()}", prev.package
            )
            continue
        m = _POS.match(line)
        if m:
            file = m.group("file")
            if not file.startswith("<"):
                file = os.path.normpath(os.path.join(cwd, file))
            errors.append(
                CompileError(
                    file,
                    int(m.group("line")),
                    int(m.group("col") or 0),
                    m.group("msg").strip(),
                    current_pkg,
                )
            )
        else:
            errors.append(CompileError("", 0, 0, line.strip(), current_pkg))
    return errors


def name_real_files(
    errors: Iterable[CompileError], buffers: Mapping[str, str]
) -> tuple[CompileError, ...]:
    """Errors in an unsaved buffer name the buffer's temporary copy (the type checker
    ignores ``-trimpath``); give them the real file's name. ``buffers`` maps each real
    file to its copy."""
    real = {copy: path for path, copy in buffers.items()}
    return tuple(dataclasses.replace(e, file=real[e.file]) if e.file in real else e for e in errors)

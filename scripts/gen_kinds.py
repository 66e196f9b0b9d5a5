#!/usr/bin/env python3
"""Writes the editors' and the READMEs' lists of finding kinds from the table of kinds.

``server/heaplens/kinds.py`` is the only place a kind is described. This script writes
what the editors' files and the documentation say of it: VS Code's package.json (the
``heaplens.kinds`` and ``heaplens.severity`` settings), the kinds block of
vscode-extension/src/settings.ts, the defaults in editors/neovim/lsp/heaplens.lua, the
kinds tables of the two editors' READMEs, and the kinds and reason-code tables of
README.md. Text files have ``BEGIN generated <name>`` / ``END generated <name>`` comment
lines around what is written; package.json, which cannot hold comments, has only those
two settings replaced and is otherwise written as it was (2-space JSON).

    python scripts/gen_kinds.py          # rewrite what is out of date
    python scripts/gen_kinds.py --check  # exit 1, naming the files, if any is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))

from heaplens import kinds  # noqa: E402  (the path above makes it importable)

HEADER = "scripts/gen_kinds.py writes this from server/heaplens/kinds.py"
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def replace_block(text: str, name: str, body: str, prefix: str, suffix: str = "") -> str:
    """``text`` with the lines between its ``BEGIN generated name`` and ``END generated
    name`` comment lines replaced by ``body``. The comment lines are kept (they start with
    ``prefix``, indented as found); a file without them is an error, not a guess."""
    begin = re.compile(rf"^([ \t]*){re.escape(prefix)} BEGIN generated {name}\b.*$", re.M)
    end = re.compile(rf"^[ \t]*{re.escape(prefix)} END generated {name}\b.*$", re.M)
    b = begin.search(text)
    e = end.search(text, b.end()) if b else None
    if b is None or e is None:
        raise ValueError(f"no 'BEGIN generated {name}' ... 'END generated {name}' lines")
    indent = b.group(1)
    head = f"{indent}{prefix} BEGIN generated {name}: {HEADER}{suffix}\n"
    return text[: b.start()] + head + body + text[e.start() :]


# VS Code


def package_json(text: str) -> str:
    """package.json with the kinds and severity settings written from the table."""
    data = json.loads(text)
    props: dict[str, Any] = data["contributes"]["configuration"]["properties"]
    names = list(kinds.names())
    props["heaplens.kinds"]["items"]["enum"] = names
    props["heaplens.kinds"]["items"]["enumDescriptions"] = [r.summary for r in kinds.KINDS]
    props["heaplens.kinds"]["default"] = kinds.default_names()
    severity = props["heaplens.severity"]
    severity["properties"] = {n: {"type": "string", "enum": list(kinds.SEVERITIES)} for n in names}
    severity["default"] = kinds.default_severity()
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _ts_key(name: str) -> str:
    return name if _IDENTIFIER.fullmatch(name) else f"'{name}'"


def _ts_list(names: Sequence[str]) -> str:
    return "[" + ", ".join(f"'{n}'" for n in names) + "]"


def settings_ts(text: str) -> str:
    names = kinds.names()
    lines = [
        "/** The kinds of finding the compiler reports, as the server names them. */",
        "export const KINDS = [",
        *(f"  '{n}'," for n in names),
        "] as const;",
        "/** Kinds whose diagnostics count as heap escapes in the status bar. */",
        "export const HEAP_KINDS: readonly string[] = "
        + _ts_list([r.name for r in kinds.KINDS if r.heap])
        + ";",
        f"const DEFAULT_KINDS: readonly string[] = {_ts_list(kinds.default_names())};",
        "const DEFAULT_SEVERITY: Readonly<Record<string, Severity>> = {",
        *(f"  {_ts_key(n)}: '{s}'," for n, s in kinds.default_severity().items()),
        "};",
    ]
    return replace_block(text, "kinds", "\n".join(lines) + "\n", "//")


# Neovim


def neovim_lua(text: str) -> str:
    names = kinds.names()
    levels = " | ".join(f"'{s}'" for s in kinds.SEVERITIES)
    lines = [
        f"    -- of: {', '.join(names)}",
        "    kinds = { " + ", ".join(f"'{n}'" for n in kinds.default_names()) + " },",
        f"    -- kind -> {levels}",
        "    severity = {",
        *(f"      ['{n}'] = '{s}'," for n, s in kinds.default_severity().items()),
        "    },",
    ]
    return replace_block(text, "kinds", "\n".join(lines) + "\n", "--")


# Markdown


def _kinds_table() -> str:
    rows = [
        "| kind | shown by default | severity | inlay hint | what it is |",
        "|---|---|---|---|---|",
    ]
    for r in kinds.KINDS:
        shown = "yes" if r.on_by_default else "no"
        inlay = f"`{r.inlay_label}`" if r.inlay_hint else "none"
        rows.append(f"| `{r.name}` | {shown} | `{r.severity}` | {inlay} | {r.summary} |")
    return "\n".join(rows) + "\n"


def _reasons_table() -> str:
    rows = ["| reason code | meaning |", "|---|---|"]
    rows += [f"| `{code.value}` | {words} |" for code, words in kinds.REASONS.items()]
    return "\n".join(rows) + "\n"


def editor_readme(text: str) -> str:
    """An editor's README: its table of kinds."""
    return replace_block(text, "kinds", _kinds_table(), "<!--", " -->")


def readme(text: str) -> str:
    text = replace_block(text, "kinds", _kinds_table(), "<!--", " -->")
    return replace_block(text, "reasons", _reasons_table(), "<!--", " -->")


TARGETS: dict[str, Callable[[str], str]] = {
    "vscode-extension/package.json": package_json,
    "vscode-extension/src/settings.ts": settings_ts,
    "editors/neovim/lsp/heaplens.lua": neovim_lua,
    "vscode-extension/README.md": editor_readme,
    "editors/neovim/README.md": editor_readme,
    "README.md": readme,
}


def stale(root: Path | None = None) -> list[tuple[Path, str]]:
    """The files below ``root`` (the repository's) whose generated parts differ from the
    table, with their new text."""
    out = []
    for rel, write in TARGETS.items():
        path = (root or ROOT) / rel
        old = path.read_text(encoding="utf-8")
        try:
            new = write(old)
        except ValueError as e:
            raise ValueError(f"{rel}: {e}") from None
        if new != old:
            out.append((path, new))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    try:
        changed = stale(ROOT)
    except ValueError as e:
        print(f"gen_kinds: {e}", file=sys.stderr)
        return 2
    for path, new in changed:
        rel = path.relative_to(ROOT)  # ROOT read now: a test points it at a copy
        if args.check:
            print(f"gen_kinds: {rel} is out of date; run scripts/gen_kinds.py", file=sys.stderr)
        else:
            path.write_text(new, encoding="utf-8")
            print(f"gen_kinds: wrote {rel}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())

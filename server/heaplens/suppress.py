"""``//heaplens:ignore``: the user has seen this escape and accepts it.

* At the end of a line, it silences the findings that start on that line.
* On a line of its own directly above a function (in or right after its doc comment), it
  silences every finding inside the function.
* On a line of its own anywhere else, it silences the findings on the next line.

``//heaplens:ignore moved-to-heap,leaking-param`` limits it to those kinds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import Finding, Kind, Position, Range, parse_kinds
from .syntax import SourceFile

if TYPE_CHECKING:
    from tree_sitter import Node

DIRECTIVE = "//heaplens:ignore"
_PATTERN = re.compile(r"//\s*heaplens:ignore\b([ \t]+[\w,-]+)?")


@dataclass(frozen=True)
class _Rule:
    span: Range  # findings starting in [start, end) are silenced
    kinds: frozenset[Kind] | None


def _rules(src: SourceFile) -> list[_Rule]:
    if b"heaplens:ignore" not in src.source:
        return []
    rules: list[_Rule] = []
    stack = [src.tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type != "comment" or not node.text:
            continue
        m = _PATTERN.search(node.text.decode("utf-8", "replace"))
        if not m:
            continue
        kinds = None
        if m.group(1):
            try:
                kinds = parse_kinds(m.group(1).strip())
            except ValueError:
                kinds = None
        line = node.start_point.row + 1
        line_start = src.line_starts[line - 1]
        own_line = not src.source[line_start : node.start_byte].strip()
        if not own_line:
            rules.append(_Rule(Range(Position(line, 1), Position(line + 1, 1)), kinds))
            continue
        target = _next_code(node)
        if target is not None and target.type in ("function_declaration", "method_declaration"):
            rules.append(
                _Rule(Range(src.position(target.start_byte), src.position(target.end_byte)), kinds)
            )
        elif target is not None:
            t = target.start_point.row + 1
            rules.append(_Rule(Range(Position(t, 1), Position(t + 1, 1)), kinds))
    return rules


def _next_code(node: Node) -> Node | None:
    sibling = node.next_sibling
    while sibling is not None and sibling.type == "comment":
        sibling = sibling.next_sibling
    return sibling


def apply(findings: Iterable[Finding], src: SourceFile | None) -> list[Finding]:
    """The findings that no ``//heaplens:ignore`` in ``src`` silences."""
    items = list(findings)
    if src is None:
        return items
    rules = _rules(src)
    if not rules:
        return items
    kept = []
    for f in items:
        silenced = any(
            r.span.start <= f.range.start < r.span.end and (r.kinds is None or f.kind in r.kinds)
            for r in rules
        )
        if not silenced:
            kept.append(f)
    return kept

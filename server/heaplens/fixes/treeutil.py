"""Small questions the fixes ask of a Go syntax tree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

FUNCTION_NODES = ("function_declaration", "method_declaration", "func_literal")


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def walk(node: Node, *, into_closures: bool = True) -> Iterator[Node]:
    """Every node below ``node`` in source order."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        children = n.children
        if not into_closures and n is not node and n.type == "func_literal":
            continue
        stack.extend(reversed(children))


def identifiers(node: Node, name: str, *, into_closures: bool = True) -> list[Node]:
    return [
        n
        for n in walk(node, into_closures=into_closures)
        if n.type == "identifier" and text(n) == name
    ]


def ancestor(node: Node, types: tuple[str, ...]) -> Node | None:
    cur = node.parent
    while cur is not None:
        if cur.type in types:
            return cur
        cur = cur.parent
    return None


def statements(block: Node) -> list[Node]:
    """The statements of a block (tree-sitter-go wraps them in a statement_list)."""
    for child in block.named_children:
        if child.type == "statement_list":
            return list(child.named_children)
    return [c for c in block.named_children if c.type != "comment"]


def statement_of(node: Node) -> Node | None:
    """The statement directly inside a statement_list that contains ``node``."""
    cur: Node | None = node
    while cur is not None and cur.parent is not None:
        if cur.parent.type == "statement_list":
            return cur
        cur = cur.parent
    return None


def line_indent(source: bytes, offset: int) -> str:
    start = source.rfind(b"\n", 0, offset) + 1
    end = start
    while end < len(source) and source[end : end + 1] in (b" ", b"\t"):
        end += 1
    return source[start:end].decode()


def line_start(source: bytes, offset: int) -> int:
    return source.rfind(b"\n", 0, offset) + 1


def enclosing_function(node: Node) -> Node | None:
    return ancestor(node, FUNCTION_NODES)

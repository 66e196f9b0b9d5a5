"""The test functions ``go test`` would refuse.

Before it compiles anything, ``go test`` reads the test files' declarations to generate the
test binary's ``main``. A ``TestX``, ``BenchmarkX`` or ``FuzzX`` with the wrong signature, a
generic one, or a second ``TestMain`` stops it there, with an error of its own. When
heaplens compiles tests without the go command (``compile_direct``), no ``main`` is
generated, so nothing would say so; ``refusal`` finds those cases so that such tests are
left to the go command, which reports them as a user knows them.

The rules are cmd/go's (``load.isTest``, ``isTestFunc``, ``checkTestFunc``), which look at
syntax only: ``*T`` or ``*anything.T``, because the ``testing`` import may be renamed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .syntax import SourceFile

if TYPE_CHECKING:
    from tree_sitter import Node

#: Name prefix -> the ``testing`` type its one parameter points to.
_KINDS = (("Test", "T"), ("Benchmark", "B"), ("Fuzz", "F"))


def refusal(files: Sequence[str], source: Callable[[str], SourceFile | None]) -> str | None:
    """Why ``go test`` would refuse the test functions of ``files`` (the in-package test
    files, then the external ones: go's order), or None."""
    test_main = False
    for path in files:
        src = source(path)
        if src is None:
            continue
        for fn in src.tree.root_node.named_children:
            if fn.type != "function_declaration":
                continue  # methods are never tests
            name_node = fn.child_by_field_name("name")
            name = _text(name_node)
            if name == "TestMain":
                if _is_test_func(fn, "T"):
                    continue  # an ordinary test that happens to be called TestMain
                if not _is_test_func(fn, "M") or _generic(fn):
                    return f"{path}: go test rejects the signature of TestMain"
                if test_main:
                    return "go test rejects a second TestMain"
                test_main = True
                continue
            for prefix, arg in _KINDS:
                if _is_test(name, prefix):
                    if not _is_test_func(fn, arg) or _generic(fn):
                        return f"{path}: go test rejects the signature of {name}"
                    break
    return None


def _is_test(name: str, prefix: str) -> bool:
    """``TestX`` but not ``Testify``: after the prefix, anything but a lower-case letter."""
    if not name.startswith(prefix):
        return False
    rest = name[len(prefix) :]
    return not rest or unicodedata.category(rest[0]) != "Ll"


def _is_test_func(fn: Node, arg: str) -> bool:
    """One parameter of type ``*arg`` or ``*pkg.arg``, with at most one name; no results."""
    result = fn.child_by_field_name("result")
    if result is not None and (result.type != "parameter_list" or result.named_child_count):
        return False
    params = fn.child_by_field_name("parameters")
    if params is None:
        return False
    fields = [p for p in params.named_children if p.type != "comment"]
    if len(fields) != 1 or fields[0].type != "parameter_declaration":
        return False  # none, several, or variadic
    if len(fields[0].children_by_field_name("name")) > 1:
        return False
    ptr = fields[0].child_by_field_name("type")
    if ptr is None or ptr.type != "pointer_type" or not ptr.named_children:
        return False
    target = ptr.named_children[0]
    if target.type == "type_identifier":
        return _text(target) == arg
    if target.type == "qualified_type":
        return _text(target.child_by_field_name("name")) == arg
    return False


def _generic(fn: Node) -> bool:
    params = fn.child_by_field_name("type_parameters")
    return params is not None and params.named_child_count > 0


def _text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")

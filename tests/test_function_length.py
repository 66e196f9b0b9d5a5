"""No function in the product is longer than 60 lines, unless a comment right above
its ``def`` (or its decorators) begins ``# Long:`` and says why. A long function is the
first sign of a second job hiding in the first one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parent.parent / "server" / "heaplens"
LIMIT = 60


def _long_functions(path: Path, root: Path = SERVER) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        assert node.end_lineno is not None
        length = node.end_lineno - node.lineno + 1
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        above = lines[first - 2].strip() if first >= 2 else ""
        if length > LIMIT and not above.startswith("# Long:"):
            out.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {length} lines")
    return out


def test_no_function_is_longer_than_the_limit() -> None:
    found = [f for path in sorted(SERVER.rglob("*.py")) for f in _long_functions(path)]
    assert found == [], "split these, or say why above the def with '# Long: ...':\n" + (
        "\n".join(found)
    )


@pytest.mark.parametrize("comment, reported", [("", True), ("# Long: a table\n", False)])
def test_the_check_sees_a_long_function(tmp_path: Path, comment: str, reported: bool) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(LIMIT))
    module = tmp_path / "m.py"
    module.write_text(f"{comment}def f() -> None:\n{body}")
    assert bool(_long_functions(module, tmp_path)) is reported

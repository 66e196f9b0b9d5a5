"""The direction of imports: the analysis imports neither the fixes, the server nor the
command line, and only the server imports LSP libraries. Every module under
server/heaplens is parsed; imports inside functions count as much as those at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "server" / "heaplens"

#: What the analysis must not import.
ABOVE_ANALYSIS = ("heaplens.fixes", "heaplens.lsp", "heaplens.cli")
#: What only the server may import.
LSP = ("heaplens.lsp", "pygls", "lsprotocol")
#: The command line starts the server (``heaplens serve``): it may name the server's
#: package, never the LSP libraries.
STARTS_THE_SERVER = ("heaplens.cli",)


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = PACKAGE) -> dict[int, set[str]]:
    """The modules each import statement of ``path`` may load, by line, relative imports
    resolved to absolute names. ``from x import y`` names both ``x`` and ``x.y``: ``y``
    may be a module."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[int, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.setdefault(node.lineno, set()).update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = found.setdefault(node.lineno, set())
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(root: Path = PACKAGE) -> list[str]:
    """Each import statement against the layers, as "module:line imports name"."""
    out: list[str] = []
    for path in sorted(root.rglob("*.py")):
        name = module_name(path, root)
        for line, imported in sorted(imports_of(path, root).items()):
            wrong = sorted(i for i in imported if _wrong(name, i))
            if wrong:
                out.append(f"{name}:{line} imports {wrong[0]}")
    return out


def _wrong(module: str, imported: str) -> bool:
    if _under(module, ("heaplens.analysis",)) and _under(imported, ABOVE_ANALYSIS):
        return True
    if _under(module, ("heaplens.lsp",)) or not _under(imported, LSP):
        return False
    return not (module in STARTS_THE_SERVER and _under(imported, ("heaplens.lsp",)))


def test_the_analysis_and_everything_outside_the_server_import_only_downwards() -> None:
    assert (PACKAGE / "analysis" / "engine.py").exists()  # the check looks where it should
    assert violations() == []


@pytest.mark.parametrize(
    ("where", "line"),
    [
        ("analysis/bad.py", "from ..fixes.propose import attach_candidates\n"),
        ("analysis/bad.py", "def f() -> None:\n    from heaplens import cli\n"),
        ("analysis/sub/bad.py", "from ...lsp import server\n"),
        ("analysis/bad.py", "from .. import lsp\n"),
        ("report_bad.py", "import lsprotocol.types\n"),
        ("fixes/bad.py", "def f() -> None:\n    from pygls.server import LanguageServer\n"),
    ],
)
def test_a_wrong_import_is_caught(tmp_path: Path, where: str, line: str) -> None:
    """The same check on a copy of the package with one wrong import added."""
    root = tmp_path / "heaplens"
    for path in PACKAGE.rglob("*.py"):
        target = root / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    bad = root / where
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text(line)
    name = module_name(bad, root)
    found = violations(root)
    assert len(found) == 1 and found[0].startswith(f"{name}:"), found


def test_relative_imports_resolve_to_their_package() -> None:
    names = set().union(*imports_of(PACKAGE / "analysis" / "engine.py").values())
    assert "heaplens.keys" in names and "heaplens.analysis.compiling" in names

"""Adding an import to a Go file the way a person would: into the existing import block,
in order among the standard-library imports; turning a single import into a block; or a
new declaration after the package clause."""

from __future__ import annotations

from ..syntax import SourceFile
from .edits import Edit


def _path_of(spec_text: str) -> str:
    text = spec_text.strip()
    if '"' in text:
        return text[text.index('"') + 1 : text.rindex('"')]
    return text.strip("`")


def ensure_import(src: SourceFile, path: str) -> list[Edit]:
    """Edits that import ``path`` into ``src``; none if it is already imported."""
    root = src.tree.root_node
    decls = [n for n in root.named_children if n.type == "import_declaration"]
    specs = []
    for decl in decls:
        stack = [decl]
        while stack:
            node = stack.pop()
            if node.type == "import_spec":
                specs.append(node)
            else:
                stack.extend(node.named_children)
    for spec in specs:
        name = spec.child_by_field_name("name")
        p = spec.child_by_field_name("path")
        if p is not None and _path_of((p.text or b"").decode()) == path and name is None:
            return []
    quoted = f'"{path}"'
    if not decls:
        clause = next((n for n in root.named_children if n.type == "package_clause"), None)
        at = clause.end_byte if clause is not None else 0
        return [Edit(at, at, f"\n\nimport {quoted}")]
    block = next((d for d in decls if any(c.type == "import_spec_list" for c in d.children)), None)
    if block is not None:
        spec_list = next(c for c in block.children if c.type == "import_spec_list")
        entries = [c for c in spec_list.named_children if c.type == "import_spec"]
        # Standard-library paths have no dot in their first element: keep them sorted.
        std = [e for e in entries if "." not in _path_of(_spec_path(e)).split("/")[0]]
        after = None
        for e in std:
            if _path_of(_spec_path(e)) < path:
                after = e
        if after is not None:
            return [Edit(after.end_byte, after.end_byte, f"\n\t{quoted}")]
        first = entries[0] if entries else None
        if first is not None:
            return [Edit(first.start_byte, first.start_byte, f"{quoted}\n\t")]
        open_paren = spec_list.children[0]
        return [Edit(open_paren.end_byte, open_paren.end_byte, f"\n\t{quoted}\n")]
    single = decls[0]
    only = next((c for c in single.named_children if c.type == "import_spec"), None)
    if only is None:
        return [Edit(single.end_byte, single.end_byte, f"\nimport {quoted}")]
    existing = (only.text or b"").decode()
    ordered = sorted([existing, quoted], key=lambda s: _path_of(s))
    body = "\n\t".join(ordered)
    return [Edit(single.start_byte, single.end_byte, f"import (\n\t{body}\n)")]


def _spec_path(spec) -> str:  # type: ignore[no-untyped-def]
    p = spec.child_by_field_name("path")
    return (p.text or b"").decode() if p is not None else ""

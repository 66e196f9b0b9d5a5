"""Code actions: quick fixes for findings, and ``//heaplens:ignore`` to silence one.

Every action is a ``quickfix`` attached to its diagnostic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..model import Finding, Position
from ..positions import Encoding, byte_to_units
from ..suppress import DIRECTIVE
from ..syntax import SourceFile
from .convert import encoding_of, from_lsp_range, lines_of, to_lsp_range

if TYPE_CHECKING:
    from .server import HeaplensServer


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _insert(uri: str, line: int, character: int, text: str) -> types.WorkspaceEdit:
    pos = types.Position(line=line, character=character)
    return types.WorkspaceEdit(
        changes={uri: [types.TextEdit(range=types.Range(start=pos, end=pos), new_text=text)]}
    )


def ignore_actions(
    f: Finding,
    uri: str,
    source: bytes,
    encoding: Encoding,
    diagnostics: list[types.Diagnostic],
) -> list[types.CodeAction]:
    lines = lines_of(source)
    line = f.range.start.line
    text = lines(line)
    actions = []
    if b"heaplens:ignore" not in text:
        end = byte_to_units(text, len(text), encoding)
        actions.append(
            types.CodeAction(
                title=f"Ignore this finding: add {DIRECTIVE} to the line",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=diagnostics,
                edit=_insert(uri, line - 1, end, f" {DIRECTIVE}"),
            )
        )
    decl = _declaration_line(source, f.range.start)
    if decl is not None and b"heaplens:ignore" not in lines(decl - 1):
        indent = lines(decl)[: len(lines(decl)) - len(lines(decl).lstrip())]
        name = f.function.split(".func")[0] if f.function else "this function"
        actions.append(
            types.CodeAction(
                title=f"Ignore findings in {name}: add {DIRECTIVE} above it",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=diagnostics,
                edit=_insert(
                    uri, decl - 1, 0, indent.decode("utf-8", "replace") + DIRECTIVE + "\n"
                ),
            )
        )
    return actions


def _declaration_line(source: bytes, pos: Position) -> int | None:
    """The line of the top-level function declaration that contains ``pos``."""
    src = SourceFile("", source)
    node = src.node_at(pos)
    decl = None
    while node is not None:
        if node.type in ("function_declaration", "method_declaration"):
            decl = node
        node = node.parent
    return decl.start_point.row + 1 if decl is not None else None


def register(server: HeaplensServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix], resolve_provider=True
        ),
    )
    def code_actions(
        ls: HeaplensServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        doc = ls.docs.get(params.text_document.uri)
        if doc is None:
            return None
        encoding = encoding_of(ls.workspace.position_encoding)
        lines = lines_of(doc.text)
        wanted = from_lsp_range(lines, params.range, encoding)
        kinds = ls.settings.kind_set
        properties = ls._capability("text_document", "code_action", "resolve_support", "properties")
        resolve = bool(properties and "edit" in properties)
        actions: list[types.CodeAction] = []
        for f in ls.docs.findings(doc.path).findings:
            if f.kind not in kinds:
                continue
            if f.range.end < wanted.start or wanted.end < f.range.start:
                continue
            lsp_range = to_lsp_range(lines, f.range, encoding)
            related = [
                d
                for d in params.context.diagnostics
                if d.source == "heaplens" and _overlaps(d.range, lsp_range)
            ]
            actions.extend(ls.fixer.actions(f, related, resolve))
            actions.extend(ignore_actions(f, doc.uri, doc.text, encoding, related))
        return actions or None

    @server.feature(types.CODE_ACTION_RESOLVE)
    def resolve_code_action(ls: HeaplensServer, action: types.CodeAction) -> types.CodeAction:
        return ls.fixer.resolve(action)

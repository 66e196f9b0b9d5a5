"""Hover and inlay hints, computed from a file's current findings: from those on the lines
asked about only (``DocumentStore.index``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from .convert import LineLookup, encoding_of, from_lsp_position, from_lsp_range
from .presentation import findings_at, has_inlay_hint, hover_markdown, inlay_hint

if TYPE_CHECKING:
    from .server import HeaplensServer


def register(server: HeaplensServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: HeaplensServer, params: types.HoverParams) -> types.Hover | None:
        doc = ls.docs.get(params.text_document.uri)
        if doc is None:
            return None
        encoding = encoding_of(ls.workspace.position_encoding)
        pos = from_lsp_position(doc.lines, params.position, encoding)
        kinds = ls.settings.kind_set
        view = ls.docs.index(doc.path)
        hits = [f for f in findings_at(view.on_line(pos.line), pos) if f.kind in kinds]
        if not hits:
            return None
        text = "\n\n---\n\n".join(hover_markdown(f, view.stale) for f in hits)
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
    def inlay_hints(ls: HeaplensServer, params: types.InlayHintParams) -> list[types.InlayHint]:
        doc = ls.docs.get(params.text_document.uri)
        if doc is None or not ls.settings.inlayHints:
            return []
        encoding = encoding_of(ls.workspace.position_encoding)
        lines = doc.lines
        window = from_lsp_range(lines, params.range, encoding)
        kinds = {k for k in ls.settings.kind_set if has_inlay_hint(k)}
        cache = {doc.path: lines}

        def lines_for(path: str) -> LineLookup:
            if path not in cache:
                cache[path] = ls.docs.lines(path)
            return cache[path]

        nearby = ls.docs.index(doc.path).ending_on(window.start.line, window.end.line)
        return [
            inlay_hint(f, lines, lines_for, encoding)
            for f in nearby
            if f.kind in kinds and window.start <= f.range.end <= window.end
        ]

"""Hover and inlay hints, computed from a file's current findings: from those on the lines
asked about only (``DocumentStore.index``). Registered with the document store, the
settings and the names of the loaded profiles (which the hover quotes), which is all
they read."""

from __future__ import annotations

import os
from collections.abc import Callable

from lsprotocol import types

from .client import FeatureHost, SettingsSource
from .convert import LineLookup, from_lsp_position, from_lsp_range
from .documents import DocumentStore
from .presentation import ProfileLabels, findings_at, has_inlay_hint, hover_markdown, inlay_hint


def register(
    server: FeatureHost,
    docs: DocumentStore,
    settings: SettingsSource,
    profile: Callable[[], ProfileLabels] = ProfileLabels,
    paused: Callable[[str], bool] = lambda _directory: False,
) -> None:
    # A paused package shows nothing: its findings stay in the store (a resume shows them
    # again at once), but neither hover nor inlay hints may quote them meanwhile.
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(params: types.HoverParams) -> types.Hover | None:
        doc = docs.get(params.text_document.uri)
        if doc is None or paused(os.path.dirname(doc.path)):
            return None
        encoding = server.encoding()
        pos = from_lsp_position(doc.lines, params.position, encoding)
        kinds = settings().kind_set
        view = docs.index(doc.path)
        hits = [f for f in findings_at(view.on_line(pos.line), pos) if f.kind in kinds]
        if not hits:
            return None
        text = "\n\n---\n\n".join(hover_markdown(f, view.stale, profile()) for f in hits)
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
    def inlay_hints(params: types.InlayHintParams) -> list[types.InlayHint]:
        doc = docs.get(params.text_document.uri)
        if doc is None or not settings().inlayHints or paused(os.path.dirname(doc.path)):
            return []
        encoding = server.encoding()
        lines = doc.lines
        window = from_lsp_range(lines, params.range, encoding)
        kinds = {k for k in settings().kind_set if has_inlay_hint(k)}
        cache = {doc.path: lines}

        def lines_for(path: str) -> LineLookup:
            if path not in cache:
                cache[path] = docs.lines(path)
            return cache[path]

        labels = profile()
        nearby = docs.index(doc.path).ending_on(window.start.line, window.end.line)
        return [
            inlay_hint(f, lines, lines_for, encoding, labels)
            for f in nearby
            if f.kind in kinds and window.start <= f.range.end <= window.end
        ]

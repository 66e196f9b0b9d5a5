"""Document sync: open, change, save, close. Findings move with edits at once; analyses
follow on type (debounced) or on save, as the ``mode`` setting says.

Registered with the document store and the analyzer it feeds; what else an edit makes
out of date (fixes being verified) hears of it from the store (``on_edited``)."""

from __future__ import annotations

from lsprotocol import types

from .analysis import Analyzer
from .client import FeatureHost, SettingsSource
from .convert import NotAFile, uri_to_path
from .documents import DocumentStore


def _is_go(path: str) -> bool:
    return path.endswith(".go")


def register(
    server: FeatureHost, docs: DocumentStore, analyzer: Analyzer, settings: SettingsSource
) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        try:
            path = uri_to_path(doc.uri)
        except NotAFile as e:
            # Never stored, so its changes, saves and requests find no document.
            server.log_info(f"{doc.uri!r} is not a file heaplens can analyse: {e}")
            return
        if not _is_go(path):
            return
        docs.open(doc.uri, path, doc.version, doc.text)
        analyzer.publish(path)  # what we already know, at once
        analyzer.request(path, delay=0.0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        doc = docs.get(params.text_document.uri)
        if doc is None:
            return
        moved = docs.change(
            doc.uri, params.text_document.version, list(params.content_changes), server.encoding()
        )
        if settings().mode == "onType":
            # Findings follow the text at once; the analysis follows after the debounce.
            # (In onSave mode they move silently: hover and hints stay aligned, and
            # nothing is published until the save.)
            if moved:
                analyzer.publish_soon(doc.path)
            analyzer.request(doc.path)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        doc = docs.get(params.text_document.uri)
        if doc is not None:
            analyzer.request(doc.path, delay=0.0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        doc = docs.close(params.text_document.uri)
        if doc is not None:
            # The disk is the truth again: unsaved edits are gone with the buffer.
            analyzer.publish(doc.path)
            analyzer.request(doc.path, delay=0.0)

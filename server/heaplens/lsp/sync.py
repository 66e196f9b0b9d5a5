"""Document sync: open, change, save, close. Findings move with edits at once; analyses
follow on type (debounced) or on save, as the ``mode`` setting says."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from lsprotocol import types

from .convert import NotAFile, encoding_of, uri_to_path

if TYPE_CHECKING:
    from .server import HeaplensServer


def _is_go(path: str) -> bool:
    return path.endswith(".go")


def register(server: HeaplensServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: HeaplensServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        try:
            path = uri_to_path(doc.uri)
        except NotAFile as e:
            # Never stored, so its changes, saves and requests find no document.
            ls.log_info(f"{doc.uri!r} is not a file heaplens can analyse: {e}")
            return
        if not _is_go(path):
            return
        ls.docs.open(doc.uri, path, doc.version, doc.text)
        ls.analyzer.publish(path)  # what we already know, at once
        ls.analyzer.request(path, delay=0.0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: HeaplensServer, params: types.DidChangeTextDocumentParams) -> None:
        doc = ls.docs.get(params.text_document.uri)
        if doc is None:
            return
        encoding = encoding_of(ls.workspace.position_encoding)
        ls.fixer.cancel(os.path.dirname(doc.path))  # what it verifies is out of date
        moved = ls.docs.change(
            doc.uri, params.text_document.version, list(params.content_changes), encoding
        )
        if ls.settings.mode == "onType":
            # Findings follow the text at once; the analysis follows after the debounce.
            # (In onSave mode they move silently: hover and hints stay aligned, and
            # nothing is published until the save.)
            if moved:
                ls.analyzer.publish_soon(doc.path)
            ls.analyzer.request(doc.path)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: HeaplensServer, params: types.DidSaveTextDocumentParams) -> None:
        doc = ls.docs.get(params.text_document.uri)
        if doc is not None:
            ls.analyzer.request(doc.path, delay=0.0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: HeaplensServer, params: types.DidCloseTextDocumentParams) -> None:
        doc = ls.docs.close(params.text_document.uri)
        if doc is not None:
            # The disk is the truth again: unsaved edits are gone with the buffer.
            ls.analyzer.publish(doc.path)
            ls.analyzer.request(doc.path, delay=0.0)

"""The workspace folders the client opened, as paths, and which of them heaplens
searches for packages: the watcher watches those, and ``analyzeWorkspace`` scans them.

A folder that is no Go workspace (``workspace.not_a_workspace``: the root of the file
system, a home directory with no Go code near its top) is refused with one message, and
the server goes on serving the documents the user opens.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..workspace import not_a_workspace
from .convert import NotAFile, uri_to_path

if TYPE_CHECKING:
    from .server import HeaplensServer


def folders(server: HeaplensServer) -> list[str]:
    """The workspace folders (or the root URI of a client without folders) that exist."""
    uris = [f.uri for f in server.workspace.folders.values()]
    if not uris and server.workspace.root_uri:
        uris = [server.workspace.root_uri]
    paths: list[str] = []
    for uri in uris:
        try:
            path = uri_to_path(uri)
        except NotAFile as e:
            server.log_warning(f"workspace folder {uri!r} is not a folder heaplens can use: {e}")
            continue
        if os.path.isdir(path):
            paths.append(path)
    return paths


def searchable(server: HeaplensServer, env: Mapping[str, str]) -> list[str]:
    """The folders that are Go workspaces (for the go command's environment ``env``).
    Each other one is refused, said once."""
    out: list[str] = []
    for folder in folders(server):
        why = not_a_workspace(folder, env)
        if why is None:
            out.append(folder)
        elif folder not in server.refused_folders:
            server.refused_folders.add(folder)
            server.show_warning(
                f"heaplens: {folder} is not a Go workspace ({why}), so it is neither watched "
                "nor scanned. Files you open are still analysed; open a module's folder to "
                "have the whole workspace analysed."
            )
    return out

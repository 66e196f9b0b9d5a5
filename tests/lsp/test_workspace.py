"""Workspace roots as the client names them: a root opened through a symlink, a file
opened through a symlink, and unsaved buffers compiled in either case."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.lsp.harness import (
    change,
    open_file,
    record_publishes,
    session,
    wait_for_diagnostics,
)

# `_ = v` keeps v on the stack; the unsaved edit makes it `sink = &v`, which moves v to
# the heap: a finding only the buffer has.
KEEP = "package p\n\nvar sink *int\n\nfunc Keep() {\n\tv := 1\n\t_ = v\n}\n"
OTHER = "package p\n\nfunc Other() *int {\n\ty := 2\n\treturn &y\n}\n"


def _real_module(tmp_path: Path) -> Path:
    real = tmp_path / "real"
    real.mkdir()
    (real / "go.mod").write_text("module example.com/p\n\ngo 1.21\n")
    (real / "p.go").write_text(KEEP)
    (real / "other.go").write_text(OTHER)
    return real


@pytest.mark.parametrize("linked", ["root", "file"])
async def test_a_symlinked_workspace_is_published_as_the_client_names_it(
    linked: str, tmp_path: Path
) -> None:
    real = _real_module(tmp_path)
    link = tmp_path / "link"
    os.symlink(real, link)
    # "root": the workspace is opened through the link. "file": the workspace is the real
    # folder and the editor opens the file through the link.
    root = link if linked == "root" else real
    async with session(root, init_options={"debounceMs": 50}, cache_dir=tmp_path / "c") as lsp:
        published = record_publishes(lsp)
        uri = open_file(lsp, link / "p.go")
        other = (link / "other.go").as_uri()
        await wait_for_diagnostics(
            lsp, other, lambda ds: any("moved to heap: y" in d.message for d in ds)
        )
        change(lsp, uri, 2, (6, 1), (6, 6), "sink = &v")
        after = await wait_for_diagnostics(
            lsp, uri, lambda ds: any("moved to heap: v" in d.message for d in ds)
        )
    assert (link / "p.go").read_text() == KEEP, "the edit is unsaved"
    assert [p.version for p in published if p.uri == uri][-1] == 2
    assert all(
        r.location.uri.startswith(link.as_uri() + "/")
        for d in after
        for r in d.related_information or []
        if "p.go" in r.location.uri
    )
    assert not [p.uri for p in published if p.uri.startswith(real.as_uri() + "/")]

"""Repository layouts: outside any module, GOPATH, go.work, a nested module, a symlinked
package directory, a vendor directory. Each through the CLI and the server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.harness import analysis_finished, wait_for
from tests.reliability.harness import analysed, cli, server

ESCAPE = "func Esc() *int {\n\tv := 1\n\treturn &v\n}\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _outside_module(tmp: Path) -> tuple[Path, Path, dict[str, str]]:
    f = _write(
        tmp / "loose" / "main.go", "package main\n\n" + ESCAPE + "\nfunc main() { _ = Esc() }\n"
    )
    return f.parent, f, {}


def _gopath(tmp: Path) -> tuple[Path, Path, dict[str, str]]:
    f = _write(
        tmp / "gopath" / "src" / "example.com" / "legacy" / "legacy.go",
        "package legacy\n\n" + ESCAPE,
    )
    return f.parent, f, {"GOPATH": str(tmp / "gopath")}


def _go_work(tmp: Path) -> tuple[Path, Path, dict[str, str]]:
    work = tmp / "work"
    _write(work / "a" / "go.mod", "module example.com/a\n\ngo 1.21\n")
    _write(work / "a" / "a.go", "package a\n\n" + ESCAPE)
    _write(
        work / "b" / "go.mod", "module example.com/b\n\ngo 1.21\n\nrequire example.com/a v0.0.0\n"
    )
    f = _write(
        work / "b" / "b.go",
        'package b\n\nimport "example.com/a"\n\nfunc Use() *int { return a.Esc() }\n',
    )
    _write(work / "go.work", "go 1.21\n\nuse (\n\t./a\n\t./b\n)\n")
    return work, f, {}


def _nested(tmp: Path) -> tuple[Path, Path, dict[str, str]]:
    outer = tmp / "outer"
    _write(outer / "go.mod", "module example.com/outer\n\ngo 1.21\n")
    _write(outer / "o.go", "package outer\n\n" + ESCAPE)
    _write(outer / "inner" / "go.mod", "module example.com/inner\n\ngo 1.21\n")
    f = _write(outer / "inner" / "i.go", "package inner\n\n" + ESCAPE)
    return outer, f, {}


def _symlinked(tmp: Path) -> tuple[Path, Path, dict[str, str]]:
    real = tmp / "elsewhere" / "pkg"
    _write(real / "p.go", "package pkg\n\n" + ESCAPE)
    mod = tmp / "symmod"
    _write(mod / "go.mod", "module example.com/symmod\n\ngo 1.21\n")
    os.symlink(real, mod / "pkg")
    return mod, mod / "pkg" / "p.go", {}


def _vendored(tmp: Path) -> tuple[Path, Path, dict[str, str]]:
    mod = tmp / "vend"
    _write(mod / "go.mod", "module example.com/vend\n\ngo 1.21\n\nrequire example.com/dep v1.0.0\n")
    _write(
        mod / "vendor" / "modules.txt",
        "# example.com/dep v1.0.0\n## explicit; go 1.21\nexample.com/dep\n",
    )
    _write(mod / "vendor" / "example.com" / "dep" / "dep.go", "package dep\n\n" + ESCAPE)
    f = _write(
        mod / "main.go",
        'package vend\n\nimport "example.com/dep"\n\nfunc Use() *int { return dep.Esc() }\n\n'
        + ESCAPE.replace("Esc", "Own"),
    )
    return mod, f, {}


LAYOUTS = {
    "outside_any_module": _outside_module,
    "gopath": _gopath,
    "go_work": _go_work,
    "nested_module": _nested,
    "symlinked_package": _symlinked,
    "vendor_directory": _vendored,
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_cli(name: str, tmp_path: Path) -> None:
    root, file, extra = LAYOUTS[name](tmp_path)
    env = dict(os.environ, GOFLAGS="", **extra)
    target = str(file) if name in ("outside_any_module", "symlinked_package") else "./..."
    proc = cli(
        "check", "--format", "json", target, cwd=root if name != "gopath" else file.parent, env=env
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)["findings"]
    assert any(f["file"] == str(file) for f in found) or name == "go_work"
    assert all(Path(f["file"]).is_absolute() for f in found)
    if name == "go_work":
        assert {Path(f["file"]).parent.name for f in found} == {"a", "b"}
    if name == "vendor_directory":
        assert not any("/vendor/" in f["file"] for f in found)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
async def test_server(name: str, tmp_path: Path) -> None:
    root, file, extra = LAYOUTS[name](tmp_path)
    async with server(root, init_options={"env": extra} if extra else None) as lsp:
        lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=file.as_uri(), language_id="go", version=1, text=file.read_text()
                )
            )
        )
        await analysed(lsp, 1)
        if name != "symlinked_package":
            await wait_for(lambda: lsp.diagnostics.get(file.as_uri()), 30, f"findings for {name}")
        await analysis_finished(lsp, 0)
    # Under the name the client opened it by, or the real one behind a symlink.
    uris = {file.as_uri(), file.resolve().as_uri()}
    shown = [d.message for uri in uris for d in lsp.diagnostics.get(uri, [])]
    # (In go_work the escape is a.Esc's v, inlined into b: "moved to heap: a.v".)
    assert any(
        m.split(":")[:2] in (["moved to heap", " v"], ["moved to heap", " a.v"]) for m in shown
    ), shown

"""Odd inputs: type errors, build tags, cgo, a 50,000-line file, invalid UTF-8, CRLF
line endings, an empty file. Each through the CLI and the server."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.harness import analysis_finished, change, wait_for_diagnostics
from tests.reliability.harness import analysed, cli, server

ESCAPE = "func Esc() *int {\n\tv := 1\n\treturn &v\n}\n"


def _module(tmp_path: Path, files: dict[str, bytes | str]) -> Path:
    mod = tmp_path / "m"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/m\n\ngo 1.21\n")
    for name, content in files.items():
        path = mod / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
    return mod


def _findings(proc) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return json.loads(proc.stdout)["findings"]


async def _open_all(mod: Path, options: dict[str, object] | None = None) -> LanguageClient:
    """Open every Go file of ``mod``; the client, once the analyses they start have finished
    and the server passed its checks (``server``)."""
    async with server(mod, init_options=options) as lsp:
        files = sorted(mod.rglob("*.go"))
        for path in files:
            lsp.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=path.as_uri(),
                        language_id="go",
                        version=1,
                        text=path.read_bytes().decode("utf-8", "replace"),
                    )
                )
            )
        await analysis_finished(lsp, 0)
    return lsp


def _messages(lsp: LanguageClient, path: Path) -> list[str]:
    return [d.message for d in lsp.diagnostics.get(path.as_uri(), [])]


CASES: dict[str, dict[str, bytes | str]] = {
    "type_error": {"p.go": "package p\n\n" + ESCAPE + '\nvar bad int = "nope"\n'},
    "excluded_by_build_tag": {
        "p.go": "package p\n\n" + ESCAPE,
        "skip.go": "//go:build never\n\npackage p\n\nfunc Skipped() *int { x := 2; return &x }\n",
    },
    "invalid_utf8_in_string": {
        "p.go": b'package p\n\nvar S = "\xff\xfe bad"\n\n' + ESCAPE.encode()
    },
    "crlf_line_endings": {"p.go": ("package p\n\n" + ESCAPE).replace("\n", "\r\n")},
    "empty_file": {"p.go": "package p\n\n" + ESCAPE, "empty.go": ""},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli(name: str, tmp_path: Path) -> None:
    mod = _module(tmp_path, CASES[name])
    proc = cli("check", "--format", "json", "./...", cwd=mod)
    found = _findings(proc)
    if name in ("type_error", "empty_file", "invalid_utf8_in_string"):
        # Go source must be valid UTF-8: the compiler says so, and so does heaplens.
        assert proc.returncode == 2
        assert json.loads(proc.stdout)["errors"]
    else:
        assert proc.returncode == 0, proc.stderr
        esc = [f for f in found if f["message"] == "moved to heap: v"]
        assert len(esc) == 1
        line = (mod / "p.go").read_bytes().splitlines()[esc[0]["line"] - 1]
        assert line[esc[0]["column"] - 1 : esc[0]["end_column"] - 1] == b"v"
    assert not any("Skipped" in f["function"] for f in found)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_server(name: str, tmp_path: Path) -> None:
    mod = _module(tmp_path, CASES[name])
    lsp = await _open_all(mod)
    shown = _messages(lsp, mod / "p.go")
    if name in ("type_error", "empty_file"):
        # The package does not compile: no finding is made up for it (gopls shows why).
        assert shown == []
    else:
        # The client sends text, never bytes: the invalid UTF-8 arrives replaced, and compiles.
        assert [m for m in shown if m.startswith("moved to heap: v")] == shown
        assert len(shown) == 1
    if name == "excluded_by_build_tag":
        (left_out,) = _messages(lsp, mod / "skip.go")
        assert left_out.startswith("heaplens: skip.go is excluded by build constraints")


def _cgo(tmp_path: Path) -> Path:
    return _module(
        tmp_path,
        {
            "c.go": 'package p\n\n// int twice(int x) { return 2 * x; }\nimport "C"\n\n'
            "func Twice(n int) int { return int(C.twice(C.int(n))) }\n\n" + ESCAPE,
        },
    )


@pytest.mark.parametrize("enabled", ["0", "1"])
def test_cgo(enabled: str, tmp_path: Path) -> None:
    if enabled == "1" and not shutil.which("gcc"):
        pytest.skip("no C compiler")
    mod = _cgo(tmp_path)
    proc = cli("check", "--format", "json", ".", cwd=mod, env=dict(os.environ, CGO_ENABLED=enabled))
    if enabled == "1":
        assert proc.returncode == 0, proc.stderr
        assert any(f["message"] == "moved to heap: v" for f in _findings(proc))
    else:
        assert proc.returncode == 2  # nothing left to build: a clear error, no crash
        assert json.loads(proc.stdout)["errors"]


@pytest.mark.parametrize("enabled", ["0", "1"])
async def test_cgo_server(enabled: str, tmp_path: Path) -> None:
    mod = _cgo(tmp_path)
    lsp = await _open_all(mod, {"env": {"CGO_ENABLED": enabled}})
    shown = _messages(lsp, mod / "c.go")
    if enabled == "1" and shutil.which("gcc"):
        assert [m for m in shown if m.startswith("moved to heap: v")] == shown
        assert len(shown) == 1
    else:
        # Without cgo the file is left out of the build: said on it, as for a build tag.
        assert len(shown) == 1 and "excluded" in shown[0], shown


def _huge(tmp_path: Path) -> Path:
    lines = ["package p", ""]
    for i in range(50_000 // 5):
        lines += [f"func F{i}() *int {{", f"\tv := {i}", "\treturn &v", "}", ""]
    return _module(tmp_path, {"huge.go": "\n".join(lines) + "\n"})


def test_generated_file_of_50000_lines(tmp_path: Path) -> None:
    mod = _huge(tmp_path)
    assert (mod / "huge.go").read_text().count("\n") >= 50_000
    proc = cli("check", "--format", "json", ".", cwd=mod, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(_findings(proc)) == 10_000


async def test_generated_file_of_50000_lines_server(tmp_path: Path) -> None:
    mod = _huge(tmp_path)
    lsp = await _open_all(mod)
    shown = _messages(lsp, mod / "huge.go")
    assert len(shown) == 10_000
    assert all(m.startswith("moved to heap: v") for m in shown)


def test_one_line_of_functions_every_verdict_at_its_column(tmp_path: Path) -> None:
    # Past byte 255 the compiler logs every column as 255 (and -m prints none): each
    # verdict must still be its own finding, on the name it is about.
    funcs = "; ".join(
        f"func F{i}(p *int) *int {{ x{i} := {i}; sink = &x{i}; return p }}" for i in range(300)
    )
    source = f"package p; var sink *int; {funcs}\n"
    mod = _module(tmp_path, {"one.go": source})
    proc = cli("check", "--format", "json", ".", cwd=mod, timeout=300)
    assert proc.returncode == 0, proc.stderr
    line = source.encode()
    found = _findings(proc)
    moved = [f for f in found if f["kind"] == "moved-to-heap"]
    leaks = [f for f in found if f["kind"] == "leaking-param"]
    assert len(moved) == 300 and len(leaks) == 300
    assert sorted(line[f["column"] - 1 : f["end_column"] - 1].decode() for f in moved) == sorted(
        f"x{i}" for i in range(300)
    )
    assert {f["function"] for f in leaks} == {f"F{i}" for i in range(300)}
    assert all(line[f["column"] - 1 : f["end_column"] - 1] == b"p" for f in leaks)


def _one_line(tmp_path: Path) -> Path:
    """A file whose code is one 5 MB line: functions with heap findings packed into the
    first 255 columns (beyond them the compiler's columns saturate), then more of them
    padded apart by comments that each end in Chinese. Not ASCII, then: every column
    converted to UTF-16 is a conversion across a 5 MB line."""
    head = "package p;type T struct{A int};"
    for i in range(7):
        head += (
            f"func M{i}()*int{{v:=1;return &v}};"
            if i % 2
            else f"func A{i}(n int)*T{{return &T{{A:n}}}};"
        )
    funcs = [f"func F{i}(n int) *T {{ t := &T{{A: n}}; return t }}; " for i in range(200)]
    pad = "x" * ((5_000_000 - len(head) - sum(map(len, funcs))) // len(funcs) - 12) + " 中文 "
    line = head + "".join(f"{f}/* {pad} */ " for f in funcs)
    return _module(tmp_path, {"p.go": line + "\n"})


def test_a_5mb_line_as_sarif(tmp_path: Path) -> None:
    mod = _one_line(tmp_path)
    line = (mod / "p.go").read_bytes().split(b"\n")[0]
    assert len(line) >= 4_900_000
    # Converting each column used to decode the whole line: 37 s for this file on an idle
    # machine, 50 s and more on a busy one. Now about a second.
    proc = cli("check", "--format", "sarif", ".", cwd=mod, timeout=20)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["runs"][0]["results"]
    assert results
    for r in results:
        region = r["locations"][0]["physicalLocation"]["region"]
        # SARIF columns are UTF-16 units; the compiler's are bytes.
        prefix = line.decode()[: region["startColumn"] - 1]
        assert len(prefix.encode("utf-16-le")) // 2 == region["startColumn"] - 1
        assert region["startLine"] == 1


async def test_a_5mb_line_in_the_server(tmp_path: Path) -> None:
    mod = _one_line(tmp_path)
    path = mod / "p.go"
    uri = path.as_uri()
    async with server(mod, init_options={"debounceMs": 0}) as lsp:
        lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="go", version=1, text=path.read_text()
                )
            )
        )
        first = await wait_for_diagnostics(lsp, uri, timeout=60)
        # A key typed at the start of the line: every finding on it moves one column.
        change(lsp, uri, 2, (0, 0), (0, 0), " ")
        start = first[0].range.start.character
        moved = await wait_for_diagnostics(
            lsp, uri, lambda ds: bool(ds) and ds[0].range.start.character == start + 1, 60
        )
        assert len(moved) == len(first)
        await analysed(lsp, 2, timeout=60)

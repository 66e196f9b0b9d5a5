"""Paths the URI and flag syntaxes reserve characters of: a TMPDIR or a workspace whose
path holds ``#``, ``?``, ``%``, a space or quotes, ``-trimpath`` in GOFLAGS, and a
compiler log that is not where it was meant to be. Through the CLI and the server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.harness import change, open_file, wait_for, wait_for_diagnostics
from tests.reliability.harness import cli, server

ESCAPE = "func Esc() *int {\n\tv := 1\n\treturn &v\n}\n"
TEST = 'package p\n\nimport "testing"\n\nfunc TestEsc(t *testing.T) { v := 3; t.Log(&v) }\n'

# Each is a directory name: "#" starts a URI fragment, "?" a query, "%41" reads as "A"
# when unescaped once too often, a space splits -gcflags, and quotes are what -gcflags
# would be quoted with.
NAMES = {
    "hash": "h#x",
    "query": "q?x",
    "percent": "p%41x",
    "space": "s x",
    "all": "a b#c?d%20e",
    "quotes": "q'u\"o te",
    # What -trimpath rewrites ("from=>to;from=>to") are made of.
    "semicolon": "x;y",
    "arrow": "r=>w",
}


def _module(parent: Path, tests: bool = True) -> Path:
    mod = parent / "m"
    mod.mkdir(parents=True)
    (mod / "go.mod").write_text("module example.com/m\n\ngo 1.21\n")
    (mod / "p.go").write_text("package p\n\n" + ESCAPE)
    if tests:
        (mod / "p_test.go").write_text(TEST)
    return mod


def _tmpdir(tmp_path: Path, name: str) -> tuple[Path, dict[str, str]]:
    """A TMPDIR named ``name``, alone in a directory of its own: whatever a run writes
    next to it instead of in it shows there."""
    tmpdir = tmp_path / "tmp" / name
    tmpdir.mkdir(parents=True)
    return tmpdir, dict(os.environ, TMPDIR=str(tmpdir))


def _escapes(proc: object) -> list[dict[str, object]]:
    data = json.loads(proc.stdout)  # type: ignore[attr-defined]
    return [f for f in data["findings"] if f["message"] == "moved to heap: v"]


def _nothing_left(tmpdir: Path) -> None:
    assert sorted(os.listdir(tmpdir.parent)) == [tmpdir.name], "written next to TMPDIR"
    assert not os.listdir(tmpdir), "left behind in TMPDIR"


@pytest.mark.parametrize("name", sorted(NAMES))
def test_tmpdir(name: str, tmp_path: Path) -> None:
    """Plain and test files, compiled by the go command; then, after an edit, by the
    compiler alone (``compile_direct``): every way the log directory is named."""
    mod = _module(tmp_path / "ws")
    tmpdir, env = _tmpdir(tmp_path, NAMES[name])
    args = ("check", "--format", "json", "--fail-on", "moved-to-heap", ".")
    proc = cli(*args, cwd=mod, env=env)
    assert proc.returncode == 1, proc.stderr
    files = sorted(os.path.basename(str(f["file"])) for f in _escapes(proc))
    assert files == ["p.go", "p_test.go"], proc.stdout
    _nothing_left(tmpdir)

    # The same listing, new text: both units go to the compiler directly.
    (mod / "p.go").write_text(
        "package p\n\n" + ESCAPE + "\nfunc Two() *int { w := 2; return &w }\n"
    )
    proc = cli("check", "-v", "--fail-on", "moved-to-heap", ".", cwd=mod, env=env)
    assert proc.returncode == 1, proc.stderr
    assert "moved to heap: w" in proc.stdout
    assert "(2 without the go command)" in proc.stdout
    _nothing_left(tmpdir)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_workspace(name: str, tmp_path: Path) -> None:
    """The workspace itself under such a name, with a TMPDIR under one too; a file
    named on the command line there, and an unsaved-buffer-free cgo file if gcc is
    there (cgo's positions are mapped back through the log's URIs)."""
    parent = tmp_path / NAMES[name]
    mod = _module(parent)
    if shutil.which("gcc"):
        (mod / "c.go").write_text(
            'package p\n\n// int twice(int x) { return 2 * x; }\nimport "C"\n\n'
            "func Twice(n int) *int { r := int(C.twice(C.int(n))); return &r }\n"
        )
    tmpdir, env = _tmpdir(tmp_path, NAMES["all"])
    proc = cli("check", "--format", "json", "--fail-on", "moved-to-heap", ".", cwd=mod, env=env)
    assert proc.returncode == 1, proc.stderr
    found = json.loads(proc.stdout)["findings"]
    assert {str(f["file"]) for f in found if str(f["message"]).startswith("moved to heap")} >= {
        str(mod / "p.go"),
        str(mod / "p_test.go"),
    }
    if shutil.which("gcc"):
        assert any(
            f["message"] == "moved to heap: r" and f["file"] == str(mod / "c.go") for f in found
        )
    proc = cli("check", "--format", "json", "p.go", cwd=mod, env=env)
    assert proc.returncode == 0, proc.stderr
    assert [f["file"] for f in _escapes(proc)] == [str(mod / "p.go")]
    _nothing_left(tmpdir)


@pytest.mark.parametrize("where", ["GOFLAGS", "--build-flags"])
def test_trimpath(where: str, tmp_path: Path) -> None:
    """-trimpath makes the log name files by import path: heaplens drops it."""
    mod = _module(tmp_path)
    env = dict(os.environ)
    args = ["check", "--format", "json", "--fail-on", "moved-to-heap"]
    if where == "GOFLAGS":
        env["GOFLAGS"] = "-trimpath"
    else:
        args.append("--build-flags=-trimpath")
    proc = cli(*args, ".", cwd=mod, env=env)
    assert proc.returncode == 1, proc.stderr
    assert sorted(os.path.basename(str(f["file"])) for f in _escapes(proc)) == [
        "p.go",
        "p_test.go",
    ]


def test_trimpath_from_the_toolchains_go_env(tmp_path: Path) -> None:
    """A ``$GOROOT/go.env`` heaplens cannot rewrite: a GOROOT of links to the real one,
    whose go.env adds -trimpath (with no GOFLAGS in the environment or the user's go env
    file to hide it)."""
    real = Path(
        subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True).stdout.strip()
    )
    goroot = tmp_path / "goroot"
    goroot.mkdir()
    for entry in real.iterdir():
        if entry.name != "go.env":
            (goroot / entry.name).symlink_to(entry)
    (goroot / "go.env").write_text((real / "go.env").read_text() + "\nGOFLAGS=-trimpath\n")
    env = {k: v for k, v in os.environ.items() if k != "GOFLAGS"}
    env.update(GOROOT=str(goroot), GOENV="off")
    flags = subprocess.run(["go", "env", "GOFLAGS"], env=env, capture_output=True, text=True)
    assert flags.stdout.strip() == "-trimpath"  # the case is real
    mod = _module(tmp_path)
    proc = cli("check", "--format", "json", "--fail-on", "moved-to-heap", ".", cwd=mod, env=env)
    assert proc.returncode == 1, proc.stderr
    assert sorted(os.path.basename(str(f["file"])) for f in _escapes(proc)) == [
        "p.go",
        "p_test.go",
    ]


def _misdirecting_go(tmp_path: Path) -> tuple[Path, Path]:
    """A fault to inject: a ``go`` that sends the compiler's log somewhere else."""
    elsewhere = tmp_path / "elsewhere"
    fake = tmp_path / "bin" / "go"
    fake.parent.mkdir()
    real = shutil.which("go")
    assert real is not None
    fake.write_text(
        f"#!{sys.executable}\nimport os, re, sys\n"
        f"args = [re.sub(r'-json=0,\\S+', '-json=0,{elsewhere.as_uri()}', a) for a in sys.argv]\n"
        f"os.execv({real!r}, [{real!r}, *args[1:]])\n"
    )
    fake.chmod(0o755)
    return fake, elsewhere


def test_log_written_elsewhere_is_an_error(tmp_path: Path) -> None:
    """No findings from a compile whose log went elsewhere is no result, not a clean
    one: exit 2 and a message, even without --fail-on."""
    fake, elsewhere = _misdirecting_go(tmp_path)
    mod = _module(tmp_path, tests=False)
    proc = cli("check", "--go", str(fake), ".", cwd=mod)
    assert proc.returncode == 2, proc.stderr
    assert "wrote no escape-analysis log for example.com/m" in proc.stderr
    assert elsewhere.is_dir()  # the fault was real: the log went there


@pytest.mark.parametrize(("workspace", "tmpdir"), [("all", "quotes"), ("percent", "all")])
async def test_server_in_such_a_workspace(workspace: str, tmpdir: str, tmp_path: Path) -> None:
    """Diagnostics arrive, and follow an unsaved edit: the buffer is compiled from a copy
    in TMPDIR that positions are mapped back from (``compile_direct``, ``-trimpath``)."""
    mod = _module(tmp_path / NAMES[workspace])
    _, env = _tmpdir(tmp_path, NAMES[tmpdir])
    async with server(mod, env=env) as lsp:
        uri = open_file(lsp, mod / "p.go")
        assert uri == (mod / "p.go").as_uri()
        found = await wait_for_diagnostics(
            lsp, uri, lambda ds: any(d.message.startswith("moved to heap: v") for d in ds), 120
        )
        assert all(d.severity != types.DiagnosticSeverity.Error for d in found)
        change(lsp, uri, 2, (6, 0), (6, 0), "\nfunc Two() *int { w := 2; return &w }\n")
        await wait_for_diagnostics(
            lsp, uri, lambda ds: any(d.message.startswith("moved to heap: w") for d in ds), 120
        )


async def test_log_written_elsewhere_is_said_by_the_server(tmp_path: Path) -> None:
    fake, elsewhere = _misdirecting_go(tmp_path)
    mod = _module(tmp_path, tests=False)
    async with server(mod, init_options={"goBinary": str(fake)}) as lsp:
        open_file(lsp, mod / "p.go")
        shown = await wait_for(
            lambda: [m for m in lsp.messages if "wrote no escape-analysis log" in m.message],
            120,
            "the message",
        )
        assert shown[0].type == types.MessageType.Error
    assert elsewhere.is_dir()


@pytest.mark.parametrize(("workspace", "tmpdir"), [("all", "semicolon"), ("arrow", "all")])
async def test_server_says_when_an_unsaved_buffer_cannot_be_named(
    workspace: str, tmpdir: str, tmp_path: Path
) -> None:
    """An unsaved buffer is compiled from a copy that a -trimpath rewrite names back as
    the real file; ';' in the copy's path or '=>' in the file's breaks the rewrite, in
    the go command as in heaplens. Said, not passed off as a file without findings."""
    mod = _module(tmp_path / NAMES[workspace])
    _, env = _tmpdir(tmp_path, NAMES[tmpdir])
    async with server(mod, env=env) as lsp:
        uri = open_file(lsp, mod / "p.go")
        await wait_for_diagnostics(lsp, uri, timeout=120)
        change(lsp, uri, 2, (6, 0), (6, 0), "\nfunc Two() *int { w := 2; return &w }\n")
        shown = await wait_for(
            lambda: [m for m in lsp.messages if "temporary copy of p.go" in m.message],
            120,
            "the message",
        )
        assert shown[0].type == types.MessageType.Error

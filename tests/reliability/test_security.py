"""Security: nothing from the workspace runs, nothing reaches the network, temporary files
are private and gone afterwards, and files outside the workspace are never edited."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

from lsprotocol import types

from tests.reliability.harness import analysed, cli, server


def _module(tmp: Path, files: dict[str, str]) -> Path:
    mod = tmp / "m"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/m\n\ngo 1.21\n")
    for name, text in files.items():
        (mod / name).write_text(text)
    return mod


def _hostile(tmp: Path) -> tuple[Path, Path]:
    marker = tmp / "MARKER"
    mod = _module(
        tmp,
        {
            "gen.go": f'package m\n\n//go:generate sh -c "touch {marker}"\n\n'
            "func Esc() *int {\n\tv := 1\n\treturn &v\n}\n",
            "cgo.go": "package m\n\n"
            f"// #cgo CFLAGS: -fplugin={tmp}/evil.so -DX=1\n"
            f"// #cgo LDFLAGS: -Wl,--wrap=main -o {marker}\n"
            '// int one(void) { return 1; }\nimport "C"\n\nfunc One() int { return int(C.one()) }\n',
        },
    )
    return mod, marker


def test_generate_and_cgo_directives_never_run(tmp_path: Path) -> None:
    mod, marker = _hostile(tmp_path)
    for cgo in ("0", "1"):
        cli("check", "./...", cwd=mod, env=dict(os.environ, CGO_ENABLED=cgo))
        cli("fix", "./...", cwd=mod, env=dict(os.environ, CGO_ENABLED=cgo))
        assert not marker.exists()


async def test_generate_and_cgo_directives_never_run_in_the_server(tmp_path: Path) -> None:
    mod, marker = _hostile(tmp_path)
    async with server(mod, init_options={"env": {"CGO_ENABLED": "1"}}) as lsp:
        for name in ("gen.go", "cgo.go"):
            path = mod / name
            lsp.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=path.as_uri(), language_id="go", version=1, text=path.read_text()
                    )
                )
            )
        await analysed(lsp, 1)
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="heaplens.analyzeWorkspace")
        )
    assert not marker.exists()


BLOCKED = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "",
}


def _no_network_prefix() -> list[str]:
    """Run in a network namespace with no network at all, where that is allowed."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--net", "true"], capture_output=True).returncode == 0:
        return [unshare, "--net"]
    return []


def test_no_network_is_needed_or_attempted(tmp_path: Path) -> None:
    mod = _module(tmp_path, {"p.go": "package m\n\nfunc Esc() *int {\n\tv := 1\n\treturn &v\n}\n"})
    prefix = _no_network_prefix()
    env = dict(os.environ, **BLOCKED, HEAPLENS_CACHE_DIR=str(tmp_path / "c"))
    import sys

    ok = subprocess.run(
        [*prefix, sys.executable, "-m", "heaplens", "check", "--format", "json", "."],
        cwd=mod,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["findings"]
    # A module that is not in the module cache: a clear error, not a download.
    (mod / "go.mod").write_text(
        "module example.com/m\n\ngo 1.21\n\nrequire example.com/nowhere v1.2.3\n"
    )
    (mod / "q.go").write_text('package m\n\nimport _ "example.com/nowhere"\n')
    missing = subprocess.run(
        [*prefix, sys.executable, "-m", "heaplens", "check", "."],
        cwd=mod,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2
    text = missing.stdout + missing.stderr
    assert "example.com/nowhere" in text and "Traceback" not in text


SPY = """#!{python}
# Stands in for `go`: records the modes of what heaplens hands the toolchain, then runs it.
import json, os, sys
seen = open({seen!r}, "a")
def mode(path):
    seen.write("%o %s\\n" % (os.stat(path).st_mode & 0o777, path))
for arg in sys.argv[1:]:
    if arg.startswith("-overlay="):
        overlay = arg[len("-overlay="):]
        mode(overlay)
        mode(os.path.dirname(overlay))
        for replacement in json.load(open(overlay))["Replace"].values():
            mode(replacement)
            mode(os.path.dirname(replacement))
    if "json=0,file://" in arg:
        mode(os.path.dirname(arg.split("file://", 1)[1]))
seen.close()
os.execv({go!r}, [{go!r}] + sys.argv[1:])
"""


def test_temporary_files_are_private_and_removed(tmp_path: Path) -> None:
    import sys
    import tempfile

    from heaplens.analysis import Engine, Options
    from heaplens.cache import ResultCache

    mod = _module(tmp_path, {"p.go": "package m\n\nfunc Esc() *int {\n\tv := 1\n\treturn &v\n}\n"})
    private = tmp_path / "tmp"
    private.mkdir()
    seen = tmp_path / "seen.txt"
    spy = tmp_path / "spy" / "go"
    spy.parent.mkdir()
    spy.write_text(SPY.format(python=sys.executable, seen=str(seen), go=shutil.which("go")))
    spy.chmod(spy.stat().st_mode | stat.S_IXUSR)
    old = tempfile.tempdir
    tempfile.tempdir = str(private)  # heaplens's temporary files go here for this test
    try:
        engine = Engine(Options(go_binary=str(spy), tests=False), ResultCache(None))
        unsaved = b"package m\n\nfunc Esc() *int {\n\tw := 1\n\treturn &w\n}\n"
        result = engine.check(["."], str(mod), overlays={str(mod / "p.go"): unsaved})
    finally:
        tempfile.tempdir = old
    assert [f.message for f in result.findings if f.kind.value == "moved-to-heap"] == [
        "moved to heap: w"
    ]
    modes = dict(reversed(line.split(" ", 1)) for line in seen.read_text().splitlines())
    assert modes, "the spy saw nothing"
    for path, mode in modes.items():
        # Files (overlay.json, the buffers) have an extension; the directories do not.
        want = "600" if os.path.splitext(path)[1] else "700"
        assert mode == want, (path, mode)
        assert path.startswith(str(private))
    assert list(private.iterdir()) == []  # all gone afterwards


def test_files_outside_the_workspace_are_never_edited(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "go.mod").write_text("module example.com/outside\n\ngo 1.21\n")
    (outside / "lib.go").write_text(
        "package outside\n\nfunc Collect(xs []int) []int {\n\tvar out []int\n"
        "\tfor _, x := range xs {\n\t\tout = append(out, x)\n\t}\n\treturn out\n}\n"
    )
    mod = tmp_path / "ws"
    mod.mkdir()
    (mod / "go.mod").write_text(
        "module example.com/ws\n\ngo 1.21\n\nrequire example.com/outside v0.0.0\n\n"
        "replace example.com/outside => ../outside\n"
    )
    (mod / "ws.go").write_text(
        'package ws\n\nimport "example.com/outside"\n\nfunc Use(xs []int) []int {\n'
        "\treturn outside.Collect(xs)\n}\n"
    )
    before = hashlib.sha256((outside / "lib.go").read_bytes()).hexdigest()
    proc = cli("check", "--format", "json", ".", cwd=mod)
    inlined = [
        s["inlined_from"]["file"]
        for f in json.loads(proc.stdout)["findings"]
        for s in f["flow"]
        if "inlined_from" in s
    ]
    assert any(p.startswith(str(outside)) for p in inlined), "the flow does point outside"
    cli("fix", "--write", ".", cwd=mod)
    assert hashlib.sha256((outside / "lib.go").read_bytes()).hexdigest() == before

"""The compiler that stops after escape analysis (``analysis.stopped_compiler``), live:
built from each toolchain's own GOROOT, it must log exactly the escape, leak and inlining
records of the full compile (kinds, positions, flows, reasons), on GOROOT packages and
real modules, on this machine's Go and on the oldest and newest the tests install, and
write no object file. With the anchor gone (an unknown compiler) heaplens compiles fully
and says why.

The binaries are kept in ``.cache/stopped-compilers`` (or ``HEAPLENS_STOPPED_COMPILERS``)
across sessions, as the toolchains are: a cold build compiles the whole compiler."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from heaplens import report_text, toolchain
from heaplens.analysis import Engine, Options, compile_direct, stopped_compiler
from heaplens.cache import ResultCache
from heaplens.model import Kind
from heaplens.workspace import plan
from test_go_versions import _toolchain

COMPILERS = Path(
    os.environ.get("HEAPLENS_STOPPED_COMPILERS", ROOT / ".cache" / "stopped-compilers")
)
STD = (
    "compress/flate",
    "encoding/xml",
    "go/printer",
    "regexp/syntax",
    "encoding/json",
    "bufio",
    "bytes",
    "strings",
    "strconv",
    "text/template/parse",
    "net/url",
    "image/png",
)
MODULES = (
    ("github.com/dustin/go-humanize", "v1.1.0"),
    ("github.com/Masterminds/semver/v3", "v3.5.0"),
)
#: The records escape analysis and inlining write; the others are the back end's.
ESCAPE_CODES = frozenset({"escape", "escapes", "leak", "canInlineFunction", "cannotInlineFunction"})
BACK_END_CODES = frozenset({"isInBounds", "isSliceInBounds", "nilcheck"})


def _go(version: str | None) -> toolchain.GoEnv:
    binary = "go" if version is None else str(_toolchain(version))
    env = toolchain.safe_env(extra={"GOFLAGS": ""})
    return toolchain.go_env(toolchain.find_go(binary, env), env, str(ROOT), toolchain.Deadline(60))


def _stopped(go: toolchain.GoEnv) -> str:
    # The shared instance: it may be building this one already (``prebuild``).
    compilers = stopped_compiler.for_directory(str(COMPILERS))
    path = compilers.get(go, toolchain.safe_env(extra={"GOFLAGS": ""}), wait=True)
    assert path is not None, compilers.note(go)
    return path


def _module_copy(tmp: Path, module: str, version: str) -> Path:
    """A writable copy of a module from the module cache, or through the proxy."""
    for proxy in ("off", "https://proxy.golang.org"):
        env = toolchain.safe_env(extra={"GOFLAGS": "", "GOPROXY": proxy}, allow_network=True)
        proc = subprocess.run(
            ["go", "mod", "download", "-json", f"{module}@{version}"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
            timeout=300,
        )
        if proc.returncode == 0:
            target = tmp / module.replace("/", "_")
            shutil.copytree(json.loads(proc.stdout)["Dir"], target)
            for d, _, files in os.walk(target):
                os.chmod(d, 0o700)
                for f in files:
                    os.chmod(os.path.join(d, f), 0o600)
            return target
    pytest.skip(f"cannot download {module}@{version}: {proc.stderr.strip()[-200:]}")


def _listed(go: toolchain.GoEnv, cwd: Path, patterns: list[str]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [go.binary, "list", "-deps", "-export", "-json", *patterns],
        capture_output=True,
        env=toolchain.safe_env(extra={"GOFLAGS": ""}),
        cwd=cwd,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    decoder, text, out = json.JSONDecoder(), proc.stdout.decode(), []
    i = 0
    while i < len(text):
        obj, i = decoder.raw_decode(text, i)
        out.append(obj)
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def _records(log_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The log's records by code; each file's header line is left out."""
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(log_dir.rglob("*.json")):
        for line in path.read_text().splitlines()[1:]:
            record = json.loads(line)
            out.setdefault(record["code"], []).append(record)
    return out


def _compile(
    go: toolchain.GoEnv, compiler: str, pkg: dict[str, Any], cfg: Path, out: Path, stop: bool
) -> tuple[dict[str, list[dict[str, Any]]], bool]:
    """Compile ``pkg`` as the go command would (and ``compile_direct`` does, GOROOT
    set: a toolchain built with -trimpath names GOROOT's files ``$GOROOT/...`` without
    it); its log, and whether an object file was written."""
    log = out.with_suffix(".log")
    obj = out.with_suffix(".o")
    files = [os.path.join(pkg["Dir"], f) for f in pkg["GoFiles"]]
    argv = [compiler, "-o", str(obj), "-p", pkg["ImportPath"], "-complete", "-importcfg", str(cfg)]
    argv += ["-std"] if pkg.get("Standard") else []
    argv += ["-dwarf=false", toolchain.json_log_flag(str(log)), *files]
    env = compile_direct.env(toolchain.safe_env(extra={"GOFLAGS": ""}), go)
    if stop:
        env[stopped_compiler.ENV_VAR] = "1"
    proc = subprocess.run(argv, capture_output=True, env=env, cwd=pkg["Dir"], timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    return _records(log), obj.exists()


VERSIONS = (None, "1.21.13", "1.27.3")


def prebuild() -> None:
    """Build every stopped compiler the tests compare, in the background, from the start
    of the session: a cold build compiles the whole compiler (70-100 s each), and the
    suite leaves a core idle about half the time. The tests then wait for what is left."""
    for version in VERSIONS:
        try:
            _stopped(_go(version))
        except BaseException:  # pytest.skip, a failed build: the test itself says why
            continue


@pytest.mark.parametrize("version", VERSIONS, ids=["this", "1.21", "1.27"])
def test_stopped_compiler_logs_what_the_full_compile_logs(
    version: str | None, tmp_path: Path
) -> None:
    go = _go(version)
    stopped = _stopped(go)
    real = os.path.join(go.tooldir, "compile")
    scratch = tmp_path / "m"
    scratch.mkdir()
    (scratch / "go.mod").write_text("module scratch\n\ngo 1.21\n")
    targets = [(scratch, list(STD))] + [(_module_copy(tmp_path, m, v), ["."]) for m, v in MODULES]
    compared = 0
    for cwd, patterns in targets:
        listed = _listed(go, cwd, patterns)
        cfg = tmp_path / f"importcfg{compared}"
        cfg.write_text(
            "".join(
                f"packagefile {p['ImportPath']}={p['Export']}\n" for p in listed if p.get("Export")
            )
        )
        for pkg in (p for p in listed if not p.get("DepOnly")):
            assert not pkg.get("SFiles"), pkg["ImportPath"]  # -complete would be wrong
            name = tmp_path / f"{compared}"
            full, full_obj = _compile(go, real, pkg, cfg, name.with_name(f"{compared}-full"), False)
            early, early_obj = _compile(
                go, stopped, pkg, cfg, name.with_name(f"{compared}-stop"), True
            )
            assert full_obj and not early_obj, pkg["ImportPath"]
            for code in ESCAPE_CODES:
                assert early.get(code) == full.get(code), (pkg["ImportPath"], code)
            assert not BACK_END_CODES & early.keys(), pkg["ImportPath"]
            assert full.get("escape") or full.get("leak"), pkg["ImportPath"]
            compared += 1
    assert compared == len(STD) + len(MODULES)


def test_an_unknown_compiler_falls_back_to_the_full_compile(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """main.go without the anchor (as in a Go heaplens does not know): nothing is built,
    the check compiles fully, says why, and the failure is never retried."""
    monkeypatch.setenv("GOFLAGS", "")
    go = _go(None)
    main_go = tmp_path / "main.go"
    text = Path(go.goroot, stopped_compiler.MAIN_GO).read_text()
    main_go.write_text(text.replace("escape.Funcs(", "escapeFuncs("))
    logged: list[str] = []
    compilers = stopped_compiler.Compilers(
        str(tmp_path / "compilers"), main_go=str(main_go), log=logged.append
    )
    engine = Engine(Options(tests=False, stop_after_escape=True, wait_for_stopped=True))
    engine.stopped = compilers
    engine.check(["./esc"], str(corpus))
    esc = corpus / "esc" / "esc.go"
    edited = esc.read_bytes() + b"\nfunc Later() *[8]int {\n\tvar a [8]int\n\treturn &a\n}\n"

    result = engine.check(["./esc"], str(corpus), overlays={str(esc): edited})

    assert result.stats.direct_units == 1, result.stats.direct_refusals
    assert result.stats.stopped_units == 0
    assert "no escape.Funcs" in result.stats.stopped_note
    assert logged == [result.stats.stopped_note]
    # `check -v` says it: the text report's timings carry the note.
    verbose = report_text.render(result, frozenset(Kind), str(corpus), verbose=True)
    assert result.stats.stopped_note in verbose
    assert result.stats.stopped_note not in report_text.render(
        result, frozenset(Kind), str(corpus), verbose=False
    )
    assert not any(p.stopped_early for p in result.packages)
    assert "moved to heap: a" in [f.message for f in result.findings]
    assert [p.name for p in (tmp_path / "compilers").iterdir()] == [
        p.name for p in (tmp_path / "compilers").glob("compile-*.failed")
    ]
    again = stopped_compiler.Compilers(str(tmp_path / "compilers"), log=logged.append)
    assert again.get(go, engine.base_env(), wait=True) is None  # the marker: no new build
    assert "no escape.Funcs" in (again.note(go) or "")


def test_edits_use_the_stopped_compiler_and_a_full_compile_replaces_it(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stopped compiler's result is marked and never cached: the full compile of
    the same text that follows brings the bounds checks."""
    monkeypatch.setenv("GOFLAGS", "")
    options = Options(tests=False, compilers_dir=str(COMPILERS), wait_for_stopped=True)
    engine = Engine(options, ResultCache(str(tmp_path / "cache")))
    engine.check(["./esc"], str(corpus))
    esc = corpus / "esc" / "esc.go"
    edited = esc.read_bytes() + b"\nfunc At(s []int, i int) int {\n\treturn s[i]\n}\n"
    queries = plan(["./esc"], str(corpus), engine.base_env())

    early = engine.check_queries(queries, {str(esc): edited}, stop_after_escape=True)
    full = engine.check_queries(queries, {str(esc): edited})

    assert early.stats.stopped_units == 1, early.stats.stopped_note
    assert [p.stopped_early for p in early.packages] == [True]
    assert full.stats.stopped_units == 0 and full.stats.cached_units == 0
    assert [p.stopped_early for p in full.packages] == [False]
    kinds = {f.kind.value for f in full.findings} - {f.kind.value for f in early.findings}
    assert "bounds-check" in kinds
    assert [f for f in full.findings if f.kind.value not in kinds] == list(early.findings)

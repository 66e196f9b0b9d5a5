"""Neovim end to end for issue 18: :HeaplensList, :HeaplensPause, :HeaplensResume and the
code action "heaplens: pause in this package", in a real headless Neovim 0.11 with the real
``heaplens serve`` (tests/neovim/pause.lua does the editor's side).

The quickfix list is checked against the diagnostics Neovim holds for the same file, and
against byte columns computed from the file's text (its Label line has non-ASCII text
before a finding, so a column left in another encoding would be off)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.lsp.test_profile import BENCH, HOT, _profile
from tests.neovim.test_neovim import heaplens_bin, hotpath, nvim, run_nvim

PAUSE_INIT = Path(__file__).resolve().parent / "pause.lua"
__all__ = ["heaplens_bin", "hotpath", "nvim"]  # fixtures this file uses


def _entries(diagnostics: list[dict[str, Any]]) -> set[tuple[int, int, str]]:
    """What a quickfix entry of each diagnostic would be: 1-based line and byte column."""
    return {(d["lnum"] + 1, d["col"] + 1, f"{d['code']}: {d['message']}") for d in diagnostics}


def test_list_pause_and_resume_in_neovim(
    nvim: Path, heaplens_bin: Path, hotpath: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    go, expected = hotpath
    result = run_nvim(nvim, tmp_path, "native", {"at_least": len(expected)}, go, PAUSE_INIT)
    assert all(result["commands"].values()), result["commands"]

    # :HeaplensList: one entry per finding shown, at its start, "kind: message".
    quickfix = result["quickfix"]
    items = quickfix["items"]
    assert items and quickfix["window"], quickfix
    assert {i["filename"] for i in items} == {str(go)}
    got = {(i["lnum"], i["col"], i["text"]) for i in items}
    assert got == _entries(result["diagnostics"]), (items, result["diagnostics"])
    assert quickfix["title"] == f"heaplens: {len(items)} findings (by position)"
    # Without a profile: by position within the file.
    assert [(i["lnum"], i["col"]) for i in items] == sorted((i["lnum"], i["col"]) for i in items)
    for want in expected:
        at = [i for i in items if i["text"].startswith(f"{want['kind']}: {want['message']}")]
        assert (want["line"] + 1, want["col"] + 1) in [(i["lnum"], i["col"]) for i in at], want

    # :HeaplensPause cleared the diagnostics and put the package in `exclude`;
    # :HeaplensResume took it out and brought them back.
    assert result["pause"]["exclude"] == ["."], result["pause"]
    assert result["pause"]["said"] == "heaplens: paused in ."
    assert result["resume"]["exclude"] == []
    assert _entries(result["resume"]["diagnostics"]) == _entries(result["diagnostics"])

    # The code action ran the client command with the file's URI, and paused it too.
    assert result["action"]["command"] == "heaplens.pausePackage"
    assert result["action"]["arguments"] == [go.as_uri()]
    assert result["action"]["exclude"] == ["."]


def test_list_by_cost_with_a_profile_in_neovim(
    nvim: Path, heaplens_bin: Path, tmp_path: Path
) -> None:
    module = tmp_path / "hot"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/hot\n\ngo 1.21\n")
    (module / "hot.go").write_text(HOT)
    (module / "hot_test.go").write_text(BENCH)
    _profile(module, "BenchmarkHot", "mem.out")
    (module / "hot.test").unlink(missing_ok=True)
    spec = {"at_least": 1, "list_only": True, "settings": {"profile": ["mem.out"]}}
    result = run_nvim(nvim, tmp_path, "native", spec, module / "hot.go", PAUSE_INIT)

    listed = result["listed"]
    assert listed["sortedBy"] == "cost" and listed["profile"] == "mem.out", listed
    items = result["quickfix"]["items"]
    assert result["quickfix"]["title"] == f"heaplens: {len(items)} findings (by cost, mem.out)"
    # The quickfix list keeps the server's order: by share of the allocated bytes.
    findings = listed["findings"]
    assert [(i["lnum"], i["col"]) for i in items] == [
        (f["range"]["start"]["line"] + 1, f["range"]["start"]["character"] + 1) for f in findings
    ]
    shares = [f["cost"]["share"] for f in findings if f["cost"]]
    assert shares and shares == sorted(shares, reverse=True), findings
    assert findings[0]["cost"] is not None
    hottest = HOT.splitlines()[items[0]["lnum"] - 1]
    assert "NewPoint" in hottest or "append" in hottest, hottest

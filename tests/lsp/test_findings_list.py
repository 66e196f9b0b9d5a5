"""``heaplens.listFindings`` and ``heaplens/findingsChanged`` with the real server over
stdio and the real compiler: the list agrees with the published diagnostics (ranges,
messages, severities), names each finding's package and function, carries its verified
fixes, sorts by cost with a profile loaded, filters by kind, and the server says when it
changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from heaplens.lsp.findings_list import FINDINGS_CHANGED, LIST_FINDINGS
from tests.lsp.harness import change, open_file, session, wait_for, wait_for_diagnostics
from tests.lsp.test_profile import _copy, profiled  # noqa: F401 -- the profiled module

SOURCE = """package shapes

type Config struct {
	Name string
	Pad  [16]int
}

func NewConfig(name string) *Config {
	return &Config{Name: name}
}

func Squares(xs []int) []int {
	var out []int
	for _, x := range xs {
		out = append(out, x*x)
	}
	return out
}
"""


def _module(tmp_path: Path) -> Path:
    mod = tmp_path / "shapes"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/shapes\n\ngo 1.21\n")
    (mod / "shapes.go").write_text(SOURCE)
    return mod


async def _list(lsp: LanguageClient, *args: Any) -> dict[str, Any]:
    result = await lsp.workspace_execute_command_async(
        types.ExecuteCommandParams(command=LIST_FINDINGS, arguments=list(args))
    )
    assert isinstance(result, dict), result
    return result


def _changes(lsp: LanguageClient) -> list[Any]:
    """Every ``heaplens/findingsChanged`` the client receives from now on."""
    seen: list[Any] = []

    @lsp.feature(FINDINGS_CHANGED)
    def changed(params: Any) -> None:
        seen.append(params)

    return seen


def _range(d: types.Diagnostic) -> tuple[int, int, int, int]:
    r = d.range
    return (r.start.line, r.start.character, r.end.line, r.end.character)


def _row_range(row: dict[str, Any]) -> tuple[int, int, int, int]:
    start, end = row["range"]["start"], row["range"]["end"]
    return (start["line"], start["character"], end["line"], end["character"])


def _has_fix(ds: list[types.Diagnostic]) -> bool:
    return any(isinstance(d.data, dict) and d.data.get("fixes") for d in ds)


async def test_the_list_is_what_the_diagnostics_show(tmp_path: Path) -> None:
    mod = _module(tmp_path)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        changes = _changes(lsp)
        uri = open_file(lsp, mod / "shapes.go")
        # The preallocation of ``out`` is verified after the analysis: wait for it.
        diags = await wait_for_diagnostics(lsp, uri, _has_fix, timeout=120)
        await wait_for(lambda: changes, 10, "findingsChanged")
        listed = await _list(lsp)
        only = await _list(lsp, {"kinds": ["leaking-param"]})
    assert listed["profile"] is None and listed["sortedBy"] == "position"
    rows = listed["findings"]
    assert sorted((_row_range(r), r["message"], r["severity"]) for r in rows) == sorted(
        (_range(d), d.message, int(d.severity or 0)) for d in diags
    )
    assert {r["uri"] for r in rows} == {uri}
    assert {r["package"] for r in rows} == {"example.com/shapes"}
    assert {r["directory"] for r in rows} == {str(mod)}
    assert {"NewConfig", "Squares"} <= {r["function"] for r in rows}
    starts = [(r["range"]["start"]["line"], r["range"]["start"]["character"]) for r in rows]
    assert starts == sorted(starts)
    fixed = [r for r in rows if r["fixes"]]
    assert fixed and all(f["kind"] and f["title"] for r in fixed for f in r["fixes"])
    assert all(r["cost"] is None for r in rows)
    # The kinds argument overrides the setting: only the leaking parameter ``name``.
    assert only["findings"] and {r["kind"] for r in only["findings"]} == {"leaking-param"}
    assert len(only["findings"]) < len(rows)


async def test_an_edit_moves_the_list_and_says_so(tmp_path: Path) -> None:
    mod = _module(tmp_path)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "shapes.go")
        await wait_for_diagnostics(lsp, uri)
        before = await _list(lsp)
        changes = _changes(lsp)
        change(lsp, uri, 2, (1, 0), (1, 0), "\n\n")  # two lines above every finding
        await wait_for(lambda: changes, 60, "findingsChanged after the edit")
        await wait_for_diagnostics(
            lsp, uri, lambda ds: bool(ds) and min(d.range.start.line for d in ds) > 5
        )
        after = await _list(lsp)
    lines = [r["range"]["start"]["line"] for r in before["findings"]]
    assert [r["range"]["start"]["line"] for r in after["findings"]] == [n + 2 for n in lines]


async def test_with_a_profile_the_list_is_by_cost(profiled: Path, tmp_path: Path) -> None:  # noqa: F811
    mod = _copy(profiled, tmp_path)
    async with session(mod, init_options={"profile": ["mem.out"]}, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "hot.go")
        await wait_for_diagnostics(
            lsp, uri, lambda ds: any(d.severity == types.DiagnosticSeverity.Warning for d in ds)
        )
        listed = await _list(lsp)
    assert listed["profile"] == "mem.out" and listed["sortedBy"] == "cost"
    rows = listed["findings"]
    shares = [r["cost"]["share"] if r["cost"] else -1.0 for r in rows]
    assert shares == sorted(shares, reverse=True)
    assert shares[0] > 0.1, rows[0]
    top = rows[0]
    assert top["cost"]["alloc_space"] > 0 and top["cost"]["alloc_objects"] > 0
    assert top["function"].rpartition(".")[2] in {"NewPoint", "Squares"}

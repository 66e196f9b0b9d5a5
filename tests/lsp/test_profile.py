"""The ``profile`` setting in the editor (issue 16): the real server over stdio, joined to
real allocation profiles that a real ``go test -bench -memprofile`` wrote for a module
this file writes. The hover and the inlay hint give a finding's share, the severity
follows it, a verified fix says what it saves, the status names the profile, and a
profile rewritten or removed on disk is picked up without a restart."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from heaplens.fixes.savings import savings
from heaplens.lsp.presentation import ProfileLabels, finding_severity, hover_markdown
from heaplens.lsp.profiling import resolve, watch_points
from heaplens.lsp.settings import Settings, parse_settings, settings_to_json
from heaplens.model import Cost, Finding, Kind, Position, Range, Reason, ReasonCode
from tests.lsp.harness import (
    STATUS,
    inlay_hints,
    open_file,
    session,
    wait_for,
    wait_for_diagnostics,
)

HOT = """package hot

type Point struct {
	X, Y int
	Pad  [30]int
}

//go:noinline
func NewPoint(x int) *Point { return &Point{X: x, Y: x} }

func Cold() *Point { return &Point{X: 1, Y: 2} }

//go:noinline
func Squares(xs []int) []int {
	var out []int
	for _, x := range xs {
		out = append(out, x*x)
	}
	return out
}

var sink []byte

//go:noinline
func Fill(n int) { sink = make([]byte, n) }
"""

BENCH = """package hot

import "testing"

var sinkP *Point
var sinkS []int

func BenchmarkHot(b *testing.B) {
	xs := []int{1, 2, 3, 4, 5, 6, 7, 8, 9}
	for i := 0; i < b.N; i++ {
		sinkP = NewPoint(i)
		sinkS = Squares(xs)
	}
}

func BenchmarkFill(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Fill(64 + i%8)
	}
}
"""


def _profile(module: Path, bench: str, out: str) -> None:
    subprocess.run(
        [
            *("go", "test", "-run", "^$", "-bench", f"^{bench}$", "-benchmem"),
            *("-benchtime", "5000x", "-memprofile", out, "-memprofilerate", "1", "."),
        ],
        cwd=module,
        env={**os.environ, "GOPROXY": "off", "GOFLAGS": "-mod=mod"},
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module, with ``mem.out`` (BenchmarkHot) and ``fill.out`` (BenchmarkFill):
    profiled once, copied for each test."""
    module = tmp_path_factory.mktemp("profiled") / "hot"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/hot\n\ngo 1.21\n")
    (module / "hot.go").write_text(HOT)
    (module / "hot_test.go").write_text(BENCH)
    _profile(module, "BenchmarkHot", "mem.out")
    _profile(module, "BenchmarkFill", "fill.out")
    (module / "hot.test").unlink(missing_ok=True)  # the test binary a profile leaves
    return module


def _copy(profiled: Path, tmp_path: Path) -> Path:
    # copy2 keeps the times: the profiles stay newer than the sources they profiled.
    return Path(shutil.copytree(profiled, tmp_path / "hot", copy_function=shutil.copy2))


def _line_of(needle: str) -> int:
    """The 0-based line of ``needle`` in hot.go, as LSP counts."""
    return next(i for i, line in enumerate(HOT.splitlines()) if needle in line)


def _at(diags: list[types.Diagnostic], line: int, prefix: str) -> types.Diagnostic | None:
    return next(
        (d for d in diags if d.range.start.line == line and d.message.startswith(prefix)), None
    )


def _statuses(lsp: LanguageClient) -> list[dict[str, Any]]:
    """Every ``heaplens/status`` the client receives from now on, whole."""
    seen: list[dict[str, Any]] = []
    recorded = lsp.protocol.fm.features[STATUS]

    def record(params: Any) -> None:
        # pygls hands a notification it has no type for as an object of its fields.
        keys = ("state", "profile", "profileNote")
        seen.append(
            params if isinstance(params, dict) else {k: getattr(params, k, "") for k in keys}
        )
        recorded(params)

    lsp.protocol.fm.features[STATUS] = record
    return seen


class Sites:
    def __init__(self, module: Path) -> None:
        self.new_point = _line_of("func NewPoint")
        self.cold = _line_of("func Cold")
        self.append = _line_of("out = append(out")
        self.fill = _line_of("func Fill")

    def severity_is(
        self, line: int, prefix: str, severity: types.DiagnosticSeverity
    ) -> Callable[[list[types.Diagnostic]], bool]:
        def check(diags: list[types.Diagnostic]) -> bool:
            d = _at(diags, line, prefix)
            return d is not None and d.severity == severity

        return check


async def _hover(lsp: LanguageClient, uri: str, d: types.Diagnostic) -> str:
    hover = await lsp.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=d.range.start
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


async def test_hover_inlay_and_severity_follow_the_profile(profiled: Path, tmp_path: Path) -> None:
    mod = _copy(profiled, tmp_path)
    sites = Sites(mod)
    options = {"profile": ["mem.out"]}
    async with session(mod, init_options=options, cache_dir=tmp_path / "c") as lsp:
        statuses = _statuses(lsp)
        uri = open_file(lsp, mod / "hot.go")
        # escapes-to-heap is information by default: hot is one step up, unseen a hint.
        raised = sites.severity_is(sites.new_point, "&Point{", types.DiagnosticSeverity.Warning)
        cold = sites.severity_is(sites.cold, "&Point{", types.DiagnosticSeverity.Hint)
        diags = await wait_for_diagnostics(lsp, uri, lambda ds: raised(ds) and cold(ds))
        hot = _at(diags, sites.new_point, "&Point{")
        never = _at(diags, sites.cold, "&Point{")
        assert hot is not None and never is not None
        hot_text = await _hover(lsp, uri, hot)
        cold_text = await _hover(lsp, uri, never)
        hints = await inlay_hints(lsp, uri)
        await wait_for(lambda: any(s.get("profile") == "mem.out" for s in statuses), 30)
    assert "of allocated bytes in mem.out (" in hot_text and " objects)" in hot_text, hot_text
    assert "Never allocated in mem.out" in cold_text, cold_text
    by_line = {h.position.line: _label(h) for h in hints}
    assert "%" in by_line[sites.new_point], by_line  # "↑heap: returned · 49%"
    assert "%" not in by_line[sites.cold], by_line


def _label(hint: types.InlayHint) -> str:
    if isinstance(hint.label, str):
        return hint.label
    return "".join(part.value for part in hint.label)


async def test_a_profile_rewritten_or_removed_is_picked_up(profiled: Path, tmp_path: Path) -> None:
    mod = _copy(profiled, tmp_path)
    sites = Sites(mod)
    async with session(mod, init_options={"profile": ["mem.out"]}, cache_dir=tmp_path / "c") as lsp:
        statuses = _statuses(lsp)
        uri = open_file(lsp, mod / "hot.go")
        warning, hint = types.DiagnosticSeverity.Warning, types.DiagnosticSeverity.Hint
        await wait_for_diagnostics(lsp, uri, sites.severity_is(sites.new_point, "&Point{", warning))
        # Another benchmark's profile in its place: NewPoint never ran there, Fill did.
        os.replace(mod / "fill.out", mod / "mem.out")
        swapped = sites.severity_is(sites.new_point, "&Point{", hint)
        filled = sites.severity_is(sites.fill, "make([]byte", warning)
        await wait_for_diagnostics(lsp, uri, lambda ds: swapped(ds) and filled(ds))
        # No profile at all: the kinds' own severities, and the status says why.
        (mod / "mem.out").unlink()
        info = types.DiagnosticSeverity.Information
        diags = await wait_for_diagnostics(
            lsp, uri, sites.severity_is(sites.new_point, "&Point{", info)
        )
        await wait_for(
            lambda: any("no file matches" in s.get("profileNote", "") for s in statuses), 30
        )
        hints = await inlay_hints(lsp, uri)
    cold = _at(diags, sites.cold, "&Point{")
    assert cold is not None and cold.severity == info
    assert not any("%" in _label(h) for h in hints)


async def test_the_setting_changed_loads_the_profile(profiled: Path, tmp_path: Path) -> None:
    mod = _copy(profiled, tmp_path)
    sites = Sites(mod)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "hot.go")
        info = types.DiagnosticSeverity.Information
        await wait_for_diagnostics(lsp, uri, sites.severity_is(sites.cold, "&Point{", info))
        lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"heaplens": {"profile": ["*.out"]}})
        )
        # Both profiles, merged: NewPoint ran in one, Fill in the other; Cold in neither.
        raised = sites.severity_is(sites.new_point, "&Point{", types.DiagnosticSeverity.Warning)
        cold = sites.severity_is(sites.cold, "&Point{", types.DiagnosticSeverity.Hint)
        diags = await wait_for_diagnostics(lsp, uri, lambda ds: raised(ds) and cold(ds))
        fill = _at(diags, sites.fill, "make([]byte")
        assert fill is not None and fill.severity != types.DiagnosticSeverity.Hint
        hot = _at(diags, sites.new_point, "&Point{")
        assert hot is not None
        text = await _hover(lsp, uri, hot)
    assert "of allocated bytes in fill.out, mem.out (" in text, text


async def test_a_file_that_is_no_profile_is_said_once(profiled: Path, tmp_path: Path) -> None:
    mod = _copy(profiled, tmp_path)
    (mod / "bad.out").write_text("this is not a profile\n")
    sites = Sites(mod)
    async with session(mod, init_options={"profile": ["*.out"]}, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "hot.go")
        # The server goes on without costs: the kind's own severity.
        info = types.DiagnosticSeverity.Information
        await wait_for_diagnostics(lsp, uri, sites.severity_is(sites.new_point, "&Point{", info))
        said = await wait_for(
            lambda: [m for m in lsp.messages if "bad.out" in m.message], 30, "the warning"
        )
    assert len(said) == 1 and said[0].type == types.MessageType.Warning, said


async def test_a_verified_fix_says_what_it_saves(profiled: Path, tmp_path: Path) -> None:
    mod = _copy(profiled, tmp_path)
    sites = Sites(mod)
    async with session(mod, init_options={"profile": ["mem.out"]}, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "hot.go")
        warning = types.DiagnosticSeverity.Warning
        diags = await wait_for_diagnostics(
            lsp, uri, sites.severity_is(sites.append, "append(out", warning)
        )
        target = _at(diags, sites.append, "append(out")
        assert target is not None

        async def preallocate() -> list[str]:
            actions = await lsp.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=target.range,
                    context=types.CodeActionContext(diagnostics=[target]),
                )
            )
            return [
                a.title
                for a in actions or []
                if isinstance(a, types.CodeAction) and a.title.startswith("Preallocate out")
            ]

        titles = await _wait_async(preallocate)
    assert any("(saves " in t and "of allocated bytes in mem.out" in t for t in titles), titles


async def _wait_async(ask: Callable[[], Any], timeout: float = 60) -> Any:
    """Ask until the answer is not empty: verified fixes appear in the background."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = await ask()
        if answer:
            return answer
        await asyncio.sleep(0.2)
    raise AssertionError("no answer in time")


# -- the rules the editor shows by, without a server -----------------------------------


def _finding(kind: Kind = Kind.ESCAPES_TO_HEAP, **changes: Any) -> Finding:
    base = Finding(
        kind=kind,
        file="/w/a.go",
        range=Range(Position(3, 2), Position(3, 9)),
        message="&T{} escapes to heap",
        reason=Reason(ReasonCode.ADDRESS_RETURNED),
        function="p.f",
    )
    return replace(base, **changes)


def _cost(space: int, objects: int, share: float, shared_by: int = 1) -> Cost:
    """As the join gives it: the line's figures, and this finding's even part of them."""
    k = shared_by
    return Cost(space // k, objects // k, share / k, k, space, objects, share)


def test_the_profile_settings_are_read_and_checked() -> None:
    settings, problems = parse_settings({"profile": "mem.out", "profileHotShare": 0.2})
    assert (settings.profile, settings.profileHotShare, problems) == (["mem.out"], 0.2, [])
    settings, problems = parse_settings({"profile": ["a.out", 3], "profileHotShare": 2})
    assert (settings.profile, settings.profileHotShare) == ([], 0.05)
    assert len(problems) == 2 and "'profileHotShare'" in problems[1], problems
    assert settings_to_json(Settings())["profile"] == []


def test_severity_rises_for_hot_findings_and_falls_for_unseen_ones() -> None:
    settings = Settings()  # escapes-to-heap is information; the threshold is 5%
    info, warn = types.DiagnosticSeverity.Information, types.DiagnosticSeverity.Warning
    hot = _cost(1000, 10, 0.05)
    assert finding_severity(_finding(cost=hot), settings) == warn
    assert finding_severity(_finding(cost=_cost(10, 1, 0.049)), settings) == info
    unseen = _finding(cost=_cost(0, 0, 0.0))
    assert finding_severity(unseen, settings) == types.DiagnosticSeverity.Hint
    # Shared: weighed by the line's share (6%), not by its even part of it (3%).
    shared = _cost(1000, 10, 0.06, shared_by=2)
    assert finding_severity(_finding(cost=shared), settings) == warn
    # Only a CPU profile: its function's share of the samples.
    assert finding_severity(_finding(hot=0.5), settings) == warn
    assert finding_severity(_finding(hot=0.01), settings) == info
    # Never above error, and never for kinds that allocate nothing.
    loud = Settings(severity={**Settings().severity, "escapes-to-heap": "error"})
    assert finding_severity(_finding(cost=hot), loud) == types.DiagnosticSeverity.Error
    leak = _finding(Kind.LEAKING_PARAM, hot=0.9)
    assert finding_severity(leak, settings) == types.DiagnosticSeverity.Hint


def test_hover_says_the_cpu_share_and_a_shared_line() -> None:
    shared = _cost(1000, 10, 0.4, shared_by=2)
    text = hover_markdown(_finding(cost=shared, hot=0.12), profile=ProfileLabels("m.out", "c.pgo"))
    assert "Its function has 12% of CPU samples in c.pgo." in text, text
    assert "with 1 other allocation on this line" in text and "cannot tell them apart" in text
    assert "40% of allocated bytes in m.out" in text


def test_savings_name_what_the_profile_saw() -> None:
    said = savings(_finding(cost=_cost(3_200_000, 20_000, 0.41)), "mem.out")
    assert said == "saves 41% of allocated bytes in mem.out (3.2 MB, 20,000 objects)"
    assert savings(_finding(cost=_cost(0, 0, 0.0)), "mem.out") is None
    part = savings(_finding(cost=_cost(2000, 20, 0.5, shared_by=2)), "mem.out")
    assert part is not None and "up to 50%" in part and "cannot tell them apart" in part
    assert savings(_finding(), "mem.out") is None


def test_profile_paths_are_globs_in_each_folder(tmp_path: Path) -> None:
    for name in ("a/mem.out", "a/deep/x/cpu.pgo", "b/mem.out", "b/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    folders = [str(tmp_path / "a"), str(tmp_path / "b")]
    absolute = str(tmp_path / "b" / "notes.txt")
    found = resolve(["mem.out", "**/*.pgo", absolute, "missing.out"], folders)
    assert found == [
        str(tmp_path / "a" / "mem.out"),
        str(tmp_path / "b" / "mem.out"),
        str(tmp_path / "a" / "deep" / "x" / "cpu.pgo"),
        absolute,
    ]
    points = watch_points(["mem.out", "**/*.pgo", "gone/dir/*.out"], folders[:1])
    assert points == {folders[0]: True}  # "gone" does not exist: its parent, deeply

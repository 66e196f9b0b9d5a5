"""Per-package pause and resume (issue 18): the ``exclude`` setting, honoured live by the
real server over stdio. A package newly excluded has its diagnostics cleared and is not
analysed; resumed, it is analysed and published again. ``heaplens.pause`` and
``heaplens.resume`` answer the new list, the code action offers the client's command, and
``heaplens/status`` says whether the file's package is paused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from heaplens.lsp.pausing import (
    is_paused,
    pattern_for,
    paused_list,
    resumed_list,
)
from heaplens.lsp.settings import parse_settings
from tests.conftest import copy_module
from tests.lsp.harness import (
    STATUS,
    analyses_finished,
    analysis_finished,
    handled,
    heaplens_diagnostics,
    log_lines,
    open_file,
    session,
    wait_for,
    wait_for_diagnostics,
)


def _exclude(lsp: LanguageClient, patterns: list[str]) -> None:
    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"heaplens": {"exclude": patterns}})
    )


async def _command(lsp: LanguageClient, name: str, uri: str) -> Any:
    return await lsp.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=[{"uri": uri}])
    )


def _code_actions_as_sent(lsp: LanguageClient) -> None:
    """Read code actions as editors do. lsprotocol structures ``Command | CodeAction`` by
    trying ``Command`` first, and a code action that carries a command (its ``command``
    an object) passes for a ``Command`` whose command is that object's repr."""
    converter = lsp.protocol._converter

    def structure(value: Any, _type: Any) -> types.Command | types.CodeAction:
        if isinstance(value.get("command"), str):
            return converter.structure(value, types.Command)
        return converter.structure(value, types.CodeAction)

    converter.register_structure_hook(types.Command | types.CodeAction, structure)


async def _cleared(lsp: LanguageClient, uri: str) -> None:
    await wait_for(lambda: not heaplens_diagnostics(lsp, uri), what=f"{uri} cleared")


def _statuses(lsp: LanguageClient) -> list[dict[str, Any]]:
    """Every ``heaplens/status`` the client receives from now on, whole."""
    seen: list[dict[str, Any]] = []
    recorded = lsp.protocol.fm.features[STATUS]

    def record(params: Any) -> None:
        keys = ("state", "directory", "paused")
        seen.append(
            params if isinstance(params, dict) else {k: getattr(params, k, None) for k in keys}
        )
        recorded(params)

    lsp.protocol.fm.features[STATUS] = record
    return seen


def test_globs_match_package_directories() -> None:
    folders = ["/w"]
    assert is_paused("/w/internal/gen", ["internal/gen"], folders)
    assert not is_paused("/w/internal/gen/sub", ["internal/gen"], folders)
    assert is_paused("/w/vendor", ["vendor/**"], folders)
    assert is_paused("/w/vendor/a/b", ["vendor/**"], folders)
    assert not is_paused("/w/vendored", ["vendor/**"], folders)
    assert is_paused("/w/a/gen", ["**/gen"], folders)
    assert is_paused("/w/gen", ["**/gen"], folders)
    assert is_paused("/w/p1", ["p?"], folders) and not is_paused("/w/p/x", ["p*"], folders)
    assert is_paused("/elsewhere/p", ["/elsewhere/*"], folders)
    assert is_paused("/w", ["."], folders)
    assert pattern_for("/w/a/b", folders) == "a/b"
    assert pattern_for("/w", folders) == "."
    assert pattern_for("/x/y", folders) == "/x/y"
    assert paused_list(["vendor/**"], "/w/a", folders) == ["vendor/**", "a"]
    assert paused_list(["vendor/**"], "/w/vendor/x", folders) == ["vendor/**"]
    assert resumed_list(["a", "vendor/**", "b"], "/w/vendor/x", folders) == ["a", "b"]


def test_the_setting_is_a_list_of_globs() -> None:
    assert parse_settings({"exclude": ["gen", " ", ""]})[0].exclude == ["gen"]
    assert parse_settings({"exclude": "vendor/**"})[0].exclude == ["vendor/**"]
    settings, problems = parse_settings({"exclude": [1]})
    assert settings.exclude == [] and "'exclude'" in problems[0]


async def test_pause_clears_and_resume_republishes(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        esc = open_file(lsp, mod / "esc" / "esc.go")
        tested = open_file(lsp, mod / "tested" / "tested.go")
        before = await wait_for_diagnostics(lsp, esc)
        await wait_for_diagnostics(lsp, tested)

        paused = await _command(lsp, "heaplens.pause", esc)
        assert paused == {"directory": str(mod / "esc"), "pattern": "esc", "exclude": ["esc"]}
        # The server persists nothing: until the client sends the list, nothing changes.
        await handled(lsp)
        assert heaplens_diagnostics(lsp, esc)

        statuses = _statuses(lsp)
        _exclude(lsp, paused["exclude"])
        await _cleared(lsp, esc)
        assert heaplens_diagnostics(lsp, tested), "another package keeps its diagnostics"
        # Nor hover nor inlay hints quote a paused package's findings.
        first = before[0].range
        hints = await lsp.text_document_inlay_hint_async(
            types.InlayHintParams(
                text_document=types.TextDocumentIdentifier(uri=esc),
                range=types.Range(types.Position(0, 0), types.Position(10_000, 0)),
            )
        )
        assert not hints
        hover = await lsp.text_document_hover_async(
            types.HoverParams(types.TextDocumentIdentifier(uri=esc), first.start)
        )
        assert hover is None
        said = await wait_for(lambda: [s for s in statuses if s.get("paused")], what="paused")
        assert said[0]["directory"] == str(mod / "esc")
        listed = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="heaplens.listFindings", arguments=[])
        )
        directories = {f["directory"] for f in listed["findings"]}
        assert str(mod / "tested") in directories and str(mod / "esc") not in directories

        # Paused: an edit or a save starts no analysis of it.
        analysing = len(log_lines(lsp, "analysing"))
        lsp.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=esc))
        )
        await handled(lsp)
        assert len(log_lines(lsp, "analysing")) == analysing
        assert not heaplens_diagnostics(lsp, esc)

        resumed = await _command(lsp, "heaplens.resume", esc)
        assert resumed["exclude"] == [] and resumed["pattern"] == "esc"
        since = analyses_finished(lsp)
        _exclude(lsp, resumed["exclude"])
        after = await wait_for_diagnostics(lsp, esc)
        await analysis_finished(lsp, since)
        assert {(d.code, d.range.start.line) for d in after} == {
            (d.code, d.range.start.line) for d in before
        }
        assert statuses[-1]["paused"] is False
        hover = await lsp.text_document_hover_async(
            types.HoverParams(types.TextDocumentIdentifier(uri=esc), after[0].range.start)
        )
        assert hover is not None, "a resumed package's findings are quoted again"


async def test_a_package_paused_from_the_start_is_never_analysed(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    options = {"exclude": ["es*"]}
    async with session(mod, cache_dir=tmp_path / "c", init_options=options) as lsp:
        statuses = _statuses(lsp)
        esc = open_file(lsp, mod / "esc" / "esc.go")
        tested = open_file(lsp, mod / "tested" / "tested.go")
        await wait_for_diagnostics(lsp, tested)
        assert not log_lines(lsp, f"analysing {mod / 'esc'}")
        assert not heaplens_diagnostics(lsp, esc)
        by_dir = {s["directory"]: s["paused"] for s in statuses if s.get("directory")}
        assert by_dir.get(str(mod / "esc")) is True, statuses
        assert by_dir.get(str(mod / "tested")) is False, statuses

        # The workspace scan leaves it out too.
        result = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="heaplens.analyzeWorkspace", arguments=[])
        )
        assert not result["cancelled"]
        await handled(lsp)
        assert not heaplens_diagnostics(lsp, esc)


async def test_the_code_actions_pause_and_resume(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        _code_actions_as_sent(lsp)
        esc = open_file(lsp, mod / "esc" / "esc.go")
        diags = await wait_for_diagnostics(lsp, esc)
        actions = await lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=esc),
                range=diags[0].range,
                context=types.CodeActionContext(diagnostics=[diags[0]]),
            )
        )
        pause = [a for a in actions or [] if a.title == "heaplens: pause in this package"]
        assert len(pause) == 1
        command = pause[0].command
        assert command is not None and command.command == "heaplens.pausePackage"
        assert list(command.arguments or ()) == [esc]
        assert list(pause[0].diagnostics or ()) == [diags[0]]

        _exclude(lsp, ["esc"])
        await _cleared(lsp, esc)
        # Offered on the package clause: a paused package has no diagnostic to offer it on.
        text = (mod / "esc" / "esc.go").read_text().split("\n")
        line = next(n for n, t in enumerate(text) if t.startswith("package "))
        clause = types.Range(
            start=types.Position(line=line, character=0), end=types.Position(line=line, character=3)
        )
        offered = await lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=esc),
                range=clause,
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert [a.title for a in offered or []] == ["heaplens: resume in this package"]
        resume = (offered or [])[0].command
        assert resume is not None and resume.command == "heaplens.resumePackage"
        assert list(resume.arguments or ()) == [esc]

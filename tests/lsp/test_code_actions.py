"""Code actions: verified fixes with their edits, and the ignore action."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import copy_module
from tests.lsp.harness import log_lines, open_file, session, wait_for, wait_for_diagnostics


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.split("\n")
    for e in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        start, end = e.range.start, e.range.end
        head = "\n".join([*lines[: start.line], lines[start.line][: start.character]])
        tail = "\n".join([lines[end.line][end.character :], *lines[end.line + 1 :]])
        text = head + e.new_text + tail
        lines = text.split("\n")
    return text


async def _code_actions(
    lsp: LanguageClient,
    uri: str,
    rng: types.Range,
    diagnostics: list[types.Diagnostic],
    only: list[types.CodeActionKind] | None = None,
) -> list[types.CodeAction]:
    actions = await lsp.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=types.CodeActionContext(diagnostics=diagnostics, only=only),
        )
    )
    return [a for a in actions or [] if isinstance(a, types.CodeAction)]


async def test_ignore_actions(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    esc = mod / "esc" / "esc.go"
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, esc)
        diags = await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        target = next(d for d in diags if d.message.startswith("moved to heap: x"))
        actions = await _code_actions(lsp, uri, target.range, [target])
        assert actions
        line_action = next(a for a in actions if a.title.endswith(" to line 32"))
        assert line_action.title == "Ignore “moved to heap: x”: add //heaplens:ignore to line 32"
        func_action = next(a for a in actions if "Ignore findings in Moved" in a.title)
        for a in (line_action, func_action):
            assert a.kind == types.CodeActionKind.QuickFix
            assert list(a.diagnostics or []) == [target]
        edits = line_action.edit.changes[uri]  # type: ignore[union-attr,index]
        new_text = _apply(esc.read_text(), list(edits))
        assert "x := 42 //heaplens:ignore" in new_text
        func_text = _apply(esc.read_text(), list(func_action.edit.changes[uri]))  # type: ignore[union-attr,index]
        assert "//heaplens:ignore\nfunc Moved() *int {" in func_text
        lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=new_text)],
            )
        )
        after = await wait_for_diagnostics(
            lsp,
            uri,
            lambda ds: len(ds) > 5 and not any("moved to heap: x" in d.message for d in ds),
        )
    assert len(after) == len(diags) - 1


async def _wait_for_actions(
    lsp: LanguageClient, uri: str, diag: types.Diagnostic, prefix: str
) -> types.CodeAction:
    """Fixes appear once the compiler has verified them, in the background."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        actions = await _code_actions(lsp, uri, diag.range, [diag])
        found = [a for a in actions if a.title.startswith(prefix)]
        if found:
            return found[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no code action starting {prefix!r}")


async def _verified(lsp: LanguageClient, directory: Path) -> None:
    """Until the package's verification has ended: every fix it found is offered."""
    done = f"heaplens: {directory}: "
    await wait_for(
        lambda: [m for m in log_lines(lsp, " verified fix(es)") if m.startswith(done)],
        what="the end of verification",
    )


def _with_fixes(diagnostics: list[types.Diagnostic]) -> bool:
    return any(isinstance(d.data, dict) and d.data.get("fixes") for d in diagnostics)


def _whole(uri_text: str) -> types.Range:
    return types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=uri_text.count("\n") + 1, character=0),
    )


@pytest.mark.parametrize("client", ["vscode", "neovim"])
async def test_verified_fixes_are_code_actions(client: str, tmp_path: Path) -> None:
    mod = copy_module("hotpath", tmp_path)
    path = mod / "hotpath.go"
    async with session(mod, client=client, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, path)
        diags = await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        append = next(d for d in diags if d.message.startswith("append(out"))
        pool = next(d for d in diags if d.message.startswith("&bytes.Buffer{}"))
        boxed = next(d for d in diags if d.message.startswith("floor escapes to heap"))
        pre = await _wait_for_actions(lsp, uri, append, "Preallocate out")
        syncpool = await _wait_for_actions(lsp, uri, pool, "Reuse buf through a sync.Pool")
        actions = {"pre": pre, "pool": syncpool}
        for name, action in actions.items():
            assert action.kind == types.CodeActionKind.QuickFix, name
            assert action.is_preferred, name
            assert "verified" in action.title, action.title
            if action.edit is None:  # the client resolves edits lazily
                actions[name] = await lsp.code_action_resolve_async(action)
        await _verified(lsp, mod)
        # TotalArea is exported: making its parameter generic changes the package's API.
        # Offered or not (that is the engine's call), it is never a quick fix.
        rewrites = [
            a
            for a in await _code_actions(lsp, uri, boxed.range, [boxed])
            if "type parameter" in a.title
        ]
        assert len(rewrites) <= 1, rewrites
        for action in rewrites:
            assert action.kind == types.CodeActionKind.RefactorRewrite, action
            assert action.title.startswith("Change exported API: Make s a type parameter")
            assert not action.is_preferred
            actions["tparam"] = (
                action if action.edit is not None else await lsp.code_action_resolve_async(action)
            )
        # Diagnostics now carry the verified fixes in their data.
        refreshed = await wait_for_diagnostics(lsp, uri, _with_fixes)
        assert any(
            d.data["fixes"][0]["verified"]
            for d in refreshed
            if isinstance(d.data, dict) and d.data.get("fixes")
        )
    original = path.read_text()
    fixed = _apply(original, list(actions["pre"].edit.changes[uri]))  # type: ignore[union-attr,index]
    assert "out := make([]int, 0, len(xs))" in fixed
    fixed = _apply(original, list(actions["pool"].edit.changes[uri]))  # type: ignore[union-attr,index]
    assert "buf := bufPool.Get().(*bytes.Buffer)" in fixed and '"sync"' in fixed
    if "tparam" in actions:
        fixed = _apply(original, list(actions["tparam"].edit.changes[uri]))  # type: ignore[union-attr,index]
        assert "func TotalArea[S Shape](s S) float64" in fixed


async def test_one_menu_never_shows_a_title_twice(tmp_path: Path) -> None:
    mod = copy_module("hotpath", tmp_path)
    path = mod / "hotpath.go"
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, path)
        await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        await _verified(lsp, mod)
        diags = await wait_for_diagnostics(lsp, uri, _with_fixes)
        # Room's return line: floor and wall both escape there.
        floor = next(d for d in diags if d.message.startswith("floor escapes to heap"))
        wall = next(d for d in diags if d.message.startswith("wall escapes to heap"))
        assert floor.range.start.line == wall.range.start.line
        line = floor.range.start.line
        room = types.Range(
            start=types.Position(line=line, character=0),
            end=types.Position(line=line, character=200),
        )
        actions = await _code_actions(lsp, uri, room, [floor, wall])
        titles = [a.title for a in actions]
        assert len(titles) == len(set(titles)), titles
        # The line's directive silences both: one action, naming both, for both diagnostics.
        ignore_line = [a for a in actions if a.title.endswith(f"to line {line + 1}")]
        assert [a.title for a in ignore_line] == [
            "Ignore “floor escapes to heap” and “wall escapes to heap”: "
            f"add //heaplens:ignore to line {line + 1}"
        ]
        assert list(ignore_line[0].diagnostics or []) == [floor, wall]
        ignore_room = [a for a in actions if a.title.startswith("Ignore findings in Room")]
        assert len(ignore_room) == 1
        assert list(ignore_room[0].diagnostics or []) == [floor, wall]
        # A fix anchored on both findings is one action that answers both.
        for a in actions:
            if not a.title.startswith("Ignore"):
                assert list(a.diagnostics or []) == [floor, wall], a

        # The whole file at once: every title once, each verified fix once.
        everything = await _code_actions(lsp, uri, _whole(path.read_text()), diags)
        titles = [a.title for a in everything]
        assert len(titles) == len(set(titles)), titles
        fixes = [t for t in titles if "verified" in t]
        assert any(t.startswith("Preallocate out") for t in fixes), fixes
        assert any(t.startswith("Reuse buf through a sync.Pool") for t in fixes), fixes
        attached = {x["title"] for d in diags for x in d.data["fixes"]}  # type: ignore[index]
        assert sorted(fixes) == sorted(attached)


async def test_only_the_kinds_asked_for(tmp_path: Path) -> None:
    mod = copy_module("hotpath", tmp_path)
    path = mod / "hotpath.go"
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, path)
        await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        await _verified(lsp, mod)
        diags = await wait_for_diagnostics(lsp, uri, _with_fixes)
        whole = _whole(path.read_text())
        every = await _code_actions(lsp, uri, whole, diags)
        kinds = {a.kind for a in every}
        assert types.CodeActionKind.QuickFix in kinds
        assert kinds <= {types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite}

        quick = await _code_actions(lsp, uri, whole, diags, [types.CodeActionKind.QuickFix])
        assert quick == [a for a in every if a.kind == types.CodeActionKind.QuickFix]
        assert not any("exported API" in a.title for a in quick)
        refactors = [a for a in every if a.kind == types.CodeActionKind.RefactorRewrite]
        for only in (types.CodeActionKind.Refactor, types.CodeActionKind.RefactorRewrite):
            assert await _code_actions(lsp, uri, whole, diags, [only]) == refactors, only
        assert await _code_actions(lsp, uri, whole, diags, [types.CodeActionKind.Source]) == []
        both = [types.CodeActionKind.QuickFix, types.CodeActionKind.Refactor]
        assert await _code_actions(lsp, uri, whole, diags, both) == every

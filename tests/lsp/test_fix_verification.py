"""Verified fixes in the editor: what is verified first, how a fix becomes one menu entry
of the right kind, and that a restarted server offers them again without compiling."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import copy_module
from heaplens.fixes import Candidate, VerifiedFix
from heaplens.fixes.edits import Edit
from heaplens.lsp.code_actions import unique, wanted
from heaplens.lsp.documents import DocumentStore
from heaplens.lsp.fix_actions import API_CHANGE, FixVerifier, Offer, verification_order
from heaplens.model import Finding, Kind, Position, Range, Reason, ReasonCode
from tests.lsp.harness import log_lines, open_file, session, wait_for, wait_for_diagnostics
from tests.lsp.recording_client import RecordingClient

# -- what is verified first ------------------------------------------------------------


def _candidate(file: str, summary: str) -> Candidate:
    return Candidate("preallocate", file, "F", summary, (), ())


def test_open_files_are_verified_first_the_active_one_first() -> None:
    docs = DocumentStore()
    candidates = [
        _candidate("/m/a.go", "a1"),
        _candidate("/m/b.go", "b1"),
        _candidate("/m/c.go", "c1"),
        _candidate("/m/d.go", "d1"),
        _candidate("/m/a.go", "a2"),  # e.g. a type parameter, proposed after the others
    ]

    def order() -> list[str]:
        return [c.summary for c in verification_order(candidates, docs)]

    assert order() == ["a1", "a2", "b1", "c1", "d1"]
    docs.open("file:///m/c.go", "/m/c.go", 1, "package m\n")
    docs.open("file:///m/b.go", "/m/b.go", 1, "package m\n")
    # b.go was opened last; the closed files keep the order they were proposed in.
    assert order() == ["b1", "c1", "a1", "a2", "d1"]
    docs.mark_active("file:///m/c.go")  # the user asked for code actions there
    assert order()[:2] == ["c1", "b1"]
    docs.change(
        "file:///m/b.go",
        2,
        [types.TextDocumentContentChangeWholeDocument(text="package m\n\n")],
        "utf-16",
    )
    assert order()[:2] == ["b1", "c1"]


def test_api_changes_are_verified_last() -> None:
    """Each compiles the whole module, and is a refactoring nobody is waiting for."""
    docs = DocumentStore()
    api = Candidate("type-parameter", "/m/a.go", "F", "api", (), (), changes_api=True)
    candidates = [api, _candidate("/m/b.go", "b1"), _candidate("/m/a.go", "a1")]
    docs.open("file:///m/a.go", "/m/a.go", 1, "package m\n")
    assert [c.summary for c in verification_order(candidates, docs)] == ["a1", "b1", "api"]


# -- one fix, one action of the right kind ---------------------------------------------

_FILE = "/m/shape.go"
_SOURCE = b"package m\n\nfunc Total(s Shape) float64 { return s.Area() }\n"


def _finding(line: int, subject: str) -> Finding:
    rng = Range(Position(line, 1), Position(line, 1 + len(subject)))
    return Finding(
        Kind.ESCAPES_TO_HEAP,
        _FILE,
        rng,
        f"{subject} escapes to heap",
        Reason(ReasonCode.INTERFACE, "Total"),
        "Room",
        subject=subject,
    )


def _diagnostic(f: Finding) -> types.Diagnostic:
    start = types.Position(line=f.range.start.line - 1, character=0)
    return types.Diagnostic(
        range=types.Range(start=start, end=start), message=f.message, source="heaplens"
    )


def _verifier(fix: VerifiedFix) -> FixVerifier:
    """A verifier holding ``fix`` as verified against ``_SOURCE``, with a recording
    client, and an analyzer that is only what ``actions`` and ``resolve`` read."""
    docs = DocumentStore()
    docs.open("file:///m/shape.go", _FILE, 1, _SOURCE.decode())
    analyzer: Any = SimpleNamespace(publish=lambda path: None)
    verifier = FixVerifier(RecordingClient(), docs, analyzer)
    key = (fix.kind, fix.file, "Total", "Make s a type parameter")
    verifier._install("/m", {key: verifier._entry(fix, {_FILE: _SOURCE})})
    return verifier


def _fix(changes_api: bool, anchors: tuple[Finding, ...]) -> VerifiedFix:
    note = "; changes the exported API of Total" if changes_api else ""
    return VerifiedFix(
        kind="type-parameter",
        file=_FILE,
        title=f"Make s a type parameter: 2 heap escapes removed (verified{note})",
        anchors=tuple((f.file, f.range) for f in anchors),
        scope_function="",
        edits=(Edit(24, 29, "S"),),  # Shape
        changes_api=changes_api,
    )


def test_an_api_change_is_a_refactor_offered_once_for_all_its_findings() -> None:
    floor, wall = _finding(5, "floor"), _finding(5, "wall")
    verifier = _verifier(_fix(True, (floor, wall)))
    found = [(floor, [_diagnostic(floor)]), (wall, [_diagnostic(wall)])]
    offers = verifier.actions(_FILE, found, resolve=True)
    assert len(offers) == 1
    action = offers[0].action
    assert action.kind == types.CodeActionKind.RefactorRewrite
    assert not action.is_preferred
    assert action.title == f"{API_CHANGE}Make s a type parameter: 2 heap escapes removed (verified)"
    assert action.diagnostics == [_diagnostic(floor), _diagnostic(wall)]
    assert action.edit is None
    resolved = verifier.resolve(action)
    assert resolved.edit is not None and resolved.edit.changes is not None
    assert [e.new_text for e in resolved.edit.changes["file:///m/shape.go"]] == ["S"]

    quick = _verifier(_fix(False, (floor,))).actions(_FILE, found, resolve=False)
    assert [(o.action.kind, o.action.is_preferred) for o in quick] == [
        (types.CodeActionKind.QuickFix, True)
    ]
    assert quick[0].action.title.startswith("Make s a type parameter")
    assert quick[0].action.edit is not None


def test_a_fix_whose_text_changed_is_not_offered() -> None:
    floor = _finding(5, "floor")
    verifier = _verifier(_fix(False, (floor,)))
    offer = verifier.actions(_FILE, [(floor, [])], resolve=True)[0]
    verifier.docs.change(
        "file:///m/shape.go",
        2,
        [types.TextDocumentContentChangeWholeDocument(text=_SOURCE.decode() + "// edited\n")],
        "utf-16",
    )
    assert verifier.actions(_FILE, [(floor, [])], resolve=True) == []
    assert verifier.resolve(offer.action).edit is None


# -- one title once ---------------------------------------------------------------------


def _offer(title: str, text: str, line: int, *diagnostics: str) -> Offer:
    pos = types.Position(line=line - 1, character=0)
    edit = types.WorkspaceEdit(
        changes={"file:///m/a.go": [types.TextEdit(types.Range(pos, pos), text)]}
    )
    diags = [
        types.Diagnostic(range=types.Range(pos, pos), message=m, source="heaplens")
        for m in diagnostics
    ]
    return Offer(
        types.CodeAction(
            title=title, kind=types.CodeActionKind.QuickFix, diagnostics=diags, edit=edit
        ),
        line,
    )


def test_unique_merges_twins_and_tells_apart_namesakes() -> None:
    actions = unique(
        [
            _offer("Ignore findings in F: add it above", "//x\n", 3, "a"),
            _offer("Ignore the line", " //x", 4, "a"),
            _offer("Ignore findings in F: add it above", "//x\n", 3, "b"),  # same edit
            _offer("Ignore findings in this function", "//x\n", 10, "c"),
            _offer("Ignore findings in this function", "//x\n", 20, "d"),  # another edit
        ]
    )
    assert [(a.title, [d.message for d in a.diagnostics or []]) for a in actions] == [
        ("Ignore findings in F: add it above", ["a", "b"]),
        ("Ignore the line", ["a"]),
        ("Ignore findings in this function (line 10)", ["c"]),
        ("Ignore findings in this function (line 20)", ["d"]),
    ]


def test_only_follows_the_kind_hierarchy() -> None:
    quickfix, rewrite = "quickfix", "refactor.rewrite"
    assert wanted(quickfix, None) and wanted(rewrite, [])
    assert wanted(quickfix, [types.CodeActionKind.QuickFix])
    assert not wanted(rewrite, [types.CodeActionKind.QuickFix])
    assert wanted(rewrite, [types.CodeActionKind.Refactor])
    assert wanted(rewrite, ["refactor.rewrite"])
    assert not wanted(rewrite, ["refactor.extract"])
    assert not wanted("refactorx", ["refactor"])
    assert wanted(quickfix, [types.CodeActionKind.Empty])
    assert not wanted(quickfix, [types.CodeActionKind.Source])


def test_both_kinds_are_advertised() -> None:
    from heaplens.lsp.server import create_server

    server = create_server()
    options = server.protocol.fm.feature_options[types.TEXT_DOCUMENT_CODE_ACTION]
    assert options.code_action_kinds == [
        types.CodeActionKind.QuickFix,
        types.CodeActionKind.RefactorRewrite,
    ]


# -- across a restart ---------------------------------------------------------------------


def _counting_go(root: Path) -> tuple[Path, Path]:
    """A ``go`` that writes each command line to a log and runs the real one. It reports
    a GOTOOLDIR whose ``compile`` logs too before running the real compiler, so the
    packages heaplens compiles without the go command are counted as well. Returns
    (the directory to put first on PATH, the log)."""
    real_go = shutil.which("go")
    assert real_go is not None
    real_tools = subprocess.run(
        [real_go, "env", "GOTOOLDIR"], capture_output=True, text=True, check=True
    ).stdout.strip()
    bin_dir, tool_dir, record = root / "bin", root / "tool", root / "runs.log"
    bin_dir.mkdir(parents=True)
    tool_dir.mkdir()
    record.write_text("")
    for tool in Path(real_tools).iterdir():
        if tool.name != "compile":
            (tool_dir / tool.name).symlink_to(tool)
    (tool_dir / "compile").write_text(
        f'#!/bin/bash\necho "compile $*" >> {record}\nexec {real_tools}/compile "$@"\n'
    )
    (bin_dir / "go").write_text(
        "#!/bin/bash\n"
        "set -o pipefail\n"
        f'echo "go $*" >> {record}\n'
        'if [ "$1" = env ]; then\n'
        f'  {real_go} "$@" | sed \'s#"GOTOOLDIR": "[^"]*"#"GOTOOLDIR": "{tool_dir}"#\'\n'
        "  exit $?\n"
        "fi\n"
        f'exec {real_go} "$@"\n'
    )
    for script in (bin_dir / "go", tool_dir / "compile"):
        script.chmod(0o755)
    return bin_dir, record


def _compiles(record: Path) -> list[str]:
    """Every run that may compile: the compiler itself, or a go command but ``go env``."""
    return [r for r in record.read_text().splitlines() if r.split()[:2] != ["go", "env"]]


async def _verified_fixes(lsp: LanguageClient, mod: Path) -> list[str]:
    """The verified fixes offered in hotpath.go once its package's verification ended."""
    path = mod / "hotpath.go"
    uri = open_file(lsp, path)
    await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
    done = f"heaplens: {mod}: "
    await wait_for(
        lambda: [m for m in log_lines(lsp, " verified fix(es)") if m.startswith(done)],
        what="the end of verification",
    )
    end = types.Position(line=path.read_text().count("\n") + 1, character=0)
    actions = await lsp.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(line=0, character=0), end=end),
            context=types.CodeActionContext(diagnostics=lsp.diagnostics[uri]),
        )
    )
    return sorted(
        a.title
        for a in actions or []
        if isinstance(a, types.CodeAction)
        and a.kind == types.CodeActionKind.QuickFix
        and "verified" in a.title
    )


async def test_a_restarted_server_offers_the_verified_fixes_without_compiling(
    tmp_path: Path,
) -> None:
    mod = copy_module("hotpath", tmp_path)
    path_dir, record = _counting_go(tmp_path / "counting-go")
    env = dict(os.environ, PATH=f"{path_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    cache = tmp_path / "cache"

    async with session(mod, cache_dir=cache, env=env) as lsp:
        first = await _verified_fixes(lsp, mod)
    assert any(t.startswith("Preallocate out") for t in first), first
    assert any(t.startswith("Reuse buf through a sync.Pool") for t in first), first
    # The counting works: the analysis and each verified fix were compiled.
    assert len(_compiles(record)) >= 1 + len(first), record.read_text()

    record.write_text("")
    async with session(mod, cache_dir=cache, env=env) as lsp:
        again = await _verified_fixes(lsp, mod)
        assert log_lines(lsp, ": 0 compiled, 1 from cache"), [m.message for m in lsp.log_messages]
    assert again == first
    assert _compiles(record) == [], record.read_text()

"""Findings moved through edits touch only what moved: a keystroke on a line without
findings moves none, Enter moves the findings below it and keeps the ones above the same
objects, and the result is always what moving every finding through every edit gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from conftest import write_big_package
from heaplens.analysis import Engine, Options
from heaplens.cache import ResultCache
from heaplens.lsp.documents import (
    DocumentStore,
    Edit,
    FileFindings,
    Shifted,
    apply_change,
    shift_finding,
)
from heaplens.model import Finding, Position
from heaplens.positions import LineIndex


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[Finding, ...]]:
    mod = tmp_path_factory.mktemp("shifting")
    (mod / "go.mod").write_text("module example.com/shifting\n\ngo 1.21\n")
    path = write_big_package(mod, "big", 40)
    engine = Engine(Options(tests=False), ResultCache(mod.parent / "cache"))
    result = engine.check(["./big"], str(mod))
    findings = tuple(f for f in result.findings if f.file == str(path))
    assert len(findings) >= 100
    return path, findings


def _store(path: Path, findings: tuple[Finding, ...]) -> tuple[DocumentStore, str]:
    docs = DocumentStore()
    uri = path.as_uri()
    docs.open(uri, str(path), 1, path.read_text())
    docs.set_findings(str(path), FileFindings(findings))
    return docs, uri


def _insert(line: int, character: int, text: str) -> types.TextDocumentContentChangePartial:
    at = types.Position(line=line, character=character)
    return types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text=text)


def test_a_key_on_a_line_without_findings_moves_nothing(
    analysed: tuple[Path, tuple[Finding, ...]],
) -> None:
    path, findings = analysed
    docs, uri = _store(path, findings)
    blank = path.read_text().splitlines().index("")  # the line after the package clause
    moved = docs.change(uri, 2, [_insert(blank, 0, "x")], "utf-16")
    assert not moved
    after = docs.findings(str(path)).findings
    assert all(a is b for a, b in zip(after, findings, strict=True))
    assert docs.shifted_findings == 0


def test_enter_moves_only_the_findings_below(
    analysed: tuple[Path, tuple[Finding, ...]],
) -> None:
    path, findings = analysed
    docs, uri = _store(path, findings)
    lines = path.read_text().splitlines()
    middle = next(i for i in range(len(lines) // 2, len(lines)) if lines[i] == "}") + 1
    assert docs.change(uri, 2, [_insert(middle, 0, "\n")], "utf-16")
    after = docs.findings(str(path)).findings
    below = 0
    for old, new in zip(findings, after, strict=True):
        if old.range.start.line <= middle:
            assert new is old
        else:
            below += 1
            assert new.range.start.line == old.range.start.line + 1
            assert new.range.start.column == old.range.start.column
    assert 0 < below < len(findings)
    assert docs.shifted_findings == below


def test_shifting_agrees_with_moving_every_finding(
    analysed: tuple[Path, tuple[Finding, ...]],
) -> None:
    path, findings = analysed
    docs, uri = _store(path, findings)
    text = path.read_bytes()
    lines = text.decode().splitlines()
    some = findings[len(findings) // 3]
    row, col = some.range.start.line - 1, some.range.start.column - 1
    whole = types.TextDocumentContentChangeWholeDocument
    edits: list[types.TextDocumentContentChangeEvent] = [
        _insert(row, col, "  "),  # in front of a finding, on its line
        _insert(row, col + 5, "é"),  # inside it: stretches it
        _insert(10, 0, "// a\n// b\n"),  # two lines above most of them
        types.TextDocumentContentChangePartial(  # cut through several, joining lines
            range=types.Range(
                start=types.Position(line=20, character=3),
                end=types.Position(line=27, character=1),
            ),
            text="",
        ),
        _insert(len(lines) - 3, 0, "ab"),
        whole(text=(text.decode() + "\n// tail\n").replace("package big", "package big ")),
    ]
    reference = list(findings)
    for version, edit in enumerate(edits, 2):
        current = docs.get(uri)
        assert current is not None
        _, moved = apply_change(LineIndex(current.text), edit, "utf-16")
        reference = [g for f in reference if (g := shift_finding(f, str(path), moved)) is not None]
        docs.change(uri, version, [edit], "utf-16")
        assert list(docs.findings(str(path)).findings) == reference, f"after edit {version}"


@pytest.mark.parametrize("everything", [False, True])
def test_a_burst_read_once_moves_like_each_edit_in_turn(
    analysed: tuple[Path, tuple[Finding, ...]], everything: bool
) -> None:
    path, findings = analysed
    docs, uri = _store(path, findings)
    lines = path.read_text().splitlines()
    middle = next(i for i in range(len(lines) // 2, len(lines)) if lines[i] == "}") + 1
    # Three comment lines typed in the middle, key by key; with ``everything``, also a
    # line joined near the top, text typed in front of a finding and lines replaced near
    # the end. Nothing reads the findings in between.
    typed = "// one\n// two\n// three\n"
    burst: list[types.TextDocumentContentChangeEvent] = []
    for i, ch in enumerate(typed):
        before = typed[:i]
        burst.append(_insert(middle + before.count("\n"), i - before.rfind("\n") - 1, ch))
    if everything:
        some = findings[len(findings) // 4]
        row, col = some.range.start.line - 1, some.range.start.column - 1
        burst += [
            _replace((5, 0), (6, 0), ""),
            _insert(row - 1, col, "é "),
            _replace((len(lines) - 12, 0), (len(lines) - 8, 0), "\n"),
        ]
    reference = list(findings)
    text = path.read_bytes()
    for edit in burst:
        index, moved = apply_change(LineIndex(text), edit, "utf-16")
        assert index.starts == LineIndex(index.text).starts  # carried over, not found
        text = index.text
        reference = [g for f in reference if (g := shift_finding(f, str(path), moved)) is not None]
    for version, edit in enumerate(burst, 2):
        docs.change(uri, version, [edit], "utf-16")
    doc = docs.get(uri)
    assert doc is not None and doc.text == text
    after = docs.findings(str(path)).findings
    assert list(after) == reference
    if not everything:  # the findings above the typing are the same objects still
        pairs = zip(findings, after, strict=True)
        above = [(old, new) for old, new in pairs if old.range.end.line < middle]
        assert above and all(new is old for old, new in above)


def _replace(
    start: tuple[int, int], end: tuple[int, int], text: str
) -> types.TextDocumentContentChangePartial:
    return types.TextDocumentContentChangePartial(
        range=types.Range(
            start=types.Position(line=start[0], character=start[1]),
            end=types.Position(line=end[0], character=end[1]),
        ),
        text=text,
    )


def test_hover_and_hints_after_edits_move_only_what_they_show(
    analysed: tuple[Path, tuple[Finding, ...]],
) -> None:
    """A request reads the findings of a few lines: after an Enter above most findings
    and a burst of edits around them, it sees what moving every finding gives, and moves
    only the findings it shows (the store's findings stay as they were, to be moved by
    the next full read)."""
    path, findings = analysed
    docs, uri = _store(path, findings)
    reference_docs, reference_uri = _store(path, findings)
    lines = path.read_text().splitlines()
    middle = next(i for i in range(len(lines) // 2, len(lines)) if lines[i] == "}") + 1
    some = findings[len(findings) // 4]
    row, col = some.range.start.line - 1, some.range.start.column - 1
    burst = [
        _insert(middle, 0, "\n"),
        _insert(middle, 0, "// x\n// y"),
        _insert(row, col, "é "),  # in front of a finding
        _insert(row, col + 4, "z"),  # inside it: stretches it
        _replace((row + 3, 0), (row + 6, 0), "// gone\n"),  # lines replaced: cut through
    ]
    for version, edit in enumerate(burst, 2):
        docs.change(uri, version, [edit], "utf-16")
        reference_docs.change(reference_uri, version, [edit], "utf-16")
    everything = reference_docs.findings(str(path)).findings  # moved, all of them
    assert reference_docs.shifted_findings > 0
    view = docs.index(str(path))
    last = max(f.range.end.line for f in everything)
    for line in range(1, last + 2):
        assert view.on_line(line) == [
            f for f in everything if f.range.start.line <= line <= f.range.end.line
        ], f"line {line}"
    for first in range(1, last + 2, 7):
        assert view.ending_on(first, first + 50) == [
            f for f in everything if first <= f.range.end.line <= first + 50
        ], f"lines {first}-{first + 50}"
    assert docs.shifted_findings == 0
    assert docs.moving(str(path))
    assert docs.findings(str(path)).findings == everything


def test_whether_an_edit_moves_a_finding_is_what_its_spans_say(
    analysed: tuple[Path, tuple[Finding, ...]],
) -> None:
    path, findings = analysed
    shifted = Shifted.of(findings, str(path))
    last = max(high for _low, high in shifted.spans)
    for line in range(1, last + 3):
        for edit in (
            Edit(Position(line, 1), Position(line, 1), Position(line, 2)),  # a key
            Edit(Position(line, 3), Position(line, 3), Position(line + 1, 1)),  # Enter
            Edit(Position(line, 1), Position(line + 2, 1), Position(line, 1)),  # lines cut
        ):
            first, moved_to = edit.start.line, edit.last_line_moved
            spans = shifted.spans
            expected = any(high >= first and low <= moved_to for low, high in spans)
            assert shifted.affected_by(edit) == expected, (line, edit)

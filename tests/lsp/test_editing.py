"""Edits: findings follow the text, stale results are never published, bursts of edits
cost few compiles, and the final findings match the final text."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types

from conftest import copy_module
from tests.lsp.harness import (
    analyses_finished,
    analysis_finished,
    change,
    finished_before,
    heaplens_diagnostics,
    log_lines,
    open_file,
    record_publishes,
    session,
    wait_for,
    wait_for_diagnostics,
)


def _line(path: Path, needle: str) -> tuple[int, str]:
    for i, line in enumerate(path.read_text().splitlines()):
        if needle in line:
            return i, line
    raise AssertionError(needle)


async def test_an_edit_that_removes_an_escape(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    esc = mod / "esc" / "esc.go"
    async with session(mod, init_options={"debounceMs": 50}, cache_dir=tmp_path / "c") as lsp:
        published = record_publishes(lsp)
        uri = open_file(lsp, esc)
        await wait_for_diagnostics(
            lsp, uri, lambda ds: any(d.message.startswith("&Config{...}") for d in ds)
        )
        # `return &Config{Name: "x"}` becomes `return nil`: nothing escapes there any more.
        n, line = _line(esc, 'return &Config{Name: "x"}')
        col = line.index("&Config")
        change(lsp, uri, 2, (n, col), (n, col + len('&Config{Name: "x"}')), "nil")
        after = await wait_for_diagnostics(
            lsp, uri, lambda ds: not any(d.message.startswith("&Config{...}") for d in ds)
        )
    assert any("moved to heap: x" in d.message for d in after)  # the rest is still there
    assert not any("last build that compiled" in d.message for d in after)
    final = [p for p in published if p.uri == uri][-1]
    assert final.version == 2
    assert not any(d.message.startswith("&Config{...}") for d in final.diagnostics)


async def test_findings_follow_edits_before_the_next_analysis(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    esc = mod / "esc" / "esc.go"
    # A long debounce: what we see after the edit can only be the moved findings.
    async with session(mod, init_options={"debounceMs": 10_000}, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, esc)
        before = await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        target = next(d for d in before if d.message.startswith("&Config{...} escapes"))
        # Two new lines above everything, and text typed in front of the expression.
        change(lsp, uri, 2, (0, 0), (0, 0), "// one\n// two\n")
        line = target.range.start.line + 2
        change(
            lsp,
            uri,
            3,
            (line, target.range.start.character),
            (line, target.range.start.character),
            "  ",
        )
        moved = await wait_for_diagnostics(
            lsp,
            uri,
            lambda ds: any(
                d.range.start.line == line for d in ds if d.message.startswith("&Config{...}")
            ),
        )
        shifted = next(d for d in moved if d.message.startswith("&Config{...} escapes"))
        assert shifted.range.start.character == target.range.start.character + 2
        assert shifted.range.end.character == target.range.end.character + 2
        assert len(moved) == len(before)


async def test_a_burst_of_edits_that_move_findings_is_published_once(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    esc = mod / "esc" / "esc.go"
    # A long debounce: every publish after the edits is one of moved findings.
    async with session(mod, init_options={"debounceMs": 10_000}, cache_dir=tmp_path / "c") as lsp:
        published = record_publishes(lsp)
        uri = open_file(lsp, esc)
        before = await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        target = next(d for d in before if d.message.startswith("&Config{...} escapes"))
        already = len(published)
        # Fifty Enters at the top, sent back to back: each moves every finding.
        for version in range(2, 52):
            change(lsp, uri, version, (0, 0), (0, 0), "\n")
        await wait_for(lambda: any(p.version == 51 for p in published), 30, "v51")
        # A save analyses now, and its publish supersedes any the burst still had due:
        # once it has finished, the burst can publish nothing more.
        finished = analyses_finished(lsp)
        lsp.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        await analysis_finished(lsp, finished)
        after = published[already:]
    # Each publish converts and sends every diagnostic of the file: one per edit starved
    # hover and inlay hints for as long as the client kept typing.
    assert len(after) <= 5, [p.version for p in after]
    assert after[-1].version == 51
    moved = next(d for d in after[-1].diagnostics if d.message == target.message)
    assert moved.range.start.line == target.range.start.line + 50
    assert len(after[-1].diagnostics) == len(before)


async def test_fifty_edits_cost_few_compiles(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    esc = mod / "esc" / "esc.go"
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, esc)
        await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        await analysis_finished(lsp, 0)
        finished = analyses_finished(lsp)
        start = len(log_lines(lsp, "analysing"))
        n, _ = _line(esc, "func Moved() *int {")
        # Type a new function, one character every 40 ms: 50 edits in 2 s.
        source = "func Extra() *int { zz := 7 + 1; return &zz } // typed by hand"
        change(lsp, uri, 2, (n, 0), (n, 0), "\n")
        for col, ch in enumerate(source[:49]):
            change(lsp, uri, 3 + col, (n, col), (n, col), ch)
            await asyncio.sleep(0.04)
        final = await wait_for_diagnostics(
            lsp, uri, lambda ds: any("moved to heap: zz" in d.message for d in ds), timeout=60
        )
        # While typing, an edit's analysis is always due: idle comes after the last one.
        await analysis_finished(lsp, finished)
        analyses = len(log_lines(lsp, "analysing")) - start
    assert analyses <= 3, analyses
    typed = next(d for d in final if "moved to heap: zz" in d.message)
    assert typed.range.start.line == n  # where the final text has it
    assert typed.range.start.character == source.index("zz")


async def test_results_for_old_versions_are_dropped(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    esc = mod / "esc" / "esc.go"
    async with session(mod, init_options={"debounceMs": 0}, cache_dir=tmp_path / "c") as lsp:
        published = record_publishes(lsp)
        uri = open_file(lsp, esc)
        await wait_for_diagnostics(lsp, uri, lambda ds: len(ds) > 5)
        n, line = _line(esc, 'return &Config{Name: "x"}')
        col = line.index("&Config")
        width = len('&Config{Name: "x"}')
        for version in range(2, 12, 2):
            # Remove the escape, then put it back straight away: the analysis of the text
            # without it may finish, but must never be shown for the text with it.
            change(lsp, uri, version, (n, col), (n, col + width), "nil")
            await asyncio.sleep(0.03)
            change(lsp, uri, version + 1, (n, col), (n, col + 3), '&Config{Name: "x"}')
            await asyncio.sleep(0.03)
        await wait_for(lambda: any(p.version == 11 for p in published if p.uri == uri), 30, "v11")
        # Every analysis started for an older version has ended: none published late.
        await analysis_finished(lsp, finished_before(lsp, uri, 11))
    mine = [p for p in published if p.uri == uri]
    for p in mine:
        has_config = any(d.message.startswith("&Config{...}") for d in p.diagnostics)
        if p.version is not None and p.version % 2 == 1 and p.version > 1:
            assert has_config, f"version {p.version} shown without the escape it has"
    assert mine[-1].version == 11
    assert any(d.message.startswith("&Config{...}") for d in mine[-1].diagnostics)


async def test_an_edit_republishes_only_files_whose_diagnostics_changed(tmp_path: Path) -> None:
    mod = tmp_path / "three"
    (mod / "p").mkdir(parents=True)
    (mod / "go.mod").write_text("module example.com/three\n\ngo 1.21\n")
    keep = mod / "p" / "keep.go"
    keep.write_text(
        "package p\n\nvar kept []*int\n\nfunc Keep(p *int) { kept = append(kept, p) }\n"
    )
    use = mod / "p" / "use.go"
    use.write_text("package p\n\nfunc Use() {\n\tx := 1\n\tKeep(&x)\n}\n")
    alone = mod / "p" / "alone.go"
    alone.write_text("package p\n\nfunc Alone() *int {\n\ty := 2\n\treturn &y\n}\n")
    async with session(mod, init_options={"debounceMs": 0}, cache_dir=tmp_path / "c") as lsp:
        published = record_publishes(lsp)
        keep_uri = open_file(lsp, keep)
        use_uri = open_file(lsp, use)
        alone_uri = open_file(lsp, alone)
        for uri, name in ((use_uri, "x"), (alone_uri, "y")):
            await wait_for_diagnostics(
                lsp, uri, lambda ds, n=name: any(f"moved to heap: {n}" in d.message for d in ds)
            )
        # The analysis, then the verification of its fixes, which republishes with them.
        await analysis_finished(lsp, 0)
        await wait_for(lambda: log_lines(lsp, "verified fix(es)"), 60, "fix verification")

        def count(uri: str) -> int:
            return sum(1 for p in published if p.uri == uri)

        # A comment in use.go: use.go is published with its new version; alone.go's
        # diagnostics are what the client already holds, so they are not sent again.
        alone_before = count(alone_uri)
        change(lsp, use_uri, 2, (0, 0), (0, 0), "// a comment\n")
        await wait_for(lambda: any(p.version == 2 for p in published if p.uri == use_uri), 30, "v2")
        verified = len(log_lines(lsp, "verified fix(es)"))
        await analysis_finished(lsp, finished_before(lsp, use_uri, 2))
        await wait_for(
            lambda: len(log_lines(lsp, "verified fix(es)")) > verified, 60, "fix verification"
        )
        assert count(alone_uri) == alone_before
        assert any("moved to heap: x" in d.message for d in heaplens_diagnostics(lsp, use_uri))

        # Keep stops keeping its argument: an edit to keep.go changes use.go's findings,
        # so use.go is republished.
        change(lsp, keep_uri, 2, (4, 0), (5, 0), "func Keep(p *int) { _ = p }\n")
        await wait_for(
            lambda: (
                not any("moved to heap: x" in d.message for d in heaplens_diagnostics(lsp, use_uri))
            ),
            30,
            "use.go without its escape",
        )
        assert any("moved to heap: y" in d.message for d in heaplens_diagnostics(lsp, alone_uri))


async def test_non_test_files_are_published_before_the_test_binary_is_built(
    tmp_path: Path,
) -> None:
    """A test binary takes longest to build (the package again, its tests, a link); the
    file being edited must not wait for it."""
    mod = tmp_path / "withtests"
    (mod / "p").mkdir(parents=True)
    (mod / "go.mod").write_text("module example.com/withtests\n\ngo 1.21\n")
    code = mod / "p" / "p.go"
    code.write_text("package p\n\nfunc New() *int {\n\tx := 1\n\treturn &x\n}\n")
    (mod / "p" / "p_test.go").write_text(
        'package p\n\nimport "testing"\n\nvar sink *int\n\n'
        "func TestNew(t *testing.T) {\n\ty := 2\n\tsink = &y\n}\n"
    )
    async with session(mod, init_options={"debounceMs": 0}, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, code)
        await wait_for_diagnostics(lsp, uri, lambda ds: any("x" in d.message for d in ds))
        await wait_for(lambda: log_lines(lsp, " compiled, "), 30, "the first analysis")
        # One timeline of publishes and log lines, in the order the client got them.
        events: list[tuple[str, object]] = []
        features = lsp.protocol.fm.features
        for method, label in (
            ("textDocument/publishDiagnostics", "publish"),
            ("window/logMessage", "log"),
        ):
            original = features[method]

            def record(params: object, original: object = original, label: str = label) -> None:
                events.append((label, params))
                original(params)  # type: ignore[operator]

            features[method] = record

        change(lsp, uri, 2, (6, 0), (6, 0), "func Two() *int {\n\tz := 3\n\treturn &z\n}\n")
        await wait_for(
            lambda: any(
                kind == "log" and " compiled, " in p.message  # type: ignore[attr-defined]
                for kind, p in events
            ),
            60,
            "the analysis of the edit",
        )
        order = [
            "publish-v2"
            if kind == "publish"
            and p.uri == uri  # type: ignore[attr-defined]
            and p.version == 2  # type: ignore[attr-defined]
            and any("moved to heap: z" in d.message for d in p.diagnostics)  # type: ignore[attr-defined]
            else "done"
            if kind == "log" and " compiled, " in p.message  # type: ignore[attr-defined]
            else ""
            for kind, p in events
        ]
        order = [o for o in order if o]
        assert order[:2] == ["publish-v2", "done"], order
        done = next(p.message for kind, p in events if kind == "log" and " compiled, " in p.message)  # type: ignore[attr-defined]
        assert ": 2 compiled, " in done, done  # the plain package and its test binary

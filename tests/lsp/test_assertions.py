"""A broken assertion over stdio: the real server shows it as an Error diagnostic
whatever its kinds setting says, a misspelt directive as a Warning, and both clear when
the code is fixed."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.lsp.harness import (
    change,
    open_file,
    record_publishes,
    session,
    wait_for,
    wait_for_diagnostics,
)

BROKEN = """\
package a

type T struct{ a int }

func New() *T {
	p := &T{1} //heaplens:noescape
	return p
}

func Typo() {
	//gcassert:noesacpe
	_ = 1
}
"""

FIXED = """\
package a

type T struct{ a int }

func New() T {
	p := T{1} //heaplens:noescape
	return p
}
"""


async def test_a_broken_assertion_is_an_error_that_clears_when_fixed(tmp_path: Path) -> None:
    mod = tmp_path / "m"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/a\n\ngo 1.22\n")
    go = mod / "a.go"
    go.write_text(BROKEN)
    # Only inlining notes asked for: the assertion is shown all the same.
    config = {"kinds": ["inlining"]}
    async with session(
        mod,
        init_options={"debounceMs": 50},
        configuration=config,
        cache_dir=tmp_path / "c",
    ) as lsp:
        published = record_publishes(lsp)
        uri = open_file(lsp, go)
        before = await wait_for_diagnostics(
            lsp, uri, lambda ds: any(d.code == "assertion" for d in ds)
        )
        broken = next(d for d in before if d.code == "assertion")
        assert broken.severity == types.DiagnosticSeverity.Error
        assert broken.message == (
            "//heaplens:noescape broken: &T{...} escapes to heap (returned to the caller)"
        )
        assert (broken.range.start.line, broken.range.start.character) == (5, 1)
        related = broken.related_information or []
        assert [r.location.range.start for r in related] == [types.Position(line=5, character=6)]
        typo = next(d for d in before if d.code == "directive")
        assert typo.severity == types.DiagnosticSeverity.Warning
        assert "did you mean //gcassert:noescape?" in typo.message
        assert not any(d.code == "escapes-to-heap" for d in before)

        lines = BROKEN.count("\n")
        change(lsp, uri, 2, (0, 0), (lines, 0), FIXED)
        await wait_for(
            lambda: any(p.version == 2 for p in published if p.uri == uri), 60, "version 2"
        )
        after = await wait_for_diagnostics(
            lsp, uri, lambda ds: not any(d.code in ("assertion", "directive") for d in ds)
        )
    assert all(d.severity != types.DiagnosticSeverity.Error for d in after)
    final = [p for p in published if p.uri == uri][-1]
    assert final.version == 2
    assert not any(d.code in ("assertion", "directive") for d in final.diagnostics)

"""A fix kind is one module plus one registry line: a toy fixer defined here, registered
for the test, goes through the real service and the real compiler like the built-ins.

The toy hoists ``errors.New("literal")`` out of a function into a package variable, so
the error is allocated once instead of on every call that fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from heaplens.analysis import Engine, Options
from heaplens.cache import ResultCache
from heaplens.fixes import registry
from heaplens.fixes.edits import Edit
from heaplens.fixes.fixer import (
    Proposal,
    Refusal,
    Verdict,
    accept_if_gone,
    off_the_heap,
)
from heaplens.fixes.model import Alternative, Candidate
from heaplens.fixes.service import FixService, disk_source
from heaplens.model import HEAP_KINDS, Finding, Kind
from heaplens.syntax import SourceFile
from tests.fixes.runner import Case, assert_clean_build, heap_escapes, module

HOIST = "hoist-error"
_NEW = re.compile(rb'errors\.New\(("[^"\\]*")\)')


class HoistError:
    """``return errors.New("negative")`` → ``return errNegative``, with
    ``var errNegative = errors.New("negative")`` above the function."""

    kind = HOIST

    def candidates(self, proposal: Proposal) -> Iterator[Candidate]:
        for src in proposal.files:
            for f in proposal.findings:
                ours = f.file == src.path and f.kind is Kind.ESCAPES_TO_HEAP
                if ours and f.reason.inlined_from == "errors.New":
                    cand = self._candidate(f, src)
                    if cand is not None:
                        yield cand

    def _candidate(self, f: Finding, src: SourceFile) -> Candidate | None:
        start = src.offset(f.range.start)
        if start is None:
            return None
        line_end = src.source.find(b"\n", start)
        call = _NEW.search(src.source, src.source.rfind(b"\n", 0, start) + 1, line_end)
        fn = src.source.rfind(b"\nfunc ", 0, start)
        if call is None or fn < 0:
            return None
        words = re.findall(r"[A-Za-z]+", call.group(1).decode())
        name = "err" + "".join(w.capitalize() for w in words)
        edits = (
            Edit(fn + 1, fn + 1, f"var {name} = errors.New({call.group(1).decode()})\n\n"),
            Edit(call.start(), call.end(), name),
        )
        return Candidate(
            kind=HOIST,
            file=src.path,
            function=f.function,
            summary=f"Hoist the error into {name}",
            anchors=((f.file, f.range),),
            alternatives=(Alternative(edits, f"Hoist the error into {name}"),),
            scope_function=f.function,
            adds_variable=name,
        )

    def accept(self, candidate: Candidate, verdict: Verdict) -> Refusal | None:
        return accept_if_gone(verdict)

    def title(self, candidate: Candidate, alternative: Alternative, verdict: Verdict) -> str:
        return off_the_heap(candidate, alternative, verdict)


CHECK = Case(
    "hoisted",
    'import "errors"\n\n'
    'func Check(n int) error {\n\tif n < 0 {\n\t\treturn errors.New("negative")\n\t}\n'
    "\treturn nil\n}",
    True,
)


@pytest.fixture
def hoist() -> Iterator[HoistError]:
    with registry.register(HoistError()) as fixer:
        assert isinstance(fixer, HoistError)
        yield fixer


def test_a_registered_fixer_is_proposed_verified_and_offered(
    hoist: HoistError, tmp_path: Path
) -> None:
    mod = module(tmp_path, CHECK)
    assert heap_escapes(mod, "Check") == 1
    engine = Engine(Options(), ResultCache(None))
    result = engine.check(["."], str(mod))
    service = FixService(engine)
    query = service.query_for(str(mod))
    assert query is not None
    fix = service.first(query, result.findings, disk_source, (HOIST,))
    assert not isinstance(fix, Refusal), fix
    assert fix.kind == HOIST and fix.removed_escapes == 1
    assert fix.title == (
        "Hoist the error into errNegative: keeps &errors.errorString{...} in Check "
        "off the heap (verified)"
    )
    text = fix.fixed.decode()
    assert 'var errNegative = errors.New("negative")\n\nfunc Check' in text
    assert "\t\treturn errNegative\n" in text
    (mod / "p.go").write_bytes(fix.fixed)
    assert_clean_build(mod)
    # The named allocation is gone from the function; the one left is the variable's,
    # made once at init.
    assert heap_escapes(mod, "Check") == 0
    after = engine.check(["."], str(mod))
    assert [f.function for f in after.findings if f.kind in HEAP_KINDS] in ([], [""])


def test_a_registered_kind_is_one_of_every_run(hoist: HoistError, tmp_path: Path) -> None:
    """Without naming it, ``fix`` (``fix_all``) and the check's attach take it too."""
    assert HOIST in registry.kinds() and registry.lookup(HOIST) is hoist
    mod = module(tmp_path, CHECK)
    engine = Engine(Options(), ResultCache(None))
    run = FixService(engine).fix_all(["."], str(mod))
    assert [f.kind for f in run.applied] == [HOIST]
    assert list(run.files) == [str(mod / "p.go")]


def test_register_is_for_the_block_only() -> None:
    with registry.register(HoistError()):
        assert HOIST in registry.kinds()
        with (
            pytest.raises(ValueError, match="registered already"),
            registry.register(HoistError()),
        ):
            pass
    assert HOIST not in registry.kinds()
    with pytest.raises(KeyError):
        registry.lookup(HOIST)


def test_the_built_in_kinds_are_registered_in_order() -> None:
    assert registry.kinds() == ("preallocate", "sync-pool", "type-parameter")

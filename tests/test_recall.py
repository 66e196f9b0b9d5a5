"""Recall against the compiler (issue 12): every verdict ``go build -gcflags=-m`` prints
about a package's own files (moved to heap, escapes to heap, leaking param) is covered by a
heaplens finding of that kind whose range holds the verdict's point, and every heap or
leak finding heaplens reports covers at least one such verdict.

The corpus (``recall_corpus``): standard packages copied into a scratch module and
compiled live, and real modules recorded by ``fixtures/record_recall.py``. Each failure
prints the whole table, then what each imperfect case missed and invented.
"""

from __future__ import annotations

import json
import tarfile

import pytest

from recall_corpus import (
    GOROOT_PACKAGES,
    Case,
    Recall,
    details,
    goroot_cases,
    recall,
    recorded_cases,
    recordings,
    table,
)


def _check(cases: tuple[Case, ...]) -> None:
    results = [recall(c) for c in cases]
    summary = table(results)
    print("\n" + summary)  # shown with -s, and in the report of a failure
    bad = [(r, c) for r, c in zip(results, cases, strict=True) if not r.perfect]
    if bad:
        pytest.fail(summary + "\n\n" + "\n\n".join(details(r, c.root) for r, c in bad))


def _merged(results: list[Recall]) -> list[str]:
    return [f"{r.name}: {m}" for r in results for m in r.merged]


def test_the_corpus_is_what_the_issue_asks_for() -> None:
    assert len(GOROOT_PACKAGES) >= 6
    modules = set()
    size = 0
    for archive in recordings():
        size += archive.stat().st_size
        with tarfile.open(archive, "r:gz") as tar:
            meta_file = tar.extractfile("meta.json")
            assert meta_file is not None
            meta = json.load(meta_file)
        modules.add(meta["module"])
        assert 1 <= len(meta["packages"]) <= 3, meta["packages"]
    assert len(modules) >= 2, modules
    assert size < 400_000, f"recordings take {size} bytes"


def test_recall_on_recorded_real_modules() -> None:
    cases = recorded_cases()
    assert all(c.verdicts for c in cases), [c.name for c in cases if not c.verdicts]
    _check(cases)


def test_recall_on_standard_packages_compiled_live() -> None:
    cases = goroot_cases()
    assert len(cases) == len(GOROOT_PACKAGES)
    assert all(c.verdicts for c in cases), [c.name for c in cases if not c.verdicts]
    _check(cases)


@pytest.mark.parametrize("which", ["recorded", "goroot"])
def test_values_told_apart_by_the_compiler_stay_apart(which: str) -> None:
    """Two values reported at one point (an inlined callee's allocations at its call)
    are two verdicts: heaplens must not fold them into one finding."""
    cases = recorded_cases() if which == "recorded" else goroot_cases()
    merged = _merged([recall(c) for c in cases])
    assert not merged, "\n".join(merged)

"""Results are cached by content, and stay right when a dependency or an overlay changes."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from conftest import check_json, dep_workspace
from heaplens.analysis import Engine, Options
from heaplens.cache import ResultCache
from heaplens.model import HEAP_KINDS


def _messages(data: dict, file: Path) -> list[str]:  # type: ignore[type-arg]
    return [f["message"] for f in data["findings"] if f["file"] == str(file)]


def test_repeat_is_answered_from_cache(corpus: Path, cli_env: dict[str, str]) -> None:
    _, first, _ = check_json("./...", cwd=corpus, env=cli_env)
    _, second, _ = check_json("./...", cwd=corpus, env=cli_env)
    assert not any(p["cached"] for p in first["packages"])
    assert all(p["cached"] for p in second["packages"])
    assert first["findings"] == second["findings"]


def test_dependency_change_invalidates_dependents(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = dep_workspace(tmp_path)
    b = mod / "b" / "b.go"
    _, before, _ = check_json("./b", cwd=mod, env=cli_env)
    assert "moved to heap: x" not in _messages(before, b)
    # Now a.Keep keeps the pointer: b's x must move to the heap, though b did not change.
    (mod / "a" / "a.go").write_text(
        "package a\n\nvar kept *int\n\n"
        "//go:noinline\nfunc Keep(p *int) int { kept = p; return *p }\n"
    )
    _, after, _ = check_json("./b", cwd=mod, env=cli_env)
    assert not after["packages"][0]["cached"]
    assert "moved to heap: x" in _messages(after, b)


def test_flags_are_part_of_the_key(tmp_path: Path, cli_env: dict[str, str]) -> None:
    mod = dep_workspace(tmp_path)
    (mod / "b" / "tagged.go").write_text(
        "//go:build special\n\npackage b\n\nfunc Tagged() *int {\n\ty := 2\n\treturn &y\n}\n"
    )
    _, plain, _ = check_json("./b", cwd=mod, env=cli_env)
    _, tagged, _ = check_json("--tags", "special", "./b", cwd=mod, env=cli_env)
    assert not any("y" in m for m in _messages(plain, mod / "b" / "tagged.go"))
    assert "moved to heap: y" in _messages(tagged, mod / "b" / "tagged.go")


def test_overlay_is_analysed_instead_of_disk(tmp_path: Path) -> None:
    mod = dep_workspace(tmp_path)
    b = str(mod / "b" / "b.go")
    engine = Engine(Options(tests=False), ResultCache(None))
    disk = engine.check(["./b"], str(mod))
    assert not [f for f in disk.findings if f.file == b and f.kind in HEAP_KINDS]
    unsaved = (
        b'package b\n\nimport "example.com/dep/a"\n\nvar g *int\n\n'
        b"func Use() int {\n\tx := 1\n\tg = &x\n\treturn a.Keep(&x)\n}\n"
    )
    edited = engine.check(["./b"], str(mod), overlays={b: unsaved})
    moved = [f for f in edited.findings if f.file == b and f.kind in HEAP_KINDS]
    assert [f.message for f in moved] == ["moved to heap: x"]
    assert moved[0].range.start.line == 8  # the line in the buffer, not on disk
    again = engine.check(["./b"], str(mod), overlays={b: unsaved})
    assert again.stats.cached_units == 1 and again.stats.compiled_units == 0
    # The disk version is still cached separately.
    assert engine.check(["./b"], str(mod)).stats.compiled_units == 0


def test_a_directory_after_its_module_is_answered_from_cache(tmp_path: Path) -> None:
    """As the server does after a scan of the workspace: each open directory is then
    analysed on its own, and nothing in it changed."""
    mod = dep_workspace(tmp_path)
    (mod / "b" / "b_test.go").write_text(
        'package b\n\nimport "testing"\n\nfunc TestUse(t *testing.T) { _ = Use() }\n'
    )
    engine = Engine(Options(), ResultCache(str(tmp_path / "cache")))
    engine.check(["./..."], str(mod))
    directory = str(mod / "b")
    alone = engine.check([directory], directory)
    assert alone.stats.compiled_units == 0 and alone.stats.go_runs == 0, alone.stats
    assert alone.stats.cached_units == 2  # the package and its tests
    fresh = Engine(Options(), ResultCache(None)).check([directory], directory)
    assert alone.findings == fresh.findings and alone.findings
    assert [p.files for p in alone.packages] == [p.files for p in fresh.packages]
    # A file added since: the module's listing is stale, and the directory is listed.
    (mod / "b" / "more.go").write_text(
        "package b\n\nfunc More() *int {\n\tz := 3\n\treturn &z\n}\n"
    )
    added = engine.check([directory], directory)
    assert any(f.message == "moved to heap: z" for f in added.findings)


def test_cache_files_are_private(corpus: Path, cli_env: dict[str, str], cache_dir: Path) -> None:
    check_json("./esc", cwd=corpus, env=cli_env)
    entries = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert entries
    for p in entries:
        assert p.stat().st_mode & 0o077 == 0, oct(p.stat().st_mode)
    for d in (p for p in cache_dir.rglob("*") if p.is_dir() and p != cache_dir):
        assert d.stat().st_mode & 0o077 == 0, d
    assert os.listdir(cache_dir)


def test_tagged_entries_answer_only_their_tag(tmp_path: Path) -> None:
    """A file's findings are filed under its text and tagged with what the compiler
    logged: another log must not get them, in memory or from disk."""
    from heaplens.cache import UnitResult
    from heaplens.model import Finding, Kind, Leak, Position, Range, Reason, ReasonCode

    why = Reason(ReasonCode.KEPT_BY_OBJECT, "&T{...}", "NewT", Reason(ReasonCode.RETURNED))
    finding = Finding(
        Kind.LEAKING_PARAM,
        "/m/a.go",
        Range(Position(3, 2), Position(3, 9)),
        "m",
        why,
        "F",
        leak=Leak(1, (("~r0", 0),)),
        count=2,
    )
    result = UnitResult((finding,), ())
    writer = ResultCache(str(tmp_path))
    writer.put("k" * 64, result, tag="log-1")
    for cache in (writer, ResultCache(str(tmp_path))):  # memory, then disk
        assert cache.get("k" * 64, tag="log-2") is None
        assert cache.get("k" * 64) is None  # untagged asks for the tag ""
        assert cache.get("k" * 64, tag="log-1") == result
        assert cache.get("k" * 64, tag=None) == result  # a prefetch takes any
    writer.put("k" * 64, result, tag="log-2")  # the latest log replaces the entry
    assert ResultCache(str(tmp_path)).get("k" * 64, tag="log-1") is None


_CANDIDATES = (
    "package p\n\ntype Item struct{ N int }\n\n"
    "func Collect(xs []int) []*Item {\n\tvar out []*Item\n\tfor _, x := range xs {\n"
    "\t\tout = append(out, &Item{N: x})\n\t}\n\treturn out\n}\n"
)


def test_fix_candidates_of_a_cached_result_are_not_proposed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module, not the function ``heaplens.fixes`` exports under its name.
    propose = importlib.import_module("heaplens.fixes.propose")
    mod = tmp_path / "m"
    (mod / "p").mkdir(parents=True)
    (mod / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (mod / "p" / "p.go").write_text(_CANDIDATES)
    store = str(tmp_path / "cache")

    def candidates() -> list[tuple[str, str, tuple[str, ...]]]:
        engine = Engine(Options(tests=False), ResultCache(store))
        found = propose.with_candidates(engine.check(["./p"], str(mod)), cache=engine.cache)
        return [
            (f.file, str(f.range), tuple(x.kind for x in f.fixes))
            for f in found.findings
            if f.fixes
        ]

    first = candidates()
    assert first and all(kinds == ("preallocate",) for _, _, kinds in first)
    proposed: list[object] = []
    real = propose.attach_candidates
    monkeypatch.setattr(
        propose, "attach_candidates", lambda *a, **k: proposed.append(a) or real(*a, **k)
    )
    assert candidates() == first
    assert proposed == []
    # An edit changes the unit's key: its candidates are proposed afresh.
    (mod / "p" / "p.go").write_text(_CANDIDATES + "\nfunc Other() {}\n")
    assert candidates() == first
    assert len(proposed) == 1

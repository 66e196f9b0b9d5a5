"""A changed package is compiled by the compiler alone, and the answer is the one the go
command gives: same findings, same errors, and never built on stale export data."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path

from conftest import copy_module, dep_workspace
from heaplens.analysis import CheckResult, Engine, Options, compile_direct
from heaplens.cache import ResultCache
from heaplens.model import HEAP_KINDS
from heaplens.packages import Listing, Package


def _engine(cache: Path) -> Engine:
    return Engine(Options(tests=False), ResultCache(str(cache)))


def _via_go_command(root: Path, overlays: dict[str, bytes], *args: str) -> CheckResult:
    """The reference: a fresh engine with no cache, so the go command compiles."""
    result = Engine(Options(tests=False), ResultCache(None)).check(
        list(args), str(root), overlays=overlays
    )
    assert result.stats.direct_units == 0
    return result


def test_an_edited_package_is_compiled_directly_with_the_go_commands_answer(
    tmp_path: Path,
) -> None:
    mod = copy_module("hotpath", tmp_path)
    engine = _engine(tmp_path / "cache")
    first = engine.check(["./..."], str(mod))
    assert first.stats.direct_units == 0 and first.findings
    (source,) = mod.glob("*.go")
    edited = source.read_bytes() + b"\nfunc Leak() *[64]byte {\n\tvar b [64]byte\n\treturn &b\n}\n"
    overlays = {str(source): edited}

    direct = engine.check(["./..."], str(mod), overlays=overlays)

    assert direct.stats.direct_units == 1, direct.stats.direct_refusals
    assert direct.stats.compiled_units == 1
    reference = _via_go_command(mod, overlays, "./...")
    assert direct.findings == reference.findings
    assert "moved to heap: b" in [f.message for f in direct.findings]
    # Positions name the real file, not the buffer's temporary copy.
    assert {f.file for f in direct.findings} <= {str(source)}


def test_compile_errors_match_the_go_command_and_touch_nothing_outside(tmp_path: Path) -> None:
    mod = dep_workspace(tmp_path)
    engine = _engine(tmp_path / "cache")
    engine.check(["./b"], str(mod))
    b = str(mod / "b" / "b.go")
    broken = (
        b'package b\n\nimport "example.com/dep/a"\n\nfunc Use() int {\n\treturn a.Keep(nope)\n}\n'
    )

    direct = engine.check(["./b"], str(mod), overlays={b: broken})

    assert direct.stats.direct_units == 1, direct.stats.direct_refusals
    reference = _via_go_command(mod, {b: broken}, "./b")
    assert direct.all_errors == reference.all_errors
    assert [(e.file, e.line, e.column) for e in direct.all_errors] == [(b, 6, 16)]
    assert "undefined: nope" in direct.all_errors[0].message
    # A failed compile deletes its output file; ours must be private, never /dev/null.
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_changed_dependency_is_rebuilt_by_the_go_command(tmp_path: Path) -> None:
    mod = dep_workspace(tmp_path)
    engine = _engine(tmp_path / "cache")
    b = str(mod / "b" / "b.go")
    before = engine.check(["./b"], str(mod))
    assert not [f for f in before.findings if f.file == b and f.kind in HEAP_KINDS]
    # a now keeps its argument, in an unsaved buffer: the export data the listing knows
    # for a is stale, and b's x must move to the heap.
    keeps = (
        b"package a\n\nvar kept *int\n\n"
        b"//go:noinline\nfunc Keep(p *int) int { kept = p; return *p }\n"
    )

    after = engine.check(["./b"], str(mod), overlays={str(mod / "a" / "a.go"): keeps})

    assert after.stats.direct_units == 0
    assert any("example.com/dep/a changed" in r for r in after.stats.direct_refusals)
    assert "moved to heap: x" in [f.message for f in after.findings if f.file == b]


def test_export_data_removed_from_the_build_cache_falls_back(tmp_path: Path) -> None:
    mod = dep_workspace(tmp_path)
    engine = _engine(tmp_path / "cache")
    engine.check(["./b"], str(mod))
    listing = _stored_listing(tmp_path / "cache")
    export = listing.graph["example.com/dep/a"].export
    assert os.path.exists(export)
    os.rename(export, export + ".moved")
    try:
        b = str(mod / "b" / "b.go")
        text = (mod / "b" / "b.go").read_bytes() + b"\n// edited\n"
        result = engine.check(["./b"], str(mod), overlays={b: text})
    finally:
        if os.path.exists(export + ".moved") and not os.path.exists(export):
            os.rename(export + ".moved", export)
    assert result.stats.direct_units == 0
    assert any("removed from the build cache" in r for r in result.stats.direct_refusals)
    assert result.stats.compiled_units == 1 and not result.all_errors


def _stored_listing(cache: Path) -> Listing:
    (stored,) = cache.rglob("listings/*.json")
    return Listing.from_json(json.loads(stored.read_text())["listing"])


def _package(**changes: object) -> Package:
    fields: dict[str, object] = {
        "import_path": "example.com/m/p",
        "name": "p",
        "dir": "/src/p",
        "go_files": ("/src/p/p.go",),
        "test_files": (),
        "xtest_files": (),
        "test_imports": (),
        "module_path": "example.com/m",
        "module_dir": "/src",
        "module_version": "",
        "build_files": (),
        "standard": False,
        "deps": (),
        "go_version": "1.22",
        "go_only": True,
    }
    fields.update(changes)
    return Package(**fields)  # type: ignore[arg-type]


def test_plan_names_why_the_go_command_is_needed(tmp_path: Path) -> None:
    from heaplens.toolchain import GoEnv

    tooldir = tmp_path / "tool"
    tooldir.mkdir()
    (tooldir / "compile").write_text("")
    go = GoEnv("go", "go1.26.0", "/goroot", "", "", "", "linux", "amd64", (), tooldir=str(tooldir))
    listing = Listing()

    def plan(pkg: Package, neutral: bool = True) -> object:
        return compile_direct.plan(pkg, listing, go, fresh=lambda _: True, flags_neutral=neutral)

    assert plan(_package(go_only=False)) == "cgo, assembly or embedded files"
    missing = dataclasses.replace(go, tooldir=str(tmp_path / "nowhere"))
    assert (
        compile_direct.plan(_package(), listing, missing, fresh=lambda _: True, flags_neutral=True)
        == "no compiler in GOTOOLDIR"
    )
    assert plan(_package(standard=True)) == "standard library"
    assert plan(_package(go_version="")) == "no go version in go.mod"
    assert plan(_package(), neutral=False) == "build flags change compilation"
    assert plan(_package(deps=("fmt",))) == "no export data for fmt"
    ok = plan(_package(deps=("unsafe",), import_map=(("x/y", "v/x/y"),)))
    assert isinstance(ok, compile_direct.Plan)
    assert ok.lang == "go1.22"
    assert ok.importcfg == "importmap x/y=v/x/y\n"


def test_only_flags_that_leave_compilation_alone_are_neutral() -> None:
    neutral = compile_direct.neutral_flags
    assert neutral([])
    assert neutral(["-tags", "a,b", "-mod=readonly", "-modcacherw", "-pgo=off", "-v"])
    assert neutral(["--tags=x", "-ldflags", "-s -w"])
    for flags in (["-race"], ["-cover"], ["-trimpath"], ["-pgo=auto"], ["-toolexec", "x"]):
        assert not neutral(flags), flags
    assert not neutral(["-asan"]) and not neutral(["-buildmode=pie"])


def test_unchanged_files_keep_their_findings_and_changed_ones_are_redone(tmp_path: Path) -> None:
    """After an edit, a file whose text and compiler log are unchanged is not classified
    again; one whose log changed (an inlined callee kept its argument) is."""
    mod = tmp_path / "two"
    (mod / "p").mkdir(parents=True)
    (mod / "go.mod").write_text("module example.com/two\n\ngo 1.21\n")
    keep = mod / "p" / "keep.go"
    # The package's variables stay the same: reasons name them, so they are in the key.
    keep.write_text("package p\n\nvar kept *int\n\nfunc Keep(p *int) int { return *p }\n")
    use = mod / "p" / "use.go"
    use.write_text("package p\n\nfunc Use() int {\n\tx := 1\n\treturn Keep(&x)\n}\n")
    alone = mod / "p" / "alone.go"
    alone.write_text("package p\n\nfunc Alone() *int {\n\ty := 2\n\treturn &y\n}\n")
    engine = _engine(tmp_path / "cache")
    engine.check(["./p"], str(mod))

    keeps = b"package p\n\nvar kept *int\n\nfunc Keep(p *int) int { kept = p; return *p }\n"
    after = engine.check(["./p"], str(mod), overlays={str(keep): keeps})

    assert after.stats.direct_units == 1
    assert after.stats.reused_files == 1  # alone.go; use.go's log changed with Keep
    assert after.findings == _via_go_command(mod, {str(keep): keeps}, "./p").findings
    messages = {(f.file, f.message) for f in after.findings}
    assert (str(use), "moved to heap: x") in messages
    assert (str(alone), "moved to heap: y") in messages


def test_a_main_package_is_compiled_directly_as_main(tmp_path: Path) -> None:
    mod = tmp_path / "cmd"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/cmd\n\ngo 1.21\n")
    main = mod / "main.go"
    main.write_text('package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(1)\n}\n')
    engine = _engine(tmp_path / "cache")
    engine.check(["."], str(mod))
    edited = main.read_bytes() + b"\nvar sink *int\n\nfunc keep() {\n\tv := 2\n\tsink = &v\n}\n"

    direct = engine.check(["."], str(mod), overlays={str(main): edited})

    assert direct.stats.direct_units == 1, direct.stats.direct_refusals
    assert direct.findings == _via_go_command(mod, {str(main): edited}, ".").findings
    assert "moved to heap: v" in [f.message for f in direct.findings]


def test_an_unsaved_go_mod_leaves_compiling_to_the_go_command(tmp_path: Path) -> None:
    mod = dep_workspace(tmp_path)
    engine = _engine(tmp_path / "cache")
    engine.check(["./b"], str(mod))
    gomod = mod / "go.mod"
    b = mod / "b" / "b.go"
    overlays = {
        str(gomod): gomod.read_bytes() + b"\n// unsaved\n",
        str(b): b.read_bytes() + b"\n// edited\n",
    }

    result = engine.check(["./b"], str(mod), overlays=overlays)

    assert result.stats.direct_units == 0
    assert any("an unsaved file that is not Go source" in r for r in result.stats.direct_refusals)
    assert result.stats.compiled_units == 1 and not result.all_errors


def _tested_module(tmp_path: Path, more: dict[str, str] | None = None) -> Path:
    """p with in-package tests (one exporting a helper, export_test.go style) and
    external tests that use that helper."""
    mod = tmp_path / "tested"
    (mod / "p").mkdir(parents=True)
    (mod / "go.mod").write_text("module example.com/tested\n\ngo 1.21\n")
    files = {
        "p/p.go": "package p\n\nfunc New() *int {\n\tx := 1\n\treturn &x\n}\n\n"
        "func helper(n int) []int { return make([]int, n) }\n",
        "p/export_test.go": "package p\n\nvar Helper = helper\n",
        "p/p_test.go": 'package p\n\nimport "testing"\n\nvar sink *int\n\n'
        "func TestNew(t *testing.T) {\n\ty := 2\n\tsink = &y\n}\n",
        "p/x_test.go": 'package p_test\n\nimport (\n\t"fmt"\n\t"testing"\n\n'
        '\t"example.com/tested/p"\n)\n\nfunc TestHelper(t *testing.T) {\n'
        "\tz := p.Helper(3)\n\tfmt.Println(z, p.New())\n}\n",
        **(more or {}),
    }
    for name, text in files.items():
        (mod / name).parent.mkdir(parents=True, exist_ok=True)
        (mod / name).write_text(text)
    return mod


def _with_tests(root: Path, overlays: dict[str, bytes], *args: str) -> CheckResult:
    result = Engine(Options(tests=True), ResultCache(None)).check(
        list(args), str(root), overlays=overlays
    )
    assert result.stats.direct_units == 0
    return result


def test_tests_are_compiled_directly_with_the_go_commands_answer(tmp_path: Path) -> None:
    mod = _tested_module(tmp_path)
    engine = Engine(Options(tests=True), ResultCache(str(tmp_path / "cache")))
    first = engine.check(["./p"], str(mod))
    assert first.stats.direct_units == 0
    code = mod / "p" / "p.go"
    edited = code.read_bytes() + b"\nfunc Two() *int {\n\tw := 3\n\treturn &w\n}\n"

    direct = engine.check(["./p"], str(mod), overlays={str(code): edited})

    assert direct.stats.direct_units == 2, direct.stats.direct_refusals  # p, and its tests
    reference = _with_tests(mod, {str(code): edited}, "./p")
    assert direct.findings == reference.findings
    messages = {(Path(f.file).name, f.message) for f in direct.findings}
    assert ("p_test.go", "moved to heap: y") in messages
    assert ("p.go", "moved to heap: w") in messages
    assert any(name == "x_test.go" for name, _ in messages)


def test_a_test_that_does_not_compile_gives_the_go_commands_errors(tmp_path: Path) -> None:
    mod = _tested_module(tmp_path)
    engine = Engine(Options(tests=True), ResultCache(str(tmp_path / "cache")))
    engine.check(["./p"], str(mod))
    xtest = mod / "p" / "x_test.go"
    broken = xtest.read_bytes().replace(b"p.Helper(3)", b"p.Helper(nope)")

    direct = engine.check(["./p"], str(mod), overlays={str(xtest): broken})

    assert direct.stats.direct_units == 1, direct.stats.direct_refusals  # the tests
    reference = _with_tests(mod, {str(xtest): broken}, "./p")
    assert [(e.file, e.line, e.column, e.message) for e in direct.all_errors] == [
        (e.file, e.line, e.column, e.message) for e in reference.all_errors
    ]
    assert direct.all_errors and direct.all_errors[0].file == str(xtest)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_tests_whose_dependency_imports_the_package_need_the_go_command(
    tmp_path: Path,
) -> None:
    # q imports p, and p's external tests import q: the go command rebuilds q against the
    # test variant of p, which a direct compile would not.
    mod = _tested_module(
        tmp_path,
        {
            "q/q.go": 'package q\n\nimport "example.com/tested/p"\n\n'
            "func Q() *int { return p.New() }\n",
            "p/y_test.go": 'package p_test\n\nimport (\n\t"testing"\n\n'
            '\t"example.com/tested/q"\n)\n\nfunc TestQ(t *testing.T) { _ = q.Q() }\n',
        },
    )
    engine = Engine(Options(tests=True), ResultCache(str(tmp_path / "cache")))
    engine.check(["./p"], str(mod))
    code = mod / "p" / "p.go"
    edited = code.read_bytes() + b"\n// edited\n"

    result = engine.check(["./p"], str(mod), overlays={str(code): edited})

    assert result.stats.direct_units == 1  # p itself; its tests went to the go command
    assert any("imports the package itself" in r for r in result.stats.direct_refusals)
    assert result.findings == _with_tests(mod, {str(code): edited}, "./p").findings


def test_a_test_function_go_test_rejects_gets_go_tests_error(tmp_path: Path) -> None:
    """go test refuses a malformed TestX before compiling; compiled directly it would
    build, so such tests go to the go command and the user sees go test's error."""
    mod = _tested_module(tmp_path)
    engine = Engine(Options(tests=True), ResultCache(str(tmp_path / "cache")))
    engine.check(["./p"], str(mod))  # the tests compile: their imports' export data is known
    test = mod / "p" / "p_test.go"
    malformed = test.read_bytes().replace(b"TestNew(t *testing.T)", b"TestNew(n int)")

    result = engine.check(["./p"], str(mod), overlays={str(test): malformed})

    assert any("rejects the signature of TestNew" in r for r in result.stats.direct_refusals)
    errors = [(e.file, e.line, e.message) for e in result.all_errors]
    assert errors == [
        (str(test), 7, "wrong signature for TestNew, must be: func TestNew(t *testing.T)")
    ]
    fine = engine.check(
        ["./p"], str(mod), overlays={str(test): malformed.replace(b"n int", b"*testing.T")}
    )
    assert fine.stats.direct_units == 1 and not fine.all_errors

"""The four ways to compile a unit, each only building a ``CompileJob``:

* ``plain``: the go command lists and compiles packages (``go list -deps -export``).
* ``test``: the go command compiles a package's tests (``go list -test -export``).
* ``direct``: the compiler alone compiles a package (``compile_direct``).
* ``direct_test``: the compiler alone compiles a package's tests, the package with its
  test files, then the external test package against it.

Nothing is ever linked: heaplens needs no binary, and a link can fail on inputs the
compiler never reads (a ``.syso``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from .. import packages, toolchain
from ..compile_errors import name_real_files
from ..model import CompileError
from ..packages import Listing, Package
from ..workspace import Query
from . import collisions, compile_direct, flags, stopped_compiler
from .jobs import TARGETS, CompileJob, Ran, Runner, Step
from .listing import go_list
from .run import Check
from .units import Unit


def plain(
    query: Query,
    patterns: tuple[str, ...],
    check: Check,
    expected_files: Sequence[str] = (),
    renames: Collection[str] = (),
    overlay: str | None = None,
) -> CompileJob:
    """List and compile ``patterns`` in one ``go list -deps -export`` run.
    ``expected_files`` are parsed while the compiler runs: we wait for it anyway. With
    ``renames`` (in ``overlay``), those files are compiled under another name."""

    def run(work: str, log_dir: str, started: Callable[[], None]) -> Ran:
        listing = go_list(query, patterns, check, log_dir, started=started, overlay=overlay)
        if renames:
            collisions.restore_listing(listing)
        return Ran(0, listing=listing)

    step = Step(" ".join(patterns), run, only=TARGETS)
    expected = tuple(expected_files)
    return CompileJob(
        "log-", (step,), expected, expected, listed_targets=True, renamed=bool(renames)
    )


def test(query: Query, index: int, unit: Unit, check: Check) -> CompileJob:
    """Compile a package's tests with the go command: ``go list -test -export``
    compiles the package with its test files and the external test package, as
    ``go test`` would, and links nothing. A test binary is never needed, and linking
    one fails on what only the linker reads (a ``.syso`` for another platform).

    The package itself is compiled again in the same run and logs into the same
    directory; only the test files' logs are read, and it writes none of those."""
    pkg = unit.package

    def run(work: str, log_dir: str, started: Callable[[], None]) -> Ran:
        with check.timed_go():
            listing = packages.list_packages(
                query,
                (pkg.import_path,),
                check.go,
                check.env,
                overlay=check.overlay_file,
                build_flags=("-test", *flags.non_gc_flags(check.build_flags)),
                gcflags=(*flags.gcflags(check.build_flags, log_dir), "-work"),
                compile_targets=True,
                deadline=check.deadline,
                cancel=check.cancel,
                started=started,
            )
        return Ran(0, listing=listing)

    def errors(listing: Listing) -> tuple[CompileError, ...]:
        return test_errors(listing, pkg, check.buffers)

    # Test files cannot use cgo: no generated file stands for one, so the logs of
    # other files (the package itself, compiled again) can go unread. Flow steps of
    # test files can still pass through cgo's generated code: remap those.
    step = Step(pkg.import_path + " (tests)", run, frozenset(unit.wanted), errors)
    cgo_dirs = None if pkg.go_only else {pkg.dir: pkg.import_path}
    return CompileJob(f"log-test{index}-", (step,), unit.wanted, pkg.all_files, cgo_dirs=cgo_dirs)


def test_errors(
    listing: Listing, pkg: Package, buffers: Mapping[str, str]
) -> tuple[CompileError, ...]:
    """The test variants' errors, named after the package. The test binary's package
    repeats them, and has its own when go test would not even compile (a test
    function's signature it rejects): then those alone, as go test says them."""
    variants: dict[CompileError, None] = {}
    main: dict[CompileError, None] = {}
    for target in listing.targets:
        if target.import_path != pkg.import_path:
            side = main if target.import_path == pkg.import_path + ".test" else variants
            side.update(dict.fromkeys(target.errors))
    own = [e for e in main if e not in variants]
    return name_real_files(
        dict.fromkeys(
            dataclasses.replace(e, package=pkg.import_path) for e in own or [*variants, *main]
        ),
        buffers,
    )


def direct(
    query: Query,
    unit: Unit,
    p: compile_direct.Plan,
    check: Check,
    env: Mapping[str, str],
    concurrency: int,
    renames: Collection[str] = (),
    stopped: str | None = None,
) -> CompileJob:
    """Run the compiler on one package (``compile_direct``); ``renames`` are compiled
    under another name (``collisions``). With ``stopped``, the compiler that stops after
    escape analysis (``stopped_compiler``) is run instead of the toolchain's."""
    pkg = unit.package
    call = CompilerCall(p.pkgpath, p.lang, pkg.go_files, p.importcfg, "out.o", concurrency)
    call = dataclasses.replace(call, renames=frozenset(renames), stopped=stopped)
    step = Step(
        pkg.import_path,
        compiler_run(check, query.root, env, call),
        frozenset(pkg.go_files),
        compiler=True,
    )
    return CompileJob(
        "direct-", (step,), pkg.go_files, pkg.go_files, renamed=bool(renames), cwd=query.root
    )


def direct_test(
    query: Query,
    index: int,
    unit: Unit,
    p: compile_direct.Plan,
    check: Check,
    env: Mapping[str, str],
    concurrency: int,
) -> CompileJob:
    """Compile a package's tests with the compiler alone (``compile_direct.plan_test``):
    the package with its test files, then the external test package, which imports it."""
    pkg = unit.package
    test_binary = f"{pkg.import_path}.test"
    internal = CompilerCall(
        pkg.import_path,  # a main package's test variant is a library
        p.lang,
        pkg.go_files + pkg.test_files,
        p.importcfg,
        "internal.a",
        concurrency,
        pack=True,
    )
    steps = [
        Step(
            f"{pkg.import_path} [{test_binary}]",
            compiler_run(check, query.root, env, internal),
            frozenset(pkg.test_files),
            compiler=True,
        )
    ]
    if pkg.xtest_files:
        external = CompilerCall(
            pkg.import_path + "_test",
            p.lang,
            pkg.xtest_files,
            p.importcfg,
            "external.o",
            concurrency,
            imports_output=(pkg.import_path, "internal.a"),
        )
        steps.append(
            Step(
                f"{pkg.import_path}_test [{test_binary}]",
                compiler_run(check, query.root, env, external),
                frozenset(pkg.xtest_files),
                compiler=True,
            )
        )
    return CompileJob(
        f"test-direct{index}-", tuple(steps), unit.wanted, pkg.all_files, cwd=query.root
    )


@dataclass(frozen=True)
class CompilerCall:
    """One run of the compiler (``compile_direct.argv``); outputs are named within the
    job's directory."""

    pkgpath: str
    lang: str
    files: tuple[str, ...]
    importcfg: str
    output: str
    concurrency: int
    pack: bool = False
    renames: frozenset[str] = frozenset()
    #: An earlier step's output this one imports: (import path, output name).
    imports_output: tuple[str, str] | None = None
    #: The compiler that stops after escape analysis, run instead of the toolchain's.
    stopped: str | None = None


def compiler_run(check: Check, cwd: str, env: Mapping[str, str], call: CompilerCall) -> Runner:
    """A step that runs the compiler as ``call`` says."""

    def run(work: str, log_dir: str, started: Callable[[], None]) -> Ran:
        importcfg = call.importcfg
        if call.imports_output is not None:
            path, output = call.imports_output
            importcfg += f"packagefile {path}={os.path.join(work, output)}\n"
        importcfg_file = log_dir + ".importcfg"
        with open(importcfg_file, "w", encoding="utf-8") as f:
            f.write(importcfg)
        command = compile_direct.argv(
            check.go,
            pkgpath=call.pkgpath,
            lang=call.lang,
            files=call.files,
            importcfg_file=importcfg_file,
            object_file=os.path.join(work, call.output),
            log_dir=log_dir,
            buffers=check.buffers,
            concurrency=call.concurrency,
            pack=call.pack,
            renames=call.renames,
        )
        run_env: Mapping[str, str] = env
        if call.stopped is not None:
            command[0] = call.stopped
            run_env = {**env, stopped_compiler.ENV_VAR: "1"}
        with check.timed_go():
            result = toolchain.run(
                command,
                cwd=cwd,
                env=run_env,
                deadline=check.deadline,
                cancel=check.cancel,
                started=started,
            )
        return Ran(result.returncode, (result.stderr + result.stdout).decode("utf-8", "replace"))

    return run

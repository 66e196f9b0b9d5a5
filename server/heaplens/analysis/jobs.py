"""One compile job and the one way it is run (``run_job``).

A job is a list of steps, each one process (the go command or the compiler) writing its
log into a directory of its own: each compile writes its log to a fresh directory, since
with a directory the build cache had seen it would treat the compile as done and write
no log at all. ``run_job`` does what every strategy needs, in one order: a temporary
directory, the prefetch (the package's files parsed and their last findings loaded while
the compiler runs), the steps, the logs, the errors, the findings, and the cleanup.
The strategies (``strategies``) only build jobs.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from .. import cgo_positions, compiler_output, toolchain
from ..compile_errors import name_real_files, parse_error_text
from ..model import CompileError, Finding
from ..packages import Listing, Package
from . import collisions, compile_direct
from .run import Check


class BlindSpot(toolchain.ToolchainError):
    """A compile succeeded and its log cannot be used: it is not where the compiler was
    told to write it, or it names heaplens's temporary copies instead of the files. The
    findings would silently be missing, so the check stops instead."""


@dataclass(frozen=True)
class Ran:
    """What one step's process left: its exit status, what it said on stderr then
    stdout, and for the go command the listing it printed."""

    returncode: int
    output: str = ""
    listing: Listing | None = None


#: Runs a step: given the job's directory, the step's log directory and the callback
#: for when the compiler has started (the prefetch starts then).
Runner = Callable[[str, str, Callable[[], None]], Ran]


@dataclass(frozen=True)
class Step:
    #: What the step compiles: its errors' package, and what a missing log names.
    label: str
    run: Runner
    #: The files whose logs are read; None for all of them (cgo's generated files are
    #: renamed to the real ones, so their logs must be read too); ``TARGETS`` for the
    #: listed targets' files when none of them uses cgo.
    only: frozenset[str] | _Targets | None
    #: For a go command step: its errors, from the listing it printed. None for a go
    #: command step whose listing the caller reads (``go list -deps -export``); a
    #: compiler step's are parsed from what it said.
    listing_errors: Callable[[Listing], tuple[CompileError, ...]] | None = None
    compiler: bool = False


class _Targets(Enum):
    TARGETS = "targets"


TARGETS = _Targets.TARGETS


@dataclass(frozen=True)
class CompileJob:
    #: Prefix of the job's temporary directory.
    name: str
    steps: tuple[Step, ...]
    #: The files whose findings are kept, and the files of their package.
    wanted: tuple[str, ...]
    files: tuple[str, ...]
    #: Instead of ``wanted`` and ``files``: the files of the targets the last step listed.
    listed_targets: bool = False
    #: Files compiled under another name (``collisions``): the logs get theirs back.
    renamed: bool = False
    #: Directories → import paths, for positions in cgo's generated files; None when
    #: no file of the job uses cgo.
    cgo_dirs: Mapping[str, str] | None = None
    #: For the messages of an unusable log.
    cwd: str = ""


class Status(Enum):
    DONE = "done"
    #: The go command failed, not the sources: report its errors, do not cache.
    FAILED = "failed"
    #: The compiler failed for a reason that is not the sources' (stale or missing
    #: export data): the go command should try instead.
    FALLBACK = "fallback"


@dataclass(frozen=True)
class JobResult:
    status: Status
    findings: tuple[Finding, ...] = ()
    unknown: tuple[str, ...] = ()
    errors: tuple[CompileError, ...] = ()
    log: compiler_output.RawLog = dataclasses.field(default_factory=compiler_output.RawLog)
    listing: Listing | None = None


@dataclass
class _Progress:
    """What the steps of a job have left so far."""

    log: compiler_output.RawLog | None = None
    errors: list[CompileError] = dataclasses.field(default_factory=list)
    listing: Listing | None = None
    status: Status = Status.DONE


def run_job(job: CompileJob, check: Check) -> JobResult:
    """Run ``job``'s steps, until one fails, and find the findings in their logs."""
    work = tempfile.mkdtemp(prefix=job.name, dir=check.tmp)
    prefetch = check.classifier.prefetch(check, job.wanted, job.files)
    done = _Progress()
    try:
        for i, step in enumerate(job.steps):
            log_dir = os.path.join(work, f"log{i}")  # the compiler creates it
            ran = step.run(work, log_dir, prefetch.start)
            if not _step_done(job, step, ran, log_dir, check, done):
                break
    finally:
        check.join(prefetch)
        shutil.rmtree(work, ignore_errors=True)
    if done.status is not Status.DONE:
        return JobResult(done.status, errors=tuple(done.errors), listing=done.listing)
    wanted, files, cgo_dirs = _classified_files(job, done.listing)
    remap = None
    if cgo_dirs is not None:
        dirs = dict(cgo_dirs)

        def remap(raw: compiler_output.RawOutput) -> None:
            cgo_positions.remap(raw, check.go_tmp, dirs.get)

    log = done.log or compiler_output.RawLog()
    found, unknown = check.classifier.classify(log, wanted, files, check, remap)
    errors = tuple(dict.fromkeys(done.errors))
    return JobResult(Status.DONE, tuple(found), tuple(unknown), errors, log, done.listing)


def _step_done(
    job: CompileJob, step: Step, ran: Ran, log_dir: str, check: Check, done: _Progress
) -> bool:
    """Take in what ``step`` left; False when the steps after it are not to run."""
    done.listing = ran.listing
    if ran.listing is not None and step.listing_errors is not None and ran.listing.errors:
        # Not a compile error: the command itself failed.
        done.status, done.errors = Status.FAILED, list(ran.listing.errors)
        return False
    only = _read_only_files(step, ran)
    log = read_log(log_dir, check, only, renamed=job.renamed)
    errors = _errors(job, step, ran, check)
    expected = _must_have_logged(step, ran, errors)
    if expected is not None:
        expect_log(log, log_dir, expected)
    if done.log is None:
        done.log = log
    else:  # the steps' findings are classified together
        done.log.files.extend(log.files)
        done.log.unreadable.extend(log.unreadable)
    if step.compiler and ran.returncode != 0:
        if not any(e.file for e in errors) or compile_direct.environmental(
            [e.message for e in errors]
        ):
            done.status = Status.FALLBACK
            return False
    elif errors and not any(e.file for e in errors):
        done.status, done.errors = Status.FAILED, list(errors)
        return False
    done.errors.extend(errors)
    # What depends on a package that failed is not compiled either.
    return not (step.compiler and ran.returncode != 0)


def _read_only_files(step: Step, ran: Ran) -> Collection[str] | None:
    if step.only is not TARGETS:
        return step.only
    targets = ran.listing.targets if ran.listing is not None else []
    if all(p.go_only for p in targets):
        return {f for p in targets for f in p.go_files}
    return None


def _errors(job: CompileJob, step: Step, ran: Ran, check: Check) -> tuple[CompileError, ...]:
    if not step.compiler:
        if ran.listing is None or step.listing_errors is None:
            return ()
        return step.listing_errors(ran.listing)
    if ran.returncode == 0:
        return ()
    errors = name_real_files(
        dict.fromkeys(parse_error_text(ran.output, job.cwd, step.label)), check.buffers
    )
    return collisions.restore_errors(errors) if job.renamed else errors


def _must_have_logged(step: Step, ran: Ran, errors: Sequence[CompileError]) -> str | None:
    """What a step that succeeded must have written a log for, if anything."""
    if step.compiler:
        return step.label if ran.returncode == 0 else None
    if step.listing_errors is not None:
        return step.label if not errors else None
    targets = ran.listing.targets if ran.listing is not None else []
    compiled = [p.import_path for p in targets if p.go_files and not p.errors]
    return compiled[0] if compiled else None


def _classified_files(
    job: CompileJob, listing: Listing | None
) -> tuple[Sequence[str], Sequence[str], Mapping[str, str] | None]:
    """The files whose findings the job keeps, their package's files, and the
    directories of cgo's generated files."""
    if not job.listed_targets:
        return job.wanted, job.files, job.cgo_dirs
    targets: list[Package] = listing.targets if listing is not None else []
    files = [f for p in targets for f in p.go_files]
    cgo = not all(p.go_only for p in targets)
    return files, files, {p.dir: p.import_path for p in targets} if cgo else None


def read_log(
    log_dir: str, check: Check, only: Collection[str] | None, renamed: bool = False
) -> compiler_output.RawLog:
    """The log of a compile; ``renamed`` when files were compiled under another name
    (``collisions``), which the log then gets back."""
    restore = collisions.restore if renamed else None
    with check.timed_parse():
        log = compiler_output.read_log_files(log_dir, only=only, restore=restore)
    copies = {copy: real for real, copy in check.buffers.items()}
    for one in (*log.files, *log.skipped) if copies else ():
        if one.header in copies:
            # The -trimpath rewrite that names the real file (the go command's, for
            # an -overlay, or compile_direct's) is a ';'-separated list of
            # "from=>to": a path holding ';' or '=>' breaks it.
            raise BlindSpot(
                f"the compiler named heaplens's temporary copy of "
                f"{os.path.basename(copies[one.header])} ({one.header}) instead of the "
                "file, as a path holding ';' or '=>' makes it do; its findings would "
                "be missing, so heaplens stopped. Try a TMPDIR without them."
            )
    return log


def expect_log(log: compiler_output.RawLog, log_dir: str, what: str) -> None:
    """Stop the check when a compile that succeeded left no log (``RawLog.written``):
    reporting no findings for it would pass a blind spot off as a clean result."""
    if not log.written:
        raise BlindSpot(
            f"the compiler wrote no escape-analysis log for {what} into {log_dir}, where "
            "it was told to; its findings would be missing, so heaplens stopped. If "
            "TMPDIR or the go command's flags are unusual, try another TMPDIR."
        )

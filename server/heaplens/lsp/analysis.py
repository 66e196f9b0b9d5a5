"""Running the engine for open packages and publishing what it finds.

A package is a directory. An analysis takes a snapshot of the open documents' versions,
runs the engine in a worker thread with every unsaved buffer as an overlay, and publishes
only if no document of the package changed meanwhile; otherwise a newer analysis is
already on its way. A package that stops compiling keeps its last good findings, marked
stale, with one hint at the package clause saying why.

The analyzer is given what it works with (the client, the document store, the settings)
and knows nothing of the features: they listen (``on_package_analysed``,
``on_findings_replaced``, ``on_fresh_findings``), as the fix verifier does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lsprotocol import types

from ..analysis import CheckResult, Engine, Options, PackageResult, left_out
from ..cache import ResultCache, default_directory
from ..fixes.propose import with_candidates
from ..model import Finding
from ..positions import Encoding
from ..toolchain import Cancelled, CancelToken, TimedOut, ToolchainError, find_go
from ..workspace import Query, TargetError, plan
from .client import Client, Encoded, SettingsSource
from .convert import LineLookup, lines_of, path_to_uri
from .documents import DocumentStore, FileFindings, OpenDocument, read_disk
from .pausing import is_paused
from .presentation import diagnostic, encode, excluded_note, stale_hint
from .profiling import ProfileSource
from .scheduler import Scheduler
from .settings import Settings

log = logging.getLogger(__name__)

# Analyses longer than this get a progress bar.
PROGRESS_DELAY = 0.5
MAX_PARALLEL = 2
#: Seconds of quiet after a result of the compiler that stops after escape analysis
#: before the full compile of the same text (bounds and nil checks, and what uses them).
FULL_AFTER_STOPPED = 1.0
#: Findings moved by edits are published once edits have paused this long, so a burst
#: of edits is one publish, not one per edit (typing at 10 keys/s pauses longer)...
EDIT_PUBLISH_DELAY = 0.05
#: ... and at least this many times as long as the last such publish held the loop after
#: it: a file of thousands of findings spends at most a fifth of the loop publishing
#: while the user types, and hover and inlay hints are answered in between.
EDIT_PUBLISH_SPACING = 4

#: Told of each package of a finished analysis that compiled, with the overlays it was
#: analysed with (the fix verifier verifies its fixes).
PackageListener = Callable[[PackageResult, Mapping[str, bytes]], None]
#: Told of a file whose findings an analysis replaced (on the loop).
FindingsListener = Callable[[str], None]
#: Told of a file whose diagnostics were published anew (on the loop).
PublishedListener = Callable[[str], None]
#: Given a file's fresh findings before they are shown, returns them as they are to be
#: shown (the fix verifier puts its verified fixes on them). Runs in a worker thread.
FreshFindings = Callable[[str, tuple[Finding, ...]], tuple[Finding, ...]]


@dataclass(frozen=True)
class _Converted:
    """The diagnostics of one open document's findings, by finding. An edit keeps every
    finding it does not move as the same object, and such a finding's diagnostic is the
    same: its lines did not change before its positions. Kept only for findings whose
    positions are all in the document, and only for as long as the document stays open
    and the context they were converted in holds."""

    doc: OpenDocument
    context: tuple[object, ...]
    #: id(finding) -> the finding (to check it is that object still) and its diagnostic.
    diagnostics: dict[int, tuple[Finding, Encoded]]


class Analyzer:
    def __init__(
        self,
        client: Client,
        docs: DocumentStore,
        settings: SettingsSource,
        cache: ResultCache | None = None,
        folders: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self.client = client
        self.docs = docs
        self._settings = settings
        self.cache = cache if cache is not None else ResultCache(default_directory())
        self._package_listeners: list[PackageListener] = []
        self._replaced_listeners: list[FindingsListener] = []
        self._fresh_transforms: list[FreshFindings] = []
        #: Paused packages whose status was sent since the setting last changed.
        self._paused_said: set[str] = set()
        self._published_listeners: list[PublishedListener] = []
        #: The import path of each analysed package, by directory.
        self._import_paths: dict[str, str] = {}
        self._engine: Engine | None = None
        self._scheduler: Scheduler | None = None
        self.executor = ThreadPoolExecutor(MAX_PARALLEL + 1, thread_name_prefix="heaplens")
        self._queries: dict[str, list[Query]] = {}
        #: Files of each analysed package, to clear findings of files that went away.
        self._package_files: dict[str, set[str]] = {}
        #: Files whose diagnostics the client currently holds.
        self._published: set[str] = set()
        #: Per file, everything its last published diagnostics were computed from.
        self._basis: dict[str, tuple[object, ...]] = {}
        self._converted: dict[str, _Converted] = {}
        #: Publishes of findings moved by edits, waiting (``publish_soon``), and being
        #: converted.
        self._soon: dict[str, asyncio.TimerHandle] = {}
        #: One publish of moved findings per file at a time, and the files whose edits
        #: asked for another while it ran.
        self._moving: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        #: When the last of those may go out, and how long the last one took.
        self._next_edit_publish = 0.0
        self._shown_error: str | None = None
        self.analyses = 0
        self._error: str | None = None
        #: After shutdown no analysis starts: its threads are gone.
        self._stopped = False
        #: Directories whose last result came from the compiler that stops after escape
        #: analysis, with the versions it was computed for: the next analysis of the
        #: same text is the full compile (bounds and nil checks), asked for when idle.
        self._full_next: dict[str, dict[str, int]] = {}
        self._stopped_notes: set[str] = set()
        #: The profiles of the ``profile`` setting, joined to every result (issue 16),
        #: looked for in the workspace folders ``folders`` gives.
        self.folders: Callable[[], Sequence[str]] = folders or tuple
        self.profiles = ProfileSource(
            client, settings, self.folders, self.executor, self._go_for_profiles
        )
        self.profiles.on_loaded = self._profiles_loaded

    # -- listeners -------------------------------------------------------------------

    def on_package_analysed(self, listener: PackageListener) -> None:
        self._package_listeners.append(listener)

    def on_findings_replaced(self, listener: FindingsListener) -> None:
        self._replaced_listeners.append(listener)

    def on_fresh_findings(self, transform: FreshFindings) -> None:
        self._fresh_transforms.append(transform)

    def on_published(self, listener: PublishedListener) -> None:
        """Call ``listener`` with each file whose diagnostics go out changed (or
        cleared): what a list of all findings shows may have changed."""
        self._published_listeners.append(listener)

    def import_path(self, directory: str) -> str:
        """The import path of the package in ``directory``, "" when none was analysed."""
        return self._import_paths.get(directory, "")

    def _fresh(self, path: str, findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
        for transform in self._fresh_transforms:
            findings = transform(path, findings)
        return findings

    # -- configuration -------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings()

    def reset(self) -> None:
        """Settings changed: build a new engine and forget a shown toolchain error."""
        self._engine = None
        self._queries.clear()
        self._basis.clear()
        self._converted.clear()
        self._shown_error = None

    def engine(self) -> Engine:
        if self._engine is None:
            s = self.settings
            options = Options(
                go_binary=s.goBinary or None,
                build_flags=tuple(s.buildFlags),
                env=tuple(sorted(s.env.items())),
                tests=s.tests,
                timeout=s.timeout,
                allow_network=s.allowNetwork,
            )
            self._engine = Engine(options, self.cache)
        return self._engine

    @property
    def scheduler(self) -> Scheduler:
        if self._scheduler is None:
            self._scheduler = Scheduler(self._run, MAX_PARALLEL, on_idle=self._idle)
        return self._scheduler

    def _go_for_profiles(self) -> tuple[str, Mapping[str, str]]:
        """The go that reads the profiles (``go tool pprof``), as analyses find it."""
        env = self.engine().base_env()
        return find_go(self.settings.goBinary or None, env), env

    def _profiles_loaded(self) -> None:
        """Other profiles (or none): analyse the open packages again, answered from the
        cache, so their findings are joined to them and published again."""
        self.client.log_info(f"profiles now: {self.profiles.status.label or 'none'}")
        self.request_open_packages()

    def _join(self, result: CheckResult, loop: asyncio.AbstractEventLoop) -> CheckResult:
        """``result`` joined to the loaded profiles (in the worker thread); what the join
        warns about is said on the loop."""
        joined, warnings = self.profiles.join(result)
        if warnings:
            with contextlib.suppress(RuntimeError):  # the loop closed: shutting down
                loop.call_soon_threadsafe(self.profiles.warn, warnings)
        return joined

    def shutdown(self) -> None:
        self._stopped = True
        self.profiles.stop()
        if self._scheduler is not None:
            self._scheduler.cancel_all()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def paused(self, directory: str) -> bool:
        """Whether the package in ``directory`` is paused by the ``exclude`` setting: it is
        then not analysed, shows no diagnostics, and is left out of lists of findings."""
        patterns = self.settings.exclude
        return bool(patterns) and is_paused(directory, patterns, self.folders())

    def exclude_changed(self, old: Sequence[str]) -> None:
        """The ``exclude`` setting changed from ``old``: every package it resumed is
        analysed again (its findings were not taken while it was paused), and the files
        of those it paused are published empty (``republish``, after this)."""
        folders = self.folders()
        self._paused_said.clear()
        known = {os.path.dirname(d.path) for d in self.docs.all()} | set(self._package_files)
        changed: list[str] = []
        for directory in sorted(known):
            now = self.paused(directory)
            if now != is_paused(directory, old, folders):
                changed.append(directory)
                if not now:
                    self.request(os.path.join(directory, "_"), 0.0)
                elif not self.scheduler.busy:
                    # Nothing else will say so: the status bar shows the package paused.
                    self._paused_said.add(directory)
                    self.client.send_status("idle", directory)
        if changed:
            self.client.log_info(
                "paused or resumed: " + ", ".join(changed) + f" (exclude: {self.settings.exclude})"
            )
            # The hints of a paused package go, and a resumed one's come back with it.
            self.client.refresh_inlay_hints()

    # -- requests --------------------------------------------------------------------

    def request(self, path: str, delay: float | None = None) -> None:
        """Analyse the package that owns ``path`` (unless it is paused)."""
        if self._stopped or self.settings.mode == "off" or not self.settings.workspaceTrusted:
            return
        directory = os.path.dirname(path)
        if self.paused(directory):
            if directory not in self._paused_said and not self.scheduler.busy:
                # Once: a status bar then shows the file's package paused.
                self._paused_said.add(directory)
                self.client.send_status("idle", directory)
            return
        wait = self.settings.debounceMs / 1000 if delay is None else delay
        self.scheduler.request(directory, wait)

    def request_open_packages(self, delay: float = 0.0) -> None:
        for directory in sorted({os.path.dirname(d.path) for d in self.docs.all()}):
            self.request(os.path.join(directory, "_"), delay)

    def queries_for(self, directory: str) -> list[Query]:
        queries = self._queries.get(directory)
        if queries is None:
            queries = plan([directory], directory, self.engine().base_env())
            self._queries[directory] = queries
        return queries

    def overlays(self) -> dict[str, bytes]:
        """Every open buffer whose text differs from the disk."""
        out: dict[str, bytes] = {}
        for doc in self.docs.all():
            if doc.path and doc.text != read_disk(doc.path):
                out[doc.path] = doc.text
        return out

    # -- one analysis ------------------------------------------------------------------

    async def _run(self, directory: str, token: CancelToken) -> None:
        docs = self.docs
        snapshot = {d.uri: d.version for d in docs.all() if os.path.dirname(d.path) == directory}
        overlays = self.overlays()
        self.analyses += 1
        self.client.log_info(f"analysing {directory}")
        self.client.send_status("analysing", directory)
        loop = asyncio.get_running_loop()
        progress = _DelayedProgress(
            self.client, f"heaplens: analysing {os.path.basename(directory)}"
        )
        progress.start()
        started = time.monotonic()
        result: CheckResult | None = None
        try:
            await self.profiles.ready()  # a load under way: its costs, not the old ones
            engine = self.engine()
            queries = self.queries_for(directory)

            def early(partial: CheckResult) -> None:
                # In the worker, as the whole result's: proposing fixes reads the files.
                partial = self._join(with_candidates(partial, cache=engine.cache), loop)
                with contextlib.suppress(RuntimeError):  # the loop closed: shutting down
                    loop.call_soon_threadsafe(self._finish_early, partial, token, snapshot)

            # What is typed gets the compiler that stops after escape analysis; a save,
            # or the same text once idle, the full compile.
            stop = bool(overlays) and self._full_next.pop(directory, None) != snapshot

            def check() -> CheckResult:
                found = engine.check_queries(queries, overlays, token, None, early, stop)
                # After the candidates: the join replaces findings, keeping what they carry.
                return self._join(with_candidates(found, cache=engine.cache), loop)

            result = await loop.run_in_executor(self.executor, check)
        except Cancelled:
            pass
        except ToolchainError as e:
            self._show_error_once(str(e))
            self._error = str(e)
        except (TimedOut, TargetError) as e:
            # TargetError: a package directory that is gone, or outside any module with no
            # Go file on disk (a new buffer not saved yet). Said in the log, not a pop-up.
            self.client.log_warning(str(e))
            self._error = str(e)
        finally:
            await progress.end()
        try:
            ahead = _Ahead({}, {})
            if result is not None and self._current(token, snapshot):
                ahead = await loop.run_in_executor(self.executor, self._convert_ahead, result)
                self._adopt(ahead.converted)
            if result is not None:
                self._finish(directory, result, token, snapshot, overlays, started, ahead.findings)
        finally:
            # After publishing, so a status bar's count is never behind its "idle".
            self._report_status(directory)

    def _finish(
        self,
        directory: str,
        result: CheckResult,
        token: CancelToken,
        snapshot: dict[str, int],
        overlays: dict[str, bytes],
        started: float,
        prepared: dict[str, tuple[Finding, ...]],
    ) -> None:
        if not self._current(token, snapshot):
            return
        if result.errors and not result.packages:
            # Nothing was analysed: say why (a toolchain line asking for a newer Go, a
            # module go cannot find without the network...), once.
            first = result.errors[0]
            where = f"{first.file}: " if first.file else ""
            self._error = f"heaplens: {where}{first.message}"
            self._show_error_once(self._error)
            return
        self._shown_error = None
        self._error = None
        s = result.stats
        self.client.log_info(
            f"{directory}: {s.compiled_units} compiled, {s.cached_units} from cache, "
            f"{time.monotonic() - started:.3f}s (go {s.go_seconds:.3f}s, "
            f"heaplens {s.engine_seconds:.3f}s); {s.direct_units} compiled without the go "
            f"command, {s.reused_files} file(s) unchanged in the compiler's log; "
            f"{s.stopped_units} stopped after escape analysis"
        )
        if s.stopped_note and s.stopped_note not in self._stopped_notes:
            self._stopped_notes.add(s.stopped_note)
            self.client.log_info(s.stopped_note)
        self.apply(result, prepared=prepared)
        if any(p.stopped_early for p in result.packages):
            self._full_next[directory] = snapshot
            self.request(os.path.join(directory, "_"), delay=FULL_AFTER_STOPPED)
        for pkg in result.packages:
            if not pkg.errors and not self.paused(pkg.dir):
                for listener in self._package_listeners:
                    listener(pkg, overlays)

    def _finish_early(
        self, partial: CheckResult, token: CancelToken, snapshot: dict[str, int]
    ) -> None:
        """Publish the non-test files' findings while the test binaries still compile."""
        if self._current(token, snapshot) and partial.packages:
            self.apply(partial)

    def _current(self, token: CancelToken, snapshot: dict[str, int]) -> bool:
        """False when a result was computed for text the user no longer sees (a newer
        analysis is then already queued)."""
        if token.cancelled:
            return False
        for uri, version in snapshot.items():
            doc = self.docs.get(uri)
            if doc is not None and doc.version != version:
                return False
        return True

    def _report_status(self, directory: str) -> None:
        if self._error is not None:
            self.client.send_status("error", directory, self._error)

    def _idle(self, directory: str) -> None:
        # Idle once no analysis is due or running, not when one ends while an edit's
        # analysis waits for its debounce: clients (and the tests) read it as "the
        # analyses asked for so far have finished". An error stays shown until one works;
        # a server shutting down says nothing more.
        if self._error is None and not self._stopped:
            self.client.send_status("idle", directory)

    def _show_error_once(self, message: str) -> None:
        if self._shown_error == message:
            return
        self._shown_error = message
        self.client.show_error(message)

    # -- results -------------------------------------------------------------------

    def apply(
        self,
        result: CheckResult,
        publish_all: bool = False,
        prepared: dict[str, tuple[Finding, ...]] | None = None,
    ) -> None:
        """Record a result's findings and publish them (a file's as ``prepared`` holds
        them, if it does: see ``_convert_ahead``)."""
        prepared = prepared or {}
        docs = self.docs
        for pkg in result.packages:
            if self.paused(pkg.dir):
                # Paused while it was analysed, or one of a workspace scan's: its findings
                # are not taken, and ``diagnostics_for`` shows none.
                continue
            why = _stale_reason(pkg.errors)
            if pkg.import_path:
                self._import_paths[pkg.dir] = pkg.import_path
            files = set(pkg.files)
            excluded = set(pkg.excluded)
            if not result.partial:  # a partial result covers some files; none went away
                for gone in self._package_files.get(pkg.dir, set()) - files - excluded:
                    docs.forget(gone)
                    self.publish(gone)
                self._package_files[pkg.dir] = files | excluded
            for path in sorted(excluded):
                if docs.by_path(path) is not None:  # as gopls: for the files one has open
                    why = left_out(path, docs.text(path), result.platform).message
                    docs.set_findings(path, FileFindings(excluded=why))
                    self.publish(path)
            for path in pkg.files:
                fresh = prepared.get(path)
                if fresh is None:
                    fresh = tuple(f for f in pkg.findings if f.file == path)
                previous = docs.findings(path)
                if pkg.errors and not fresh and previous.findings:
                    docs.set_findings(path, FileFindings(previous.findings, True, why))
                else:
                    docs.set_findings(path, FileFindings(fresh))
                    for replaced in self._replaced_listeners:
                        replaced(path)
                self.publish(path, force=publish_all)
        self.client.refresh_inlay_hints()

    def publish_soon(self, path: str) -> None:
        """Publish ``path``'s findings, moved by an edit, once edits pause for
        ``EDIT_PUBLISH_DELAY``: the edits of a burst go out in one publish."""
        waiting = self._soon.pop(path, None)
        if waiting is not None:
            waiting.cancel()  # a burst goes on: one publish when it ends
        loop = asyncio.get_running_loop()
        delay = max(EDIT_PUBLISH_DELAY, self._next_edit_publish - loop.time())
        self._soon[path] = loop.call_later(delay, self._publish_moved, path)

    def _publish_moved(self, path: str) -> None:
        self._soon.pop(path, None)
        if path in self._moving:
            # Converting 4,500 findings takes a worker the better part of a second: while
            # typing, a pause of 50 ms after each key started another, and three at once
            # held the interpreter from hover. The one running publishes again when done.
            self._again.add(path)
            return
        task = asyncio.get_running_loop().create_task(self._convert_then_publish(path))
        self._moving[path] = task
        task.add_done_callback(lambda _: self._moved(path))

    def _moved(self, path: str) -> None:
        del self._moving[path]
        if path in self._again and not self._stopped:
            self._again.discard(path)
            self._publish_moved(path)

    async def _convert_then_publish(self, path: str) -> None:
        """The moved findings are converted in a worker thread, then published: an Enter
        above 4,500 findings moves thousands, and converting them on the loop kept hover
        waiting."""
        docs = self.docs
        loop = asyncio.get_running_loop()
        # Edits that arrive meanwhile (a burst) move findings again; converted again here,
        # a few times at most.
        for _ in range(3):
            doc = docs.by_path(path)
            if doc is None:
                break
            # Moved through the pending edits here too: hover and inlay hints meanwhile
            # move only the few findings they show (``DocumentStore.index``).
            state = await loop.run_in_executor(self.executor, docs.findings, path)
            context = self._context(state.stale)
            previous = self._converted.get(path)
            known: dict[int, tuple[Finding, Encoded]] = {}
            if previous is not None and previous.doc is doc and previous.context == context:
                known = previous.diagnostics
            _, kept = await loop.run_in_executor(
                self.executor, self._convert, path, doc.lines, state.findings, context, known, True
            )
            self._adopt({path: _Converted(doc, context, kept)})
            if not docs.moving(path):
                break
        else:
            # Edits kept coming: each asked for a publish of its own once edits pause
            # (``publish_soon``). Moving and converting what they moved here, on the
            # loop, kept hover waiting.
            return
        started = loop.time()
        self.publish(path)
        took = loop.time() - started
        self._next_edit_publish = loop.time() + EDIT_PUBLISH_SPACING * took

    def publish(self, path: str, force: bool = False) -> None:
        pending = self._soon.pop(path, None)
        if pending is not None:
            pending.cancel()  # this publish is newer
        docs = self.docs
        doc = docs.by_path(path)
        uri = doc.uri if doc is not None else path_to_uri(path)
        if doc is None and not (self.settings.diagnoseUnopenedFiles or force):
            self._basis.pop(path, None)
            if path in self._published:
                self._published.discard(path)
                self.client.publish(uri, [], None)
            return
        text = docs.text(path)
        version = doc.version if doc is not None else None
        basis = self._basis_of(path, text, version)
        if not force and self._basis.get(path) == basis:
            # An analysis republishes every file of its package; most did not change, and
            # converting and sending them again is most of the server's share of an edit.
            return
        self._basis[path] = basis
        diagnostics = self.diagnostics_for(path, text)
        if diagnostics or path in self._published:
            self.client.publish(uri, diagnostics, version)
            for listener in self._published_listeners:
                listener(path)
        if diagnostics:
            self._published.add(path)
        else:
            self._published.discard(path)

    def _basis_of(self, path: str, text: bytes, version: int | None) -> tuple[object, ...]:
        """What ``diagnostics_for`` reads: the findings, the settings, the client's
        encoding, and the text of every file a position is converted in."""
        docs = self.docs
        state = docs.findings(path)
        # Positions in other files are converted line by line (columns in UTF-16...):
        # only the lines they are on matter, so an edit elsewhere in those files does not
        # resend every diagnostic whose flow passes through them.
        elsewhere: dict[str, set[int]] = {}
        for f in state.findings:
            for step in f.flow:
                if step.location is not None and step.location.file != path:
                    elsewhere.setdefault(step.location.file, set()).add(step.location.position.line)
        lines_elsewhere = []
        for other in sorted(elsewhere):
            lookup = docs.lines(other)
            lines_elsewhere.append((other, tuple((n, lookup(n)) for n in sorted(elsewhere[other]))))
        return (
            version,
            # The parts, not the object: FileFindings is updated in place (edits move
            # findings, verified fixes are attached), and the basis must not follow it.
            state.findings,
            state.stale,
            state.stale_reason,
            state.excluded,
            self.settings,
            self.client.encoding(),
            self.client.supports_related_information(),
            text,
            tuple(lines_elsewhere),
        )

    def diagnostics_for(self, path: str, text: bytes) -> list[Encoded]:
        if self.paused(os.path.dirname(path)):
            return []  # the publish that clears them once the package is paused
        state = self.docs.findings(path)
        doc = self.docs.by_path(path)
        if doc is not None and doc.text is not text:
            doc = None  # converting some other text than the buffer's
        lines = doc.lines if doc is not None else lines_of(text)
        context = self._context(state.stale)
        previous = self._converted.get(path)
        known: dict[int, tuple[Finding, Encoded]] = {}
        if previous is not None and previous.doc is doc and previous.context == context:
            known = previous.diagnostics
        out, kept = self._convert(path, lines, state.findings, context, known, doc is not None)
        if doc is not None:
            self._converted[path] = _Converted(doc, context, kept)
        else:
            self._converted.pop(path, None)
        if state.stale:
            hint = stale_hint(text, lines, context[0], state.stale_reason)
            out.append((hint, encode(hint)))
        if state.excluded:
            note = excluded_note(text, lines, context[0], state.excluded)
            out.append((note, encode(note)))
        return out

    def _context(self, stale: bool) -> tuple[Encoding, Settings, bool, bool]:
        """Everything a diagnostic depends on besides its finding and the text."""
        encoding = self.client.encoding()
        return (encoding, self.settings, self.client.supports_related_information(), stale)

    def _convert(
        self,
        path: str,
        lines: LineLookup,
        findings: Iterable[Finding],
        context: tuple[Encoding, Settings, bool, bool],
        known: dict[int, tuple[Finding, Encoded]],
        keep: bool,
    ) -> tuple[list[Encoded], dict[int, tuple[Finding, Encoded]]]:
        """The diagnostics of ``findings``, encoded (those ``known`` already taken from
        there), and, if ``keep``, those that can be kept for the next publish."""
        encoding, settings, related, stale = context
        kinds = settings.kind_set
        cache: dict[str, LineLookup] = {path: lines}

        def lines_for(p: str) -> LineLookup:
            if p not in cache:
                cache[p] = self.docs.lines(p)
            return cache[p]

        kept: dict[int, tuple[Finding, Encoded]] = {}
        out: list[Encoded] = []
        for f in findings:
            if f.kind not in kinds:
                continue
            hit = known.get(id(f))
            if hit is not None and hit[0] is f:
                entry = hit[1]
                if keep:  # it was kept, so its positions are all in ``path``
                    kept[id(f)] = hit
            else:
                d = diagnostic(f, lines, lines_for, encoding, settings, related, stale)
                entry = (d, encode(d))
                if keep and _only_in(f, path):
                    kept[id(f)] = (f, entry)
            out.append(entry)
        return out, kept

    def _convert_ahead(self, result: CheckResult) -> _Ahead:
        """The diagnostics of a result's findings in open documents, converted in a worker
        thread while the loop answers hover and inlay hints: a package's 4,500 new
        findings took the loop the better part of a second. ``diagnostics_for`` then
        finds them converted, if the documents are still the ones converted in.

        Each file's findings are first made what ``apply`` will show: with the fixes
        verified earlier on them, and each one equal to a finding shown now replaced by
        that very object. An analysis after edits mostly finds what the edits moved, and
        then nothing is converted again, nor compared in depth, nor indexed on the loop."""
        out: dict[str, _Converted] = {}
        prepared: dict[str, tuple[Finding, ...]] = {}
        docs = self.docs
        for pkg in result.packages:
            for path in pkg.files:
                doc = docs.by_path(path)
                fresh = tuple(f for f in pkg.findings if f.file == path)
                if doc is None:
                    continue
                shown = docs.findings(path).findings
                if pkg.errors and not fresh and shown:
                    # ``apply`` keeps them, marked stale: every diagnostic says so.
                    fresh, context = shown, self._context(True)
                elif fresh:
                    fixed = self._fresh(path, fresh)
                    fresh = prepared[path] = _same_as(fixed, shown)
                    context = self._context(False)
                else:
                    continue
                previous = self._converted.get(path)
                known: dict[int, tuple[Finding, Encoded]] = {}
                if previous is not None and previous.doc is doc and previous.context == context:
                    known = previous.diagnostics
                _, kept = self._convert(path, doc.lines, fresh, context, known, True)
                out[path] = _Converted(doc, context, kept)
        return _Ahead(out, prepared)

    def _adopt(self, converted: dict[str, _Converted]) -> None:
        for path, new in converted.items():
            old = self._converted.get(path)
            if old is not None and old.doc is new.doc and old.context == new.context:
                new = _Converted(new.doc, new.context, {**old.diagnostics, **new.diagnostics})
            self._converted[path] = new

    def known_files(self) -> set[str]:
        """Every file we have published for or hold findings of."""
        return set(self._published).union(*self._package_files.values())

    def republish(self, paths: Iterable[str]) -> None:
        for path in paths:
            self.publish(path)


@dataclass(frozen=True)
class _Ahead:
    """What ``_convert_ahead`` prepares in a worker thread for ``apply``, by file: the
    diagnostics, and the findings they are of."""

    converted: dict[str, _Converted]
    findings: dict[str, tuple[Finding, ...]]


def _same_as(fresh: tuple[Finding, ...], shown: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """``fresh`` with each finding equal to one of ``shown`` replaced by that one; ``shown``
    itself when they are all the same."""
    if fresh == shown:
        return shown
    by_value = {f: f for f in shown}
    return tuple(by_value.get(f, f) for f in fresh)


def _only_in(f: Finding, path: str) -> bool:
    """Whether every position of ``f`` that a diagnostic converts is in ``path``."""
    return all(
        s.location is None or s.location.file == path or not os.path.isabs(s.location.file)
        for s in f.flow
    )


def _stale_reason(errors: Iterable[object]) -> str:
    for e in errors:
        file = getattr(e, "file", "")
        if file:
            return f"{os.path.basename(file)}:{getattr(e, 'line', 0)} does not compile"
        return "the package does not compile"
    return ""


class _DelayedProgress:
    """Work-done progress that only appears for work longer than ``PROGRESS_DELAY``."""

    def __init__(self, client: Client, title: str) -> None:
        self._client = client
        self._title = title
        self._task: asyncio.Task[None] | None = None
        self._token: str | None = None

    def start(self) -> None:
        if self._client.supports_progress():
            self._task = asyncio.get_running_loop().create_task(self._begin())

    async def _begin(self) -> None:
        await asyncio.sleep(PROGRESS_DELAY)
        token = f"heaplens-{uuid.uuid4()}"
        try:
            await self._client.create_progress(token)
        except Exception:  # the client may refuse; progress is a nicety
            return
        self._token = token
        self._client.begin_progress(
            token, types.WorkDoneProgressBegin(title=self._title, cancellable=False)
        )

    async def end(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._token is not None:
            self._client.end_progress(self._token, types.WorkDoneProgressEnd())
            self._token = None

"""Compiler-verified fixes in the editor: verifying them in the background, and offering
the ones that hold as code actions.

After an analysis of a package, the fixes its findings allow are verified in the
background (each is a recompile; the engine's result cache, on disk, makes repeats free,
across server restarts too). Verification starts once the user has paused typing in the
package for ``VERIFY_DELAY`` (at once after a file is opened: there is no typing to wait
out) and is cancelled as soon as the package changes again. The open files' candidates
go first, the file the user last worked in first of all, and each fix is offered as soon
as it is verified: the user looks at one file, not at the whole package.

A verified fix is offered on the diagnostics it answers, for as long as the file it was
verified against is unchanged, as one action however many of those diagnostics the
request covers. It is a ``quickfix``, unless it changes an exported function's signature:
callers outside the module may break, so it is a ``refactor.rewrite`` the user must pick
from the refactor menu, never the preferred one-click fix. Clients that can resolve code
actions get the edit on resolve.

The verifier is given the client, the document store and the analyzer whose results it
verifies; ``register`` has it listen to them: a package analysed, a file's findings
replaced or fresh, a document edited.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from lsprotocol import types

from .. import fixes
from ..fixes.edits import to_range
from ..fixes.fixer import Refusal
from ..fixes.savings import fix_savings
from ..fixes.service import FixService
from ..model import Finding, Fix, Range
from ..syntax import SourceFile
from ..toolchain import Cancelled, CancelToken
from .analysis import Analyzer
from .client import Client
from .convert import lines_of, path_to_uri, to_lsp_range
from .documents import DocumentStore

log = logging.getLogger(__name__)
# Verification waits for the user to pause a little longer than analysis does: its
# compiles are wasted if a keystroke cancels them.
VERIFY_DELAY = 0.3
#: How the title of a fix that changes an exported API begins.
API_CHANGE = "Change exported API: "
# The engine's own note on such a fix ("; changes the exported API of F"), which the
# prefix makes redundant.
_API_NOTE = re.compile(r"; changes the exported API of [^;)]+")

Anchor = tuple[str, Range]
#: A candidate, from one verification to the next: kind, file, function, summary.
_Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class _Verified:
    fix: fixes.VerifiedFix
    #: The text the fix was verified against, by hash: it is offered only while it holds.
    digest: str
    #: Names the fix in a code action's data: positions in the lists of fixes change
    #: while a package is verified, this does not.
    ref: str


@dataclass
class Offer:
    """A code action and the 1-based line it is about: two different actions that would
    have the same title are told apart by it."""

    action: types.CodeAction
    line: int


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def title_of(fix: fixes.VerifiedFix) -> str:
    """The title the user reads: an API change says so first."""
    if not fix.changes_api:
        return fix.title
    return API_CHANGE + _API_NOTE.sub("", fix.title)


def _with_savings(title: str, findings: Sequence[Finding], label: str) -> str:
    """The title, with what the profile says the fix saves of the allocations it
    answers (``fix_savings``: each shared line once, "up to" where the profile cannot
    split one)."""
    saved = fix_savings(findings, label or "the profile")
    return f"{title} ({saved})" if saved else title


def _weighed(anchors: Iterable[Anchor], costly: Mapping[Anchor, Finding]) -> list[Finding]:
    return [costly[a] for a in dict.fromkeys(anchors) if a in costly]


def kind_of(fix: fixes.VerifiedFix) -> types.CodeActionKind:
    if fix.changes_api:
        return types.CodeActionKind.RefactorRewrite
    return types.CodeActionKind.QuickFix


def verification_order(
    candidates: Iterable[fixes.Candidate], docs: DocumentStore
) -> list[fixes.Candidate]:
    """The candidates in the order to verify them: those of open documents first, of the
    one the user was last active in first of all, then the others as proposed; a file's
    candidates stay together, in the order they were proposed. Changes to an exported
    API come after all the rest: each compiles the whole module, and is only ever a
    refactoring, not a quick fix the user is waiting for."""
    active = {d.path: d.active for d in docs.all()}
    by_file: dict[str, list[fixes.Candidate]] = {}
    for c in candidates:
        by_file.setdefault(c.file, []).append(c)
    order = sorted(by_file, key=lambda f: (f not in active, -active.get(f, 0)))
    ordered = [c for f in order for c in by_file[f]]
    return [c for c in ordered if not c.changes_api] + [c for c in ordered if c.changes_api]


def _key(candidate: fixes.Candidate) -> _Key:
    return (candidate.kind, candidate.file, candidate.function, candidate.summary)


def merge_diagnostics(
    groups: Iterable[Sequence[types.Diagnostic] | None],
) -> list[types.Diagnostic]:
    """The diagnostics of all ``groups``, each once, in order."""
    out: list[types.Diagnostic] = []
    for group in groups:
        for d in group or ():
            if d not in out:
                out.append(d)
    return out


def register(analyzer: Analyzer, docs: DocumentStore, fixer: FixVerifier) -> None:
    """Verify the fixes of each package analysed, keep them on the findings that replace
    those they were verified for, and stop verifying a package whose documents change."""

    analyzer.on_package_analysed(
        lambda pkg, overlays: fixer.schedule(pkg.dir, list(pkg.findings), pkg.files, dict(overlays))
    )
    analyzer.on_findings_replaced(fixer.reattach)
    analyzer.on_fresh_findings(fixer.with_fixes)
    docs.on_edited(lambda path: fixer.cancel(os.path.dirname(path)))


class FixVerifier:
    def __init__(self, client: Client, docs: DocumentStore, analyzer: Analyzer) -> None:
        self.client = client
        self.docs = docs
        self.analyzer = analyzer
        self._tokens: dict[str, CancelToken] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        #: When each package's documents were last edited (``time.monotonic``).
        self._edited: dict[str, float] = {}
        #: Package directory -> candidate -> its verified fix, replaced one candidate at
        #: a time as verification goes.
        self._groups: dict[str, dict[_Key, _Verified]] = {}
        #: File -> every fix with a finding there (an index of ``_groups``).
        self._verified: dict[str, list[_Verified]] = {}

    def _text(self, path: str) -> bytes:
        return self.docs.text(path)

    def cancel(self, directory: str) -> None:
        """A document of the package changed: what is being verified is out of date."""
        self._edited[directory] = time.monotonic()
        self._stop(directory)

    def stop_all(self) -> None:
        """The server is exiting: no verification goes on, and none starts a `go`."""
        for directory in list(self._tokens):
            self._stop(directory)

    def _stop(self, directory: str) -> None:
        token = self._tokens.pop(directory, None)
        if token is not None:
            token.cancel()
        task = self._tasks.pop(directory, None)
        if task is not None:
            task.cancel()

    def schedule(
        self,
        directory: str,
        findings: list[Finding],
        files: tuple[str, ...],
        overlays: dict[str, bytes],
    ) -> None:
        """Verify the fixes of one package's findings, in the background."""
        self._stop(directory)
        if not findings:
            return
        token = CancelToken()
        self._tokens[directory] = token
        loop = asyncio.get_running_loop()
        self._tasks[directory] = loop.create_task(
            self._verify(directory, findings, frozenset(files), overlays, token)
        )

    async def _verify(
        self,
        directory: str,
        findings: list[Finding],
        files: frozenset[str],
        overlays: dict[str, bytes],
        token: CancelToken,
    ) -> None:
        # The analysis waited for a pause already, and took its time: wait out the rest.
        edited = self._edited.get(directory)
        if edited is not None:
            await asyncio.sleep(max(0.0, VERIFY_DELAY - (time.monotonic() - edited)))
        analyzer = self.analyzer
        loop = asyncio.get_running_loop()
        service = FixService(analyzer.engine())
        queries = analyzer.queries_for(directory)
        if not queries:
            return
        texts = {p: overlays.get(p) or self._text(p) for p in {f.file for f in findings}}

        def source(path: str) -> SourceFile | None:
            data = texts.get(path)
            if data is None:
                data = self._text(path)
                texts[path] = data
            return SourceFile(path, data) if data else None

        def propose() -> list[fixes.Candidate]:
            return service.propose(findings, source, editable=files)

        def work(candidate: fixes.Candidate) -> fixes.VerifiedFix | Refusal:
            return service.verify(queries[0], overlays, candidate, findings, token)

        proposed: set[_Key] = set()
        count = 0
        try:
            candidates = await loop.run_in_executor(analyzer.executor, propose)
            for candidate in verification_order(candidates, self.docs):
                if token.cancelled:
                    return
                fix = await loop.run_in_executor(analyzer.executor, work, candidate)
                if token.cancelled:
                    return
                key = _key(candidate)
                proposed.add(key)
                entry = None if isinstance(fix, Refusal) else self._entry(fix, texts)
                if entry is not None:
                    count += 1
                # Offered at once: the rest of the package may take a while.
                self._install(directory, {key: entry})
        except Cancelled:
            return
        except Exception:
            log.exception("fix verification failed for %s", directory)
            return
        if token.cancelled:
            return
        self._install(directory, {}, keep_only=proposed)
        self.client.log_info(f"{directory}: {count} verified fix(es)")

    def _entry(self, fix: fixes.VerifiedFix, texts: Mapping[str, bytes]) -> _Verified | None:
        base = texts.get(fix.file) or self._text(fix.file)
        if self._text(fix.file) != base:
            return None  # edited while we verified: a newer run will redo it
        digest = _digest(base)
        return _Verified(fix, digest, _digest(repr((fix.file, fix.edits, digest)).encode()))

    def _install(
        self,
        directory: str,
        changed: Mapping[_Key, _Verified | None],
        keep_only: Collection[_Key] | None = None,
    ) -> None:
        """Replace the fixes of the ``changed`` candidates (None: it verified no fix),
        and with ``keep_only`` drop those of every other candidate; then republish the
        files whose findings gained or lost a fix."""
        held = self._groups.setdefault(directory, {})
        gone = [k for k in held if keep_only is not None and k not in keep_only]
        touched: set[str] = set()
        for key in [*changed, *gone]:
            for entry in (held.get(key), changed.get(key)):
                if entry is not None:
                    touched.update(path for path, _rng in entry.fix.anchors)
        for key in gone:
            del held[key]
        for key, entry in changed.items():
            if entry is None:
                held.pop(key, None)
            else:
                held[key] = entry
        if not touched:
            return
        index: dict[str, list[_Verified]] = {}
        for package in self._groups.values():
            for entry in package.values():
                # Once per file, however many of its findings the fix answers there.
                for path in dict.fromkeys(path for path, _rng in entry.fix.anchors):
                    index.setdefault(path, []).append(entry)
        self._verified = index
        for path in sorted(touched):
            self._attach(path)
            self.analyzer.publish(path)

    def reattach(self, path: str) -> None:
        """New findings for ``path``: give them the fixes verified earlier that still hold,
        as the last verification did, so an unchanged file is not republished twice (once
        without them, once with them when verification ends)."""
        if self._verified.get(path):
            self._attach(path)

    def with_fixes(self, path: str, findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
        """``findings``, new for ``path``, as ``reattach`` leaves them. Safe in a worker
        thread: an analysis puts the fixes on its fresh findings there, before converting
        them."""
        if not self._verified.get(path):
            return findings
        return self._fixed(path, findings)

    def _attach(self, path: str) -> None:
        """Put the fixes on the findings, so diagnostics carry them in ``data``."""
        state = self.docs.findings(path)
        state.findings = self._fixed(path, state.findings)

    def _fixed(self, path: str, findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
        """``findings`` of ``path`` with the fixes verified for them that still hold (and
        no others); the same tuple when that changes none of them."""
        # By anchor, once: a package can have thousands of findings and of anchors.
        titles_at: dict[Anchor, list[tuple[str, str]]] = {}
        for e in self.current(path):
            for anchor in dict.fromkeys(e.fix.anchors):
                titles_at.setdefault(anchor, []).append((e.fix.kind, title_of(e.fix)))
        found = []
        for f in findings:
            titles = titles_at.get((f.file, f.range), ())
            fixes = tuple(Fix(k, t, True) for k, t in titles)
            # The same object when its fixes did not change: its diagnostic is kept.
            found.append(f if fixes == f.fixes else replace(f, fixes=fixes))
        if all(a is b for a, b in zip(found, findings, strict=True)):
            return findings  # what was built on the tuple (its index, its spans) holds
        return tuple(found)

    def current(self, path: str) -> list[_Verified]:
        """Verified fixes for findings in ``path`` whose text is still the verified text."""
        digests: dict[str, str] = {}
        out = []
        for entry in self._verified.get(path, []):
            file = entry.fix.file
            if file not in digests:
                digests[file] = _digest(self._text(file))
            if digests[file] == entry.digest:
                out.append(entry)
        return out

    def actions(
        self,
        path: str,
        found: Sequence[tuple[Finding, Sequence[types.Diagnostic]]],
        resolve: bool,
    ) -> list[Offer]:
        """One action per verified fix that answers any of ``found`` (findings of
        ``path`` with their diagnostics in the request), in the order of the first
        finding each answers, with the diagnostics of all the findings it answers."""
        rank: dict[Anchor, int] = {}
        diagnostics: dict[Anchor, list[Sequence[types.Diagnostic]]] = {}
        for f, diags in found:
            anchor = (f.file, f.range)
            rank.setdefault(anchor, len(rank))
            diagnostics.setdefault(anchor, []).append(diags)
        # What a fix saves is of every allocation it answers, asked about or not.
        costly = {(f.file, f.range): f for f in self.docs.findings(path).findings if f.cost}
        label = self.analyzer.profiles.labels.alloc if costly else ""
        ranked = []
        for entry in self.current(path):
            hits = [a for a in dict.fromkeys(entry.fix.anchors) if a in rank]
            if not hits:
                continue
            first = min(hits, key=rank.__getitem__)
            fix = entry.fix
            action = types.CodeAction(
                title=_with_savings(title_of(fix), _weighed(fix.anchors, costly), label),
                kind=kind_of(fix),
                diagnostics=merge_diagnostics(d for a in hits for d in diagnostics[a]),
                # An API change is never the one-click fix.
                is_preferred=None if fix.changes_api else True,
            )
            if resolve:
                action.data = {"heaplensFix": [path, entry.ref]}
            else:
                action.edit = self.edit_for(fix)
            ranked.append((rank[first], Offer(action, first[1].start.line)))
        ranked.sort(key=lambda r: r[0])
        return [offer for _rank, offer in ranked]

    def resolve(self, action: types.CodeAction) -> types.CodeAction:
        data: Any = action.data
        ref = data.get("heaplensFix") if isinstance(data, dict) else None
        if not isinstance(ref, list) or len(ref) != 2:
            return action
        path, wanted = ref
        entry = next((e for e in self.current(path) if e.ref == wanted), None)
        if entry is not None:
            action.edit = self.edit_for(entry.fix)
        return action

    def edit_for(self, fix: fixes.VerifiedFix) -> types.WorkspaceEdit:
        text = self._text(fix.file)
        encoding = self.client.encoding()
        lines = lines_of(text)
        doc = self.docs.by_path(fix.file)
        uri = doc.uri if doc is not None else path_to_uri(fix.file)
        edits = [
            types.TextEdit(range=to_lsp_range(lines, to_range(text, e), encoding), new_text=e.text)
            for e in fix.edits
        ]
        return types.WorkspaceEdit(changes={uri: edits})

"""Compiler-verified fixes in the editor.

After an analysis of a package, the fixes its findings allow are verified in the
background (each is a recompile; the engine's cache makes repeats free), cancelled as
soon as the package changes again. A verified fix is offered as a ``quickfix`` code
action on the diagnostics it answers, for as long as the files it was verified against
are unchanged. Clients that can resolve code actions get the edit on resolve.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from .. import fixes
from ..fixes.edits import to_range
from ..fixes.verify import verify
from ..model import Finding, Fix, Range
from ..syntax import SourceFile
from ..toolchain import Cancelled, CancelToken
from .convert import encoding_of, lines_of, path_to_uri, to_lsp_range

if TYPE_CHECKING:
    from .server import HeaplensServer

log = logging.getLogger(__name__)
# Verification waits for the user to pause a little longer than analysis does.
VERIFY_DELAY = 0.3


@dataclass(frozen=True)
class _Verified:
    fix: fixes.VerifiedFix
    #: The text the fix was verified against, by hash: it is offered only while it holds.
    digest: str


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class FixVerifier:
    def __init__(self, server: HeaplensServer) -> None:
        self.server = server
        self._tokens: dict[str, CancelToken] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._verified: dict[str, list[_Verified]] = {}

    def _text(self, path: str) -> bytes:
        return self.server.docs.text(path)

    def cancel(self, directory: str) -> None:
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
        self.cancel(directory)
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
        await asyncio.sleep(VERIFY_DELAY)
        analyzer = self.server.analyzer
        engine = analyzer.engine()
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

        def work() -> list[fixes.VerifiedFix]:
            done = []
            for candidate in fixes.propose(findings, source, editable=files):
                if token.cancelled:
                    break
                fix = verify(engine, queries[0], overlays, candidate, findings, token)
                if fix is not None:
                    done.append(fix)
            return done

        try:
            verified = await asyncio.get_running_loop().run_in_executor(analyzer.executor, work)
        except Cancelled:
            return
        except Exception:
            log.exception("fix verification failed for %s", directory)
            return
        if token.cancelled:
            return
        touched: set[str] = set()
        for path in {f.file for f in findings}:
            self._verified.pop(path, None)
        for fix in verified:
            base = texts.get(fix.file) or self._text(fix.file)
            if self._text(fix.file) != base:
                continue  # edited while we verified: a newer run will redo it
            entry = _Verified(fix, _digest(base))
            for file, _rng in fix.anchors:
                self._verified.setdefault(file, []).append(entry)
                touched.add(file)
        self.server.log_info(f"{directory}: {len(verified)} verified fix(es)")
        for path in touched:
            self._attach(path)
            analyzer.publish(path)

    def reattach(self, path: str) -> None:
        """New findings for ``path``: give them the fixes verified earlier that still hold,
        as the last verification did, so an unchanged file is not republished twice (once
        without them, once with them when verification ends)."""
        if self._verified.get(path):
            self._attach(path)

    def _attach(self, path: str) -> None:
        """Put the fixes on the findings, so diagnostics carry them in ``data``."""
        docs = self.server.docs
        state = docs.findings(path)
        # By anchor, once: a package can have thousands of findings and of anchors.
        titles_at: dict[tuple[str, Range], list[tuple[str, str]]] = {}
        for e in self.current(path):
            for anchor in dict.fromkeys(e.fix.anchors):
                titles_at.setdefault(anchor, []).append((e.fix.kind, e.fix.title))
        found = []
        for f in state.findings:
            titles = titles_at.get((f.file, f.range), ())
            found.append(replace(f, fixes=tuple(Fix(k, t, True) for k, t in titles)))
        state.findings = tuple(found)

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
        self, finding: Finding, diagnostics: list[types.Diagnostic], resolve: bool
    ) -> list[types.CodeAction]:
        out = []
        for index, entry in enumerate(self.current(finding.file)):
            if (finding.file, finding.range) not in entry.fix.anchors:
                continue
            action = types.CodeAction(
                title=entry.fix.title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=diagnostics,
                is_preferred=True,
            )
            if resolve:
                action.data = {"heaplensFix": [finding.file, index, entry.digest]}
            else:
                action.edit = self.edit_for(entry.fix)
            out.append(action)
        return out

    def resolve(self, action: types.CodeAction) -> types.CodeAction:
        data: Any = action.data
        ref = data.get("heaplensFix") if isinstance(data, dict) else None
        if not ref:
            return action
        path, index, digest = ref
        entries = self.current(path)
        if index < len(entries) and entries[index].digest == digest:
            action.edit = self.edit_for(entries[index].fix)
        return action

    def edit_for(self, fix: fixes.VerifiedFix) -> types.WorkspaceEdit:
        text = self._text(fix.file)
        encoding = encoding_of(self.server.workspace.position_encoding)
        lines = lines_of(text)
        doc = self.server.docs.by_path(fix.file)
        uri = doc.uri if doc is not None else path_to_uri(fix.file)
        edits = [
            types.TextEdit(range=to_lsp_range(lines, to_range(text, e), encoding), new_text=e.text)
            for e in fix.edits
        ]
        return types.WorkspaceEdit(changes={uri: edits})

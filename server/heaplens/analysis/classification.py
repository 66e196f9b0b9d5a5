"""Findings from a compiler's log, file by file, with a cache of each file's findings:
after an edit most files log the same again, and their findings are then those of the
last compile, loaded while the compiler runs (``Classifier.prefetch``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .. import assertions, compiler_output, findings, keys
from ..cache import ResultCache, UnitResult
from ..model import Finding
from ..syntax import SourceFile
from .run import Prefetch

if TYPE_CHECKING:
    from .run import Check


def log_digest(logs: Sequence[bytes]) -> str:
    """What the compiler logged about one file (``Classifier.file_key``)."""
    h = hashlib.blake2b(digest_size=32)
    for data in logs:
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _assertions(check: Check, files: Sequence[str], found: Sequence[Finding]) -> list[Finding]:
    """The broken assertions and unreadable directives of ``files``, judged against
    ``found``."""
    out: list[Finding] = []
    for file in files:
        src = check.sources.get(file)
        if src is not None:
            out += assertions.check(src, found)
    return out


def _classify_file(
    log: compiler_output.RawLog,
    file: str,
    check: Check,
    scope: Callable[[str], findings.PackageScope],
    before: Callable[[str], int],
) -> UnitResult:
    """One file's findings from its part of the log, with its assertions:
    they are judged on the file's text and log, which its key and tag cover, so they
    are cached with its findings."""
    raw = log.parse(only_about={file})
    classified = findings.classify(
        raw, [file], check.sources.get, scope, before, check.sources.imported_scalar
    )
    judged = _assertions(check, [file], classified.findings)
    return UnitResult((*classified.findings, *judged), (), tuple(classified.unknown))


class Classifier:
    """Turns logs into findings, for the engine that owns ``cache``."""

    def __init__(self, cache: ResultCache) -> None:
        self.cache = cache

    def classify(
        self,
        log: compiler_output.RawLog,
        wanted: Sequence[str],
        files: Sequence[str],
        check: Check,
        remap: Callable[[compiler_output.RawOutput], None] | None = None,
    ) -> tuple[list[Finding], list[str]]:
        """Findings in ``wanted`` from a compile of the package made of ``files``, and
        the compiler's lines that were not understood (kept with the unit's result, so
        that a cached answer still counts them).

        ``remap`` fixes positions in cgo's generated files. Without it, a file whose text
        and log are those of an earlier compile gets that compile's findings again from
        the cache, unparsed: an edit changes one file, and the others log the same again.
        """
        fresh: list[tuple[str, str, UnitResult]] = []
        unknown = list(log.unreadable)
        with check.timed_parse():
            scope = check.sources.scope_for(files)
            before = check.sources.init_closures_before_for(files)
            if remap is not None:
                raw = log.parse()
                remap(raw)
                classified = findings.classify(
                    raw, wanted, check.sources.get, scope, before, check.sources.imported_scalar
                )
                found = list(classified.findings)
                found += _assertions(check, wanted, found)
                return found, unknown + classified.unknown
            logs_of: dict[str, list[bytes]] = {}
            for one in log.files:
                if one.header is not None:
                    logs_of.setdefault(one.header, []).append(one.data)
            out: list[Finding] = []
            for file in wanted:
                if file not in logs_of:
                    # The compiler had nothing to say about it; its directives may still
                    # be misspelt.
                    out += _assertions(check, [file], [])
                    continue
                src = check.sources.get(file)
                key = self.file_key(file, src, scope(file), before(file))
                tag = log_digest(logs_of[file])
                known = self.cache.get(key, tag)
                if known is not None:
                    check.result.stats.reused_files += 1
                else:
                    known = _classify_file(log, file, check, scope, before)
                    fresh.append((key, tag, known))
                out.extend(known.findings)
                unknown.extend(known.unknown)
        # Storing is the cache's work, not the parse's; it is counted with the engine's.
        for key, tag, result in fresh:
            self.cache.put(key, result, tag)
        return out, unknown

    def file_key(
        self,
        file: str,
        src: SourceFile | None,
        scope: findings.PackageScope,
        init_closures_before: int,
    ) -> str:
        """Where a file's findings are filed: its text, the package's scope (reasons
        name its variables and tell its methods from fields), how its package numbers
        its initialisers' closures, and heaplens.
        The entry's tag says what the compiler logged about the file (``log_digest``);
        findings are reused only when that matches too.

        Everything but the log is known before the compiler runs, so the findings of the
        last compile can be loaded while it runs (``prefetch``).
        """
        h = hashlib.blake2b(digest_size=32)
        h.update(b"classification\0" + keys.CODE.encode() + b"\0")
        h.update(file.encode("utf-8", "surrogateescape") + b"\0")
        # The text the findings' ranges were computed on, as read for this check.
        source = src.source if src is not None else b""
        h.update(len(source).to_bytes(8, "little") + source)
        for names in (scope.vars, scope.methods, scope.fields, scope.scalars, scope.storage):
            h.update("\0".join(sorted(names)).encode("utf-8", "surrogateescape") + b"\1")
        h.update(init_closures_before.to_bytes(8, "little"))
        return h.hexdigest()

    def prefetch(self, check: Check, wanted: Sequence[str], files: Sequence[str]) -> Prefetch:
        """While the compiler runs: parse the package's files, and load the findings of
        ``wanted`` files from their last compile. After an edit most files log the same
        again, and their findings are then ready, decoded, when the compiler is done.
        Start it when the compiler has started; wait for it with ``check.join``.
        """

        def work() -> None:
            check.sources.parse(files)
            scope = check.sources.scope_for(files)
            before = check.sources.init_closures_before_for(files)
            for file in wanted:
                src = check.sources.get(file)
                if src is not None:
                    key = self.file_key(file, src, scope(file), before(file))
                    self.cache.get(key, tag=None)

        return Prefetch(work)

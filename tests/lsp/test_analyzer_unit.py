"""The Analyzer with a recording client, the real engine and the real compiler on a tiny
module: what it publishes, when it says it is busy, what its listeners hear, and what
it does with an answer for a document closed meanwhile."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from lsprotocol import types

from heaplens.analysis import PackageResult
from heaplens.cache import ResultCache
from heaplens.lsp.analysis import Analyzer
from heaplens.lsp.documents import DocumentStore
from heaplens.lsp.settings import Settings
from heaplens.model import Finding, Fix
from tests.lsp.recording_client import Published, RecordingClient

SOURCE = """package tiny

type T struct{ n int }

func New() *T {
	return &T{n: 1}
}
"""
BROKEN = SOURCE.replace("return &T{n: 1}", "return &T{n: undefined}")


@pytest.fixture
def module(tmp_path: Path) -> Path:
    (tmp_path / "go.mod").write_text("module example.com/tiny\n\ngo 1.21\n")
    path = tmp_path / "tiny.go"
    path.write_text(SOURCE)
    return path


def _analyzer(
    client: RecordingClient, tmp_path: Path, settings: Settings | None = None
) -> tuple[Analyzer, DocumentStore]:
    docs = DocumentStore()
    chosen = settings or Settings(tests=False)
    analyzer = Analyzer(client, docs, lambda: chosen, ResultCache(tmp_path / "cache"))
    return analyzer, docs


def _escapes(published: Published | None) -> list[types.Diagnostic]:
    assert published is not None
    return [d for d in published.diagnostics if d.code == "escapes-to-heap"]


async def _analysed(client: RecordingClient, directory: str, count: int = 1) -> None:
    """Until ``count`` analyses of ``directory`` have ended ("idle" or "error")."""
    await client.until(
        lambda: (
            sum(s[0] in ("idle", "error") and s[1] == directory for s in client.statuses) >= count
        )
    )


async def test_an_analysis_publishes_findings_and_tells_its_listeners(
    module: Path, tmp_path: Path
) -> None:
    client = RecordingClient()
    analyzer, docs = _analyzer(client, tmp_path)
    analysed: list[PackageResult] = []
    replaced: list[str] = []
    analyzer.on_package_analysed(lambda pkg, overlays: analysed.append(pkg))
    analyzer.on_findings_replaced(replaced.append)
    path, uri = str(module), module.as_uri()
    docs.open(uri, path, 1, SOURCE)
    analyzer.request(path, delay=0.0)
    await _analysed(client, str(module.parent))
    escapes = _escapes(client.last_for(uri))
    assert [d.range.start.line for d in escapes] == [5]  # `&T{n: 1}`, 0-based
    assert client.last_for(uri).version == 1  # type: ignore[union-attr]
    assert client.statuses[0][:2] == ("analysing", str(module.parent))
    assert client.statuses[-1][:2] == ("idle", str(module.parent))
    assert [p.dir for p in analysed] == [str(module.parent)]
    assert replaced == [path]
    assert client.refreshes >= 1
    analyzer.shutdown()


async def test_fresh_findings_are_shown_as_a_listener_makes_them(
    module: Path, tmp_path: Path
) -> None:
    client = RecordingClient()
    analyzer, docs = _analyzer(client, tmp_path)
    marked = Fix("mark", "Marked by a listener", True)

    def mark(path: str, findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
        assert path == str(module)
        return tuple(replace(f, fixes=(marked,)) for f in findings)

    analyzer.on_fresh_findings(mark)
    docs.open(module.as_uri(), str(module), 1, SOURCE)
    analyzer.request(str(module), delay=0.0)
    await _analysed(client, str(module.parent))
    escapes = _escapes(client.last_for(module.as_uri()))
    assert escapes and all(
        d.data["fixes"] == [{"kind": "mark", "title": "Marked by a listener", "verified": True}]
        for d in escapes
    )
    assert all(f.fixes == (marked,) for f in docs.findings(str(module)).findings)
    analyzer.shutdown()


async def test_a_package_that_stops_compiling_keeps_its_findings_marked_stale(
    module: Path, tmp_path: Path
) -> None:
    client = RecordingClient()
    analyzer, docs = _analyzer(client, tmp_path)
    path, uri = str(module), module.as_uri()
    docs.open(uri, path, 1, SOURCE)
    analyzer.request(path, delay=0.0)
    await _analysed(client, str(module.parent))
    docs.open(uri, path, 2, BROKEN)  # as a whole-document change would leave it
    analyzer.request(path, delay=0.0)
    await _analysed(client, str(module.parent), 2)
    last = client.last_for(uri)
    assert last is not None and last.version == 2
    escapes = _escapes(last)
    assert escapes and all(
        d.message.endswith("(from the last build that compiled)") for d in escapes
    )
    (hint,) = [d for d in last.diagnostics if d.code == "stale"]
    assert "tiny.go:6 does not compile" in hint.message
    analyzer.shutdown()


@pytest.mark.parametrize("unopened", [True, False])
async def test_an_answer_for_a_document_closed_meanwhile(
    module: Path, tmp_path: Path, unopened: bool
) -> None:
    """Closed while its analysis runs (as ``sync`` closes it): the answer is about the
    file on disk, published without a version, or not at all when unopened files get no
    diagnostics; nothing fails."""
    client = RecordingClient()
    settings = Settings(tests=False, diagnoseUnopenedFiles=unopened)
    analyzer, docs = _analyzer(client, tmp_path, settings)
    path, uri = str(module), module.as_uri()
    docs.open(uri, path, 1, SOURCE)
    analyzer.request(path, delay=0.0)
    await client.until(lambda: bool(client.statuses))  # the analysis is under way
    docs.close(uri)
    analyzer.publish(path)
    analyzer.request(path, delay=0.0)
    await client.until(
        lambda: not analyzer.scheduler.busy and client.statuses[-1][0] in ("idle", "error")
    )
    last = client.last_for(uri)
    if unopened:
        assert last is not None and last.version is None and _escapes(last)
    else:
        assert last is None or not last.diagnostics
    assert not [m for m in client.messages if m[0] == "error"]
    analyzer.shutdown()


async def test_nothing_runs_when_the_workspace_is_not_trusted(module: Path, tmp_path: Path) -> None:
    client = RecordingClient()
    analyzer, docs = _analyzer(client, tmp_path, Settings(workspaceTrusted=False))
    docs.open(module.as_uri(), str(module), 1, SOURCE)
    analyzer.request(str(module), delay=0.0)
    assert not analyzer.scheduler.busy and analyzer.analyses == 0
    analyzer.shutdown()

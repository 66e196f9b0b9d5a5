"""What an analysis's result costs the loop that answers hover: its findings are made
ready in a worker thread (``Analyzer._convert_ahead``), so that applying them converts no
diagnostic there. A result that finds what is shown keeps the very objects shown; a
package that stops compiling has its findings, now stale, converted in the worker."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lsprotocol import types

from conftest import write_big_package
from heaplens.analysis import CheckResult, Engine, Options
from heaplens.cache import ResultCache
from heaplens.lsp import analysis
from heaplens.lsp.server import HeaplensServer, create_server
from heaplens.workspace import plan


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Engine]:
    mod = tmp_path_factory.mktemp("publishing")
    (mod / "go.mod").write_text("module example.com/publishing\n\ngo 1.21\n")
    path = write_big_package(mod, "big", 40)
    return path, Engine(Options(tests=False), ResultCache(mod.parent / "cache"))


def _server() -> HeaplensServer:
    """A server in this process, initialized as by a client that supports related
    information (its ``initialize`` handler run to the end; nothing is sent)."""
    server = create_server()
    capabilities = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(related_information=True)
        )
    )
    steps = server.protocol.lsp_initialize(types.InitializeParams(capabilities=capabilities))
    for _ in steps:
        pass
    return server


def _check(engine: Engine, path: Path, overlays: dict[str, bytes] | None = None) -> CheckResult:
    directory = str(path.parent)
    return engine.check_queries(plan([directory], directory, engine.base_env()), overlays)


def _apply(server: HeaplensServer, result: CheckResult) -> int:
    """Apply ``result`` as an analysis does; how many diagnostics the loop converted."""
    ahead = server.analyzer._convert_ahead(result)
    server.analyzer._adopt(ahead.converted)
    converted = 0
    convert = analysis.diagnostic

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal converted
        converted += 1
        return convert(*args, **kwargs)  # type: ignore[arg-type]

    analysis.diagnostic = counting  # type: ignore[assignment]
    try:
        server.analyzer.apply(result, prepared=ahead.findings)
    finally:
        analysis.diagnostic = convert
    return converted


def test_a_result_that_finds_what_is_shown_changes_nothing_on_the_loop(
    package: tuple[Path, Engine],
) -> None:
    path, engine = package
    server = _server()
    server.docs.open(path.as_uri(), str(path), 1, path.read_text())
    first = _check(engine, path)
    assert _apply(server, first) == 0
    shown = server.docs.findings(str(path)).findings
    assert len(shown) >= 100
    again = copy.deepcopy(first)  # equal findings, other objects: as a new analysis gives
    assert again.packages[0].findings[0] is not first.packages[0].findings[0]
    assert _apply(server, again) == 0
    assert server.docs.findings(str(path)).findings is shown


def test_findings_that_go_stale_are_converted_in_the_worker(
    package: tuple[Path, Engine],
) -> None:
    path, engine = package
    server = _server()
    text = path.read_text()
    server.docs.open(path.as_uri(), str(path), 1, text)
    assert _apply(server, _check(engine, path)) == 0
    broken = text.replace("package big", "package big\n\nfunc broken() { undefined() }", 1)
    server.docs.open(path.as_uri(), str(path), 2, broken)
    stale = _check(engine, path, {str(path): broken.encode()})
    assert stale.packages[0].errors
    assert _apply(server, stale) == 0
    state = server.docs.findings(str(path))
    assert state.stale and state.findings
    diagnostics = server.analyzer.diagnostics_for(str(path), broken.encode())
    assert all("(from the last build that compiled)" in d.message for d, _ in diagnostics[:-1])

"""Each feature registers with what it is handed and works with only that: a host that
records handlers (no server), a recording client, the real document store, analyzer and
fix verifier. And no feature module imports the server."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from lsprotocol import types

from heaplens.cache import ResultCache
from heaplens.lsp import code_actions, commands, config, findings_list, fix_actions, sync, views
from heaplens.lsp.analysis import Analyzer
from heaplens.lsp.documents import DocumentStore, FileFindings
from heaplens.lsp.fix_actions import FixVerifier
from heaplens.lsp.settings import Settings
from heaplens.model import Finding, Kind, Position, Range, Reason, ReasonCode
from heaplens.toolchain import CancelToken
from tests.lsp.recording_client import FeatureRecorder

SOURCE = "package p\n\nfunc f() *int {\n\tx := 1\n\treturn &x\n}\n"
PATH = "/w/p.go"
URI = "file:///w/p.go"
FEATURES = Path(__file__).parents[2] / "server" / "heaplens" / "lsp"


class Parts:
    """What the server hands its features, built without a server."""

    def __init__(self, tmp_path: Path, settings: Settings | None = None) -> None:
        self.host = FeatureRecorder()
        self.settings = settings or Settings(mode="off")
        self.docs = DocumentStore()
        self.analyzer = Analyzer(
            self.host, self.docs, lambda: self.settings, ResultCache(tmp_path / "cache")
        )
        self.fixer = FixVerifier(self.host, self.docs, self.analyzer)

    def current(self) -> Settings:
        return self.settings


def _moved_x() -> Finding:
    return Finding(
        kind=Kind.MOVED_TO_HEAP,
        file=PATH,
        range=Range(Position(4, 2), Position(4, 3)),
        message="moved to heap: x",
        reason=Reason(ReasonCode.ADDRESS_RETURNED),
        function="p.f",
        subject="x",
    )


def _doc(uri: str = URI) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


@pytest.mark.parametrize(
    "module", ["sync", "views", "code_actions", "commands", "fix_actions", "findings_list"]
)
def test_a_feature_module_never_imports_the_server(module: str) -> None:
    tree = ast.parse((FEATURES / f"{module}.py").read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert "server" not in imported and "heaplens.lsp.server" not in imported
    assert "HeaplensServer" not in ast.unparse(tree)


def test_views_answer_from_the_store_they_are_given(tmp_path: Path) -> None:
    parts = Parts(tmp_path)
    views.register(parts.host, parts.docs, parts.current)
    assert set(parts.host.features) == {types.TEXT_DOCUMENT_HOVER, types.TEXT_DOCUMENT_INLAY_HINT}
    parts.docs.open(URI, PATH, 1, SOURCE)
    parts.docs.set_findings(PATH, FileFindings((_moved_x(),)))
    hover = parts.host.features[types.TEXT_DOCUMENT_HOVER](
        types.HoverParams(text_document=_doc(), position=types.Position(line=3, character=1))
    )
    assert isinstance(hover.contents, types.MarkupContent)
    assert "`x` moved to the heap in `p.f`" in hover.contents.value
    window = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=9, character=0)
    )
    hints = parts.host.features[types.TEXT_DOCUMENT_INLAY_HINT]
    assert [h.position.line for h in hints(types.InlayHintParams(_doc(), window))] == [3]
    parts.settings = Settings(mode="off", inlayHints=False)  # read when asked, not kept
    assert hints(types.InlayHintParams(_doc(), window)) == []


def test_sync_keeps_the_store_and_an_edit_stops_verification(tmp_path: Path) -> None:
    parts = Parts(tmp_path)
    sync.register(parts.host, parts.docs, parts.analyzer, parts.current)
    fix_actions.register(parts.analyzer, parts.docs, parts.fixer)
    handlers = parts.host.features
    item = types.TextDocumentItem(uri=URI, language_id="go", version=1, text=SOURCE)
    handlers[types.TEXT_DOCUMENT_DID_OPEN](types.DidOpenTextDocumentParams(item))
    assert parts.docs.get(URI) is not None
    change = types.TextDocumentContentChangeWholeDocument(text=SOURCE + "\n")
    versioned = types.VersionedTextDocumentIdentifier(uri=URI, version=2)
    handlers[types.TEXT_DOCUMENT_DID_CHANGE](types.DidChangeTextDocumentParams(versioned, [change]))
    doc = parts.docs.get(URI)
    assert doc is not None and doc.version == 2 and doc.text == (SOURCE + "\n").encode()
    # The fix verifier heard of the edit from the store, not from sync.
    assert "/w" in parts.fixer._edited
    handlers[types.TEXT_DOCUMENT_DID_CLOSE](types.DidCloseTextDocumentParams(_doc()))
    assert parts.docs.get(URI) is None


def test_fix_actions_listen_to_the_analyzer_they_are_given(tmp_path: Path) -> None:
    parts = Parts(tmp_path)
    findings = (_moved_x(),)
    fix_actions.register(parts.analyzer, parts.docs, parts.fixer)
    # Nothing verified yet: fresh findings pass through unchanged, the same tuple.
    assert parts.analyzer._fresh(PATH, findings) is findings
    assert len(parts.analyzer._package_listeners) == 1
    assert len(parts.analyzer._replaced_listeners) == 1


def test_code_actions_offer_from_the_store_and_the_verifier(tmp_path: Path) -> None:
    parts = Parts(tmp_path)
    code_actions.register(parts.host, parts.docs, parts.fixer, parts.current)
    options = parts.host.options[types.TEXT_DOCUMENT_CODE_ACTION]
    assert options.code_action_kinds == list(code_actions.KINDS)
    parts.docs.open(URI, PATH, 1, SOURCE)
    parts.docs.set_findings(PATH, FileFindings((_moved_x(),)))
    line = types.Range(
        start=types.Position(line=3, character=0), end=types.Position(line=3, character=99)
    )
    params = types.CodeActionParams(_doc(), line, types.CodeActionContext(diagnostics=[]))
    actions = parts.host.features[types.TEXT_DOCUMENT_CODE_ACTION](params)
    titles = [a.title for a in actions]
    assert any(t.endswith("to line 4") for t in titles)
    assert "Ignore findings in p.f: add //heaplens:ignore above it" in titles


async def test_commands_use_the_settings_and_the_hosts_progress_tokens(tmp_path: Path) -> None:
    parts = Parts(tmp_path, Settings(workspaceTrusted=False))
    commands.register(parts.host, parts.analyzer, parts.current)
    answer = await parts.host.commands[commands.ANALYZE_WORKSPACE]()
    assert answer["trusted"] is False
    assert parts.host.messages[-1][0] == "show-warning"
    token = CancelToken()
    parts.host.progress_cancels["t"] = token
    cancel = parts.host.features[types.WINDOW_WORK_DONE_PROGRESS_CANCEL]
    cancel(types.WorkDoneProgressCancelParams(token="t"))
    assert token.cancelled


async def test_a_scan_goes_through_the_folders_the_host_names(tmp_path: Path) -> None:
    module = tmp_path / "mod"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/p\n\ngo 1.21\n")
    (module / "p.go").write_text(SOURCE)
    parts = Parts(tmp_path, Settings(tests=False))
    parts.host.folders = [str(module)]
    parts.host.progress = True
    commands.register(parts.host, parts.analyzer, parts.current)
    answer = await asyncio.wait_for(parts.host.commands[commands.ANALYZE_WORKSPACE](), 120)
    assert answer == {"packages": 1, "findings": 1, "cancelled": False}
    kinds = [kind for kind, _ in parts.host.progress_sent]
    assert kinds[:2] == ["create", "begin"] and kinds[-1] == "end"
    assert not parts.host.progress_cancels  # the scan's token is forgotten when it ends
    assert any(p.uri == (module / "p.go").as_uri() and p.diagnostics for p in parts.host.published)
    parts.analyzer.shutdown()


async def test_the_findings_list_reads_the_store_it_is_given(tmp_path: Path) -> None:
    parts = Parts(tmp_path)
    findings_list.register(parts.host, parts.analyzer, parts.docs, parts.current)
    parts.docs.open(URI, PATH, 1, SOURCE)
    parts.docs.set_findings(PATH, FileFindings((_moved_x(),)))
    answer = await parts.host.commands[findings_list.LIST_FINDINGS]()
    assert answer["profile"] is None and answer["sortedBy"] == "position"
    [row] = answer["findings"]
    assert row["uri"] == URI and row["function"] == "p.f" and row["kind"] == "moved-to-heap"
    start, end = row["range"]["start"], row["range"]["end"]
    assert (start["line"], start["character"], end["line"], end["character"]) == (3, 1, 3, 2)
    # Kinds asked for override the setting's.
    none = await parts.host.commands[findings_list.LIST_FINDINGS]({"kinds": ["inlining"]})
    assert none["findings"] == []
    parts.analyzer.shutdown()


def test_a_publish_tells_the_client_the_findings_changed(tmp_path: Path) -> None:
    parts = Parts(tmp_path)
    findings_list.register(parts.host, parts.analyzer, parts.docs, parts.current)
    parts.docs.open(URI, PATH, 1, SOURCE)
    parts.docs.set_findings(PATH, FileFindings((_moved_x(),)))
    assert parts.host.notified == []
    parts.analyzer.publish(PATH)  # off the loop: told at once
    assert parts.host.notified == [(findings_list.FINDINGS_CHANGED, {})]


def test_config_takes_the_initialization_options(tmp_path: Path) -> None:
    parts = Parts(tmp_path)
    host = parts.host
    host.settings = Settings()  # type: ignore[attr-defined]
    config.register(host, parts.analyzer)  # type: ignore[arg-type]
    params = types.InitializeParams(
        capabilities=types.ClientCapabilities(), initialization_options={"mode": "onSave"}
    )
    host.features[types.INITIALIZE](params)
    assert host.settings.mode == "onSave"  # type: ignore[attr-defined]
    assert host.pending_messages == []  # type: ignore[attr-defined]


def test_the_server_hands_its_parts_to_the_features() -> None:
    from heaplens.lsp.server import create_server

    server = create_server()
    assert server.analyzer.client is server and server.analyzer.docs is server.docs
    assert server.fixer.analyzer is server.analyzer and server.fixer.docs is server.docs
    methods = set(server.protocol.fm.features)
    for method in (
        types.TEXT_DOCUMENT_DID_OPEN,
        types.TEXT_DOCUMENT_DID_CHANGE,
        types.TEXT_DOCUMENT_HOVER,
        types.TEXT_DOCUMENT_INLAY_HINT,
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CODE_ACTION_RESOLVE,
        types.WORKSPACE_DID_CHANGE_CONFIGURATION,
        types.SHUTDOWN,
    ):
        assert method in methods
    assert commands.ANALYZE_WORKSPACE in server.protocol.fm.commands

"""The table of kinds is the one place a kind is described: the editors' files agree with
it, every reader knows every kind in it, and a row added to it reaches the settings,
SARIF, diagnostics, inlay hints and the editors' files with no other edit."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from lsprotocol import types

from heaplens import advice, kinds, report_sarif, report_text, wording
from heaplens.analysis import CheckResult
from heaplens.lsp import presentation
from heaplens.lsp.settings import Settings, parse_settings, settings_to_json
from heaplens.model import DEFAULT_KINDS, HEAP_KINDS, Finding, Kind, Position, Range, Reason

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen_kinds.py"
LSP_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}

NEW = kinds.KindInfo(
    name="grows-on-the-heap-often",
    label="grows on the heap",
    summary="A slice that grows on the heap.",
    severity="warning",
    on_by_default=True,
    heap=True,
    escape=True,
    inlay_label="↑grows",
    inlay_hint=True,
    sarif_short="A slice grows on the heap",
    sarif_full="Each append past its capacity allocates a larger backing array.",
    sarif_level="warning",
)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_kinds", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _finding(kind: Kind) -> Finding:
    r = Range(Position(3, 2), Position(3, 9))
    return Finding(
        kind, "/m/a.go", r, "compiler says", Reason(kinds.ReasonCode.RETURNED), "F", (), subject="x"
    )


def test_generated_files_are_up_to_date() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert run.returncode == 0, run.stderr


def test_check_names_a_stale_file_and_writing_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = _generator()
    for rel in gen.TARGETS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    lua = tmp_path / "editors/neovim/lsp/heaplens.lua"
    lua.write_text(
        lua.read_text().replace("['leaking-param'] = 'hint'", "['leaking-param'] = 'error'")
    )
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "editors/neovim/lsp/heaplens.lua is out of date" in err
    assert "package.json" not in err  # only the file that changed is named
    assert gen.main([]) == 0
    assert "['leaking-param'] = 'hint'" in lua.read_text()
    assert gen.main(["--check"]) == 0


def test_a_file_without_its_markers_is_an_error_not_a_guess(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = _generator()
    for rel in gen.TARGETS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("<!-- END generated reasons -->", ""))
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 2
    assert "README.md: no 'BEGIN generated reasons'" in capsys.readouterr().err


def test_every_kind_is_known_to_every_reader() -> None:
    assert [k.value for k in Kind] == [row.name for row in kinds.KINDS]
    assert set(kinds.REASONS) == set(kinds.ReasonCode)
    settings = Settings()
    sarif = report_sarif.render(CheckResult(go_version="go1.24"), set(Kind))
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    for row in kinds.KINDS:
        kind = Kind(row.name)
        f = _finding(kind)
        assert settings.severity[row.name] == row.severity
        assert (row.name in settings.kinds) == row.on_by_default == (kind in DEFAULT_KINDS)
        assert (kind in HEAP_KINDS) == row.heap
        assert presentation.severity(row.name, settings) == LSP_SEVERITY[row.severity]
        assert presentation.hover_markdown(f).startswith(f"**heaplens** · {row.label}")
        assert ("Keep it on the stack" in presentation.hover_markdown(f)) == row.escape
        assert presentation.has_inlay_hint(row.name) == row.inlay_hint
        if row.inlay_hint:
            assert advice.short_label(f).startswith(row.inlay_label)
        assert rules[row.name]["shortDescription"]["text"] == row.sarif_short
        assert rules[row.name]["fullDescription"]["text"] == row.sarif_full
        assert f" {row.name} " in report_text._finding_line(f)
        assert wording.message(f)


def test_a_new_row_reaches_settings_sarif_presentation_and_editors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One row, no other edit: the readers look the table up when they run."""
    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS, NEW))
    settings = Settings()
    assert NEW.name in settings.kinds
    assert settings.severity[NEW.name] == "warning"
    assert settings_to_json(settings)["severity"][NEW.name] == "warning"
    changed, problems = parse_settings({"severity": {NEW.name: "error"}})
    assert problems == [] and changed.severity[NEW.name] == "error"
    assert changed.severity["moved-to-heap"] == "information"  # the others keep theirs
    _, problems = parse_settings({"severity": {"no-such-kind": "error"}})
    assert problems and "no-such-kind" in problems[0]

    assert presentation.severity(NEW.name, Settings()) == types.DiagnosticSeverity.Warning
    assert presentation.has_inlay_hint(NEW.name)

    sarif = report_sarif.render(CheckResult(go_version="go1.24"), set(Kind))
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules][-1] == NEW.name
    assert rules[-1] == {
        "id": NEW.name,
        "name": "GrowsOnTheHeapOften",
        "shortDescription": {"text": NEW.sarif_short},
        "fullDescription": {"text": NEW.sarif_full},
        "defaultConfiguration": {"level": "warning"},
    }
    # The text report's kind column widens to the longest name, so columns still align.
    line = report_text._finding_line(_finding(Kind.MOVED_TO_HEAP))
    assert line.split("moved-to-heap")[1].startswith(
        " " * (len(NEW.name) - len("moved-to-heap") + 1)
    )

    gen = _generator()
    package = json.loads(gen.package_json((ROOT / "vscode-extension/package.json").read_text()))
    props = package["contributes"]["configuration"]["properties"]
    assert NEW.name in props["heaplens.kinds"]["items"]["enum"]
    assert NEW.summary in props["heaplens.kinds"]["items"]["enumDescriptions"]
    assert NEW.name in props["heaplens.kinds"]["default"]
    assert props["heaplens.severity"]["default"][NEW.name] == "warning"
    assert NEW.name in props["heaplens.severity"]["properties"]
    ts = gen.settings_ts((ROOT / "vscode-extension/src/settings.ts").read_text())
    assert f"  '{NEW.name}',\n] as const;" in ts and f"'{NEW.name}': 'warning'," in ts
    lua = gen.neovim_lua((ROOT / "editors/neovim/lsp/heaplens.lua").read_text())
    assert f"['{NEW.name}'] = 'warning'," in lua
    readme = gen.readme((ROOT / "README.md").read_text())
    assert f"| `{NEW.name}` | yes | `warning` | `↑grows` | {NEW.summary} |" in readme

"""Settings: initializationOptions, workspace/configuration, didChangeConfiguration, and
one clear message for a bad value."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from conftest import copy_module
from tests.lsp.harness import (
    analysis_finished,
    handled,
    log_lines,
    open_file,
    session,
    wait_for_diagnostics,
)


async def test_workspace_configuration_is_pulled(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    config = {"kinds": ["moved-to-heap"], "severity": {"moved-to-heap": "warning"}}
    async with session(mod, configuration=config, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        diags = await wait_for_diagnostics(
            lsp, uri, lambda ds: bool(ds) and all(d.code == "moved-to-heap" for d in ds)
        )
    assert all(d.severity == types.DiagnosticSeverity.Warning for d in diags)


async def test_did_change_configuration_applies_at_once(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(mod, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        await wait_for_diagnostics(lsp, uri, lambda ds: any(d.code == "leaking-param" for d in ds))
        lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={
                    "heaplens": {
                        "severity": {"escapes-to-heap": "error"},
                        "kinds": "escapes-to-heap",
                    }
                }
            )
        )
        diags = await wait_for_diagnostics(
            lsp, uri, lambda ds: bool(ds) and all(d.code == "escapes-to-heap" for d in ds)
        )
    assert all(d.severity == types.DiagnosticSeverity.Error for d in diags)


async def test_an_invalid_setting_gives_one_message_and_the_default(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    options = {"mode": "sometimes", "debounceMs": 100}
    async with session(mod, init_options=options, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        await wait_for_diagnostics(lsp, uri)  # the default mode, onType, still works
        await analysis_finished(lsp, 0)  # then no analysis says it again
    warnings = [m for m in lsp.messages if "mode" in m.message]
    assert len(warnings) == 1
    assert "'sometimes'" in warnings[0].message and "'onType'" in warnings[0].message
    assert warnings[0].type == types.MessageType.Warning


async def test_the_settings_object_is_flat_everywhere(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    # The same object as initializationOptions and as the configuration section.
    flat = {"mode": "onType", "debounceMs": 100, "kinds": ["escapes-to-heap"]}
    async with session(mod, init_options=flat, configuration=flat, cache_dir=tmp_path / "c") as lsp:
        uri = open_file(lsp, mod / "esc" / "esc.go")
        diags = await wait_for_diagnostics(lsp, uri)
        await analysis_finished(lsp, 0)
    assert {d.code for d in diags} == {"escapes-to-heap"}
    assert not lsp.messages


async def test_untrusted_workspace_runs_no_go(tmp_path: Path) -> None:
    mod = copy_module("corpus", tmp_path)
    async with session(
        mod, init_options={"workspaceTrusted": False}, cache_dir=tmp_path / "c"
    ) as lsp:
        open_file(lsp, mod / "esc" / "esc.go")
        # An analysis the open asked for would have started by now: none did.
        await handled(lsp)
        assert not log_lines(lsp, "analysing")
        lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"heaplens": {"workspaceTrusted": True}})
        )
        await analysis_finished(lsp, 0)
        # Exactly the one trust asked for: the open, untrusted, ran none of its own.
        assert len(log_lines(lsp, "analysing")) == 1

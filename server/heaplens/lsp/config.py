"""Settings from the client: ``initializationOptions``, ``workspace/configuration`` (section
``heaplens``) and ``workspace/didChangeConfiguration``, all the same flat object.

The lifecycle's own feature: it is given the server, whose settings it replaces, and
the analyzer, which new settings re-run."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types

from .analysis import Analyzer
from .settings import Settings, parse_settings

if TYPE_CHECKING:
    from .server import HeaplensServer

log = logging.getLogger(__name__)
SECTION = "heaplens"
# Settings that change how the engine runs `go`: a change means a new engine.
_ENGINE = ("goBinary", "buildFlags", "env", "tests", "timeout", "allowNetwork")
# Settings the profiles are found and read with: a change reads them again.
_PROFILES = ("profile", "goBinary", "env", "workspaceTrusted")


def apply_settings(server: HeaplensServer, analyzer: Analyzer, raw: object) -> None:
    """Take new settings; say once what was wrong with them; re-analyse what they change."""
    new, problems = parse_settings(raw, server.settings)
    for problem in problems:
        server.show_warning(problem)
    old = server.settings
    if new == old:
        return
    server.settings = new
    changed = {
        f.name for f in attrs.fields(Settings) if getattr(old, f.name) != getattr(new, f.name)
    }
    log.info("settings changed: %s", ", ".join(sorted(changed)))
    if not new.workspaceTrusted or new.mode == "off":
        analyzer.scheduler.cancel_all()
    if changed & set(_ENGINE) or "workspaceTrusted" in changed or "mode" in changed:
        analyzer.reset()
        analyzer.request_open_packages()
    if changed & set(_PROFILES) and server.initialized:
        # Read in a worker; when what is loaded changes, the open packages are analysed
        # again (from the cache) and so published with the new costs.
        analyzer.profiles.reload()
    if "exclude" in changed:
        analyzer.exclude_changed(old.exclude)
    analyzer.republish(analyzer.known_files())
    server.refresh_inlay_hints()


async def pull_configuration(server: HeaplensServer, analyzer: Analyzer) -> None:
    if not server.supports_configuration():
        return
    try:
        result: Any = await server.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
        )
    except Exception as e:  # a client that cannot answer keeps the settings we have
        log.warning("workspace/configuration failed: %s", e)
        return
    if result and result[0] is not None:
        apply_settings(server, analyzer, result[0])


def register(server: HeaplensServer, analyzer: Analyzer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        new, problems = parse_settings(params.initialization_options, server.settings)
        server.settings = new
        server.pending_messages = problems

    @server.feature(types.INITIALIZED)
    async def initialized(_params: types.InitializedParams) -> None:
        server.initialized = True
        server.loop = asyncio.get_running_loop()
        for problem in server.pending_messages:
            server.show_warning(problem)
        # Started before anything is awaited, so the first analysis waits for it
        # (``ready``); a pulled change of the setting reads them again after it.
        analyzer.profiles.reload()
        await _register_for_changes(server)
        await pull_configuration(server, analyzer)
        server.start_watching()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and SECTION in settings:
            apply_settings(server, analyzer, settings[SECTION])
        elif isinstance(settings, dict) and settings:
            apply_settings(server, analyzer, settings)
        await pull_configuration(server, analyzer)


async def _register_for_changes(server: HeaplensServer) -> None:
    """Ask for ``didChangeConfiguration`` of our section, from a client that registers
    it dynamically."""
    dynamic = server.capability("workspace", "did_change_configuration", "dynamic_registration")
    if dynamic:
        try:
            await server.client_register_capability_async(
                types.RegistrationParams(
                    registrations=[
                        types.Registration(
                            id="heaplens-configuration",
                            method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                            register_options=types.DidChangeConfigurationRegistrationOptions(
                                section=SECTION
                            ),
                        )
                    ]
                )
            )
        except Exception as e:
            log.info("could not register for configuration changes: %s", e)

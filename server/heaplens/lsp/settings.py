"""The server's settings: one flat object, typed with attrs, read with cattrs.

The same object arrives three ways: as ``initializationOptions`` (the object itself, not
wrapped in ``{"heaplens": ...}``), as the answer to ``workspace/configuration`` for the
section ``heaplens``, and in ``workspace/didChangeConfiguration``. Keys are camelCase,
as editors write them.

Each key is checked on its own: one bad value costs only that value (it falls back to
its default) and yields one message naming the key and what was expected.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

import attrs
import cattrs

from .. import kinds as kind_table
from ..kinds import Severity as Severity
from ..model import ALWAYS_KINDS, Kind, parse_kinds

Mode = Literal["onType", "onSave", "off"]

#: Each kind's default severity, from the table of kinds (as the editors' files say).
DEFAULT_SEVERITY: dict[str, Severity] = kind_table.default_severity()


@attrs.frozen
class Settings:
    """Every setting with its default. Attribute names are the camelCase keys."""

    mode: Mode = "onType"
    debounceMs: int = 300
    # Both read the table when a Settings is made, not at import: a row added to it is
    # a default without any edit here.
    kinds: list[str] = attrs.field(factory=kind_table.default_names)
    severity: dict[str, Severity] = attrs.field(factory=kind_table.default_severity)
    inlayHints: bool = True
    goBinary: str = ""
    buildFlags: list[str] = attrs.field(factory=list)
    env: dict[str, str] = attrs.field(factory=dict)
    #: Publish findings for files of an analysed package that are not open.
    diagnoseUnopenedFiles: bool = True
    #: Analyse _test.go files too.
    tests: bool = True
    #: Seconds one analysis may take.
    timeout: float = 120.0
    #: Let go download modules (GOPROXY is off otherwise).
    allowNetwork: bool = False
    #: False in an untrusted workspace: then no `go` command is ever run.
    workspaceTrusted: bool = True
    #: pprof files (paths or globs, relative to each workspace folder, or absolute) whose
    #: allocation and CPU samples are joined to the heap findings (issue 16).
    profile: list[str] = attrs.field(factory=list)
    #: A heap finding with at least this share of the allocated bytes (or, with only a
    #: CPU profile, whose function has this share of the samples) is one severity higher.
    profileHotShare: float = 0.05
    #: Globs of package directories (relative to each workspace folder, or absolute) that
    #: are paused: not analysed, no diagnostics (issue 18, ``pausing``).
    exclude: list[str] = attrs.field(factory=list)

    @property
    def kind_set(self) -> frozenset[Kind]:
        # Broken assertions are shown whatever the list says: the user wrote them.
        return parse_kinds(",".join(self.kinds)) | ALWAYS_KINDS


_converter = cattrs.Converter(forbid_extra_keys=False)
_FIELDS = {f.name: f for f in attrs.fields(Settings)}


def _strict(kind: type, label: str) -> Any:
    """cattrs would turn "yes" into True and "12" into 12; a setting should say what it
    means, so anything but the JSON type itself is an error."""

    def hook(value: Any, _type: Any) -> Any:
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise ValueError(f"expected {label}, got {json_type(value)}")
        return value

    return hook


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "null" if value is None else type(value).__name__


_converter.register_structure_hook(bool, _strict(bool, "true or false"))
_converter.register_structure_hook(int, _strict(int, "a whole number"))
_converter.register_structure_hook(float, _strict(float, "a number"))
_converter.register_structure_hook(str, _strict(str, "a string"))


def _validate(name: str, value: Any) -> Any:
    """Checks cattrs cannot express: ranges and vocabularies."""
    if name == "debounceMs" and not 0 <= value <= 60_000:
        raise ValueError("expected a number of milliseconds between 0 and 60000")
    if name == "timeout" and value <= 0:
        raise ValueError("expected a positive number of seconds")
    if name == "profileHotShare" and not 0 <= value <= 1:
        raise ValueError("expected a fraction between 0 and 1")
    if name == "exclude":
        # An empty pattern would name the workspace folder itself: a slip, not a wish.
        value = [p for p in value if p.strip()]
    if name == "kinds":
        parse_kinds(",".join(value))
    if name == "severity":
        unknown = [k for k in value if k not in kind_table.names()]
        if unknown:
            raise ValueError(f"unknown kind {unknown[0]!r}")
        value = {**kind_table.default_severity(), **value}
    return value


def _describe(error: BaseException) -> str:
    if isinstance(error, cattrs.BaseValidationError) and error.exceptions:
        return _describe(error.exceptions[0])
    return str(error) or type(error).__name__


def parse_settings(raw: object, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Settings from a JSON-like object, and a message for every value that was wrong.

    Keys not present keep their value from ``base`` (the defaults if there is none).
    Unknown keys are ignored: a newer client may know settings this server does not.
    """
    current = base or Settings()
    if raw is None:
        return current, []
    if not isinstance(raw, Mapping):
        return current, [f"heaplens settings must be an object, got {type(raw).__name__}"]
    if "heaplens" in raw and isinstance(raw["heaplens"], Mapping) and len(raw) == 1:
        raw = raw["heaplens"]  # a client that wrapped the object anyway
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in raw.items():
        if str(name) not in _FIELDS:
            continue
        # Friendly spellings: "moved-to-heap,leaking-param", "-tags=x -race", "mem.out".
        if name in ("profile", "exclude") and isinstance(value, str):
            value = [value] if value.strip() else []
        if name == "kinds" and isinstance(value, str):
            value = [k.strip() for k in value.split(",") if k.strip()]
        if name == "buildFlags" and isinstance(value, str):
            try:
                value = shlex.split(value)
            except ValueError as e:  # an unbalanced quote: this key is wrong, not the rest
                problems.append(
                    f"heaplens: invalid setting {name!r} ({e} in {value!r}); "
                    f"using {getattr(Settings(), name)!r}."
                )
                continue
        if isinstance(value, str) and get_origin(_resolved_type(name)) in (list, dict):
            problems.append(f"heaplens: invalid setting {name!r} (expected a list); ignored.")
            continue
        try:
            wanted = _resolved_type(name)
            choices = get_args(wanted) if get_origin(wanted) is Literal else ()
            if choices and value not in choices:
                allowed = ", ".join(repr(c) for c in choices)
                raise ValueError(f"expected one of {allowed}, got {json_type(value)}")
            if name == "severity" and isinstance(value, Mapping):
                levels = get_args(Severity)
                for kind, level in value.items():
                    if level not in levels:
                        allowed = ", ".join(repr(c) for c in levels)
                        got = json_type(level)
                        raise ValueError(f"{kind}: expected one of {allowed}, got {got}")
            typed = _converter.structure(value, wanted)
            values[name] = _validate(name, typed)
        except Exception as e:  # any failure means: keep the default for this key
            default = getattr(Settings(), name)
            problems.append(
                f"heaplens: invalid setting {name!r} ({_describe(e)}); using {default!r}."
            )
    return attrs.evolve(current, **values), problems


def _resolved_type(name: str) -> Any:
    hints = attrs.resolve_types(Settings)
    return attrs.fields_dict(hints)[name].type


def settings_to_json(settings: Settings) -> dict[str, Any]:
    """The flat object clients send, with every key: what the defaults look like."""
    out: dict[str, Any] = _converter.unstructure(settings)
    return out

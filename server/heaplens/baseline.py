"""Baselines: which findings of a check an earlier ``--format json`` report already had.

A finding is matched by its key, never by its line: the file (its module's path joined to
the file's path inside the module, so a baseline made in another checkout matches; outside
any module, the path relative to the directory heaplens ran in), the enclosing function,
the kind, the subject and the occurrence (the n-th finding with the same file, function,
kind and subject, in source order). Lines inserted above a finding, or a neighbouring
function renamed, leave its key as it was. The key's hash is the finding's fingerprint,
which SARIF carries as ``partialFingerprints`` so code scanning tracks a result across
commits.

A finding whose kind the baseline run did not report is new: the baseline says only what
it saw. A baseline finding is absent when the current run reports its kind and has no
finding with its key (hidden ones, by ``--min-share``, count as present).

Pure: it reads go.mod files and the baseline file, nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .model import Finding, Kind

#: The name of the fingerprint in SARIF's ``partialFingerprints``; a new key scheme gets
#: a new version, so code scanning never compares hashes of different keys.
FINGERPRINT_NAME = "heaplens/v1"
NEW = "new"
UNCHANGED = "unchanged"
ABSENT = "absent"
#: The JSON report's schema version a baseline must have (``report_json.SCHEMA_VERSION``,
#: which this layer cannot import).
REPORT_VERSION = 1


class BaselineError(Exception):
    """The baseline file cannot be used: unreadable, not a heaplens JSON report, or of
    another schema version. The message says which, and what to do."""


@dataclass(frozen=True, slots=True)
class Key:
    """What identifies a finding across edits: no line, no column."""

    file: str
    function: str
    kind: str
    subject: str
    occurrence: int

    @property
    def fingerprint(self) -> str:
        # A separator no Go name or path contains: ("a b", "c") and ("a", "b c") differ.
        text = "\x1f".join(
            (self.file, self.function, self.kind, self.subject, str(self.occurrence))
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "function": self.function,
            "kind": self.kind,
            "subject": self.subject,
            "occurrence": self.occurrence,
        }


class ModuleRoots:
    """A file's path as keys name it: ``<module path>/<path in the module>``, from the
    nearest go.mod above it; relative to ``cwd`` (with ``/``) outside any module."""

    def __init__(self, cwd: str) -> None:
        self._cwd = cwd
        self._dirs: dict[str, tuple[str, str] | None] = {}  # dir -> (module dir, path)

    def module_of(self, directory: str) -> tuple[str, str] | None:
        """The module directory and module path governing ``directory``, if any."""
        if directory in self._dirs:
            return self._dirs[directory]
        found = _read_module(os.path.join(directory, "go.mod"))
        if found is not None:
            answer: tuple[str, str] | None = (directory, found)
        else:
            parent = os.path.dirname(directory)
            answer = None if parent == directory else self.module_of(parent)
        self._dirs[directory] = answer
        return answer

    def key_path(self, file: str) -> str:
        module = self.module_of(os.path.dirname(os.path.abspath(file)))
        if module is None:
            return os.path.relpath(file, self._cwd).replace(os.sep, "/")
        rel = os.path.relpath(file, module[0]).replace(os.sep, "/")
        return f"{module[1]}/{rel}"

    def file_of(self, key_path: str) -> str | None:
        """Where a key's file is in this checkout, among the modules seen so far."""
        for module in {m for m in self._dirs.values() if m is not None}:
            prefix = module[1] + "/"
            if key_path.startswith(prefix):
                return os.path.join(module[0], *key_path[len(prefix) :].split("/"))
        return None


def _read_module(gomod: str) -> str | None:
    """The module path a go.mod declares; None when there is no go.mod or no module line."""
    try:
        with open(gomod, encoding="utf-8", errors="replace") as f:
            for line in f:
                words = line.split("//", 1)[0].split()
                if len(words) >= 2 and words[0] == "module":
                    return words[1].strip('"`')
    except OSError:
        return None
    return None


def keys(findings: Iterable[Finding], roots: ModuleRoots) -> dict[Finding, Key]:
    """Each finding's key. Occurrences count in source order among all ``findings``
    (give them all, not only those a report shows: hiding one must not renumber the
    rest)."""
    groups: dict[tuple[str, str, str, str], list[Finding]] = {}
    for f in findings:
        group = (roots.key_path(f.file), f.function, f.kind.value, f.subject)
        groups.setdefault(group, []).append(f)
    out: dict[Finding, Key] = {}
    for (file, function, kind, subject), members in groups.items():
        members.sort(key=lambda f: (f.range, f.message))
        for n, f in enumerate(members, 1):
            out.setdefault(f, Key(file, function, kind, subject, n))
    return out


@dataclass(frozen=True, slots=True)
class Entry:
    """One finding of the baseline report, as it was then."""

    key: Key
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str


@dataclass(frozen=True)
class Baseline:
    entries: tuple[Entry, ...]
    #: The kinds the baseline run reported (its ``--kinds`` and ``--fail-on``).
    kinds: frozenset[str]

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(e.key.fingerprint for e in self.entries)


def read_baseline(path: str) -> Baseline:
    """The baseline in the JSON report at ``path``; ``BaselineError`` when it is none."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise BaselineError(f"cannot read the baseline {path}: {e.strerror or e}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BaselineError(f"the baseline {path} is not JSON ({e})") from None
    return parse_baseline(data, path)


def parse_baseline(data: object, path: str) -> Baseline:
    """A parsed JSON report as a baseline: its version, kinds and every finding's key."""
    hint = "make it with heaplens check --format json -o FILE"
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise BaselineError(f"the baseline {path} is not a heaplens JSON report; {hint}")
    if data.get("version") != REPORT_VERSION:
        raise BaselineError(
            f"the baseline {path} is a report of schema version {data.get('version')!r}; "
            f"this heaplens reads version {REPORT_VERSION}: {hint}"
        )
    kinds = data.get("kinds")
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise BaselineError(
            f"the baseline {path} has no finding keys (an older heaplens wrote it); {hint}"
        )
    try:
        entries = tuple(_entry(f) for f in data["findings"])
    except (KeyError, TypeError, ValueError):
        raise BaselineError(f"the baseline {path} has a malformed finding; {hint}") from None
    return Baseline(entries, frozenset(kinds))


def _entry(f: Mapping[str, Any]) -> Entry:
    k = f["key"]
    key = Key(
        str(k["file"]), str(k["function"]), str(k["kind"]), str(k["subject"]), int(k["occurrence"])
    )
    return Entry(
        key,
        str(f["file"]),
        int(f["line"]),
        int(f["column"]),
        int(f["end_line"]),
        int(f["end_column"]),
        str(f["message"]),
    )


@dataclass(frozen=True)
class Marks:
    """What a report adds to each finding: its key, and with a baseline its state and
    the baseline's findings that are gone."""

    keys: Mapping[Finding, Key]
    states: Mapping[Finding, str] = field(default_factory=dict)
    absent: tuple[Entry, ...] = ()
    #: Kinds the current run reports that the baseline run did not: all their findings
    #: are new.
    unseen_kinds: frozenset[str] = frozenset()
    #: Where each absent entry's file is in this checkout (None: not found here).
    absent_files: Mapping[Entry, str | None] = field(default_factory=dict)
    #: True when a baseline was given.
    compared: bool = False

    def key(self, f: Finding) -> Key | None:
        return self.keys.get(f)

    def state(self, f: Finding) -> str | None:
        return self.states.get(f)

    def is_new(self, f: Finding) -> bool:
        """Without a baseline every finding is new."""
        return self.states.get(f, NEW) == NEW


def mark(
    findings: Sequence[Finding],
    reported: Collection[Kind],
    roots: ModuleRoots,
    baseline: Baseline | None = None,
) -> Marks:
    """Key every finding; with ``baseline``, say which of those of a ``reported`` kind are
    new and which of its findings are gone."""
    found = keys(findings, roots)
    if baseline is None:
        return Marks(found)
    names = {k.value for k in reported}
    old = baseline.fingerprints
    states = {
        f: (UNCHANGED if k.fingerprint in old else NEW)
        for f, k in found.items()
        if f.kind in reported
    }
    current = {k.fingerprint for f, k in found.items() if f.kind in reported}
    absent = tuple(
        e for e in baseline.entries if e.key.kind in names and e.key.fingerprint not in current
    )
    return Marks(
        found,
        states,
        absent,
        frozenset(names - baseline.kinds),
        {e: roots.file_of(e.key.file) for e in absent},
        compared=True,
    )

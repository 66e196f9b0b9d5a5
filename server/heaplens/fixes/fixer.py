"""What a fix kind is: the ``Fixer`` protocol, and the vocabulary of refusals.

A fixer proposes candidates from a package's findings and sources, and after the
compiler has built a candidate, says whether what the compiler shows is the gain the fix
is for, and with which title. Everything else (applying, formatting, compiling, comparing
heap verdicts before and after) is the same for every kind and lives in ``verify``.

A fix that is not offered is refused at a ``Stage``, with a reason: a test can tell a fix
the analysis never proposed from one the compiler did not back.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..model import Finding
from ..syntax import SourceFile
from .model import Alternative, Candidate


class Stage(enum.Enum):
    """Where a candidate fix can be refused, in the order they happen."""

    #: No fixer proposed it (or it is not to be tried: it changes the exported API).
    PROPOSE = "propose"
    #: The package does not build as it is: there is nothing to compare with.
    BASELINE = "baseline"
    #: The rewrite could not be applied or formatted (gofmt rejected it).
    EDIT = "edit"
    #: The rewritten package (tests included) does not build.
    COMPILE = "compile"
    #: It builds, but the compiler's verdicts do not back the fix.
    ACCEPT = "accept"
    #: Verified, but the tests or benchmarks run with it refused it (``fix --test``).
    MEASURE = "measure"

    @property
    def rank(self) -> int:
        """How far a candidate got: a later stage says more about why it failed."""
        return list(Stage).index(self)


@dataclass(frozen=True)
class Refusal:
    """Why a fix is not offered: the stage that refused it, and the reason in words."""

    stage: Stage
    reason: str

    def __str__(self) -> str:
        return f"{self.stage.value}: {self.reason}"


def decline(stage: Stage, reason: str) -> Refusal:
    """A refusal at ``stage`` (reads as a sentence where a fixer declines)."""
    return Refusal(stage, reason)


#: Reasons the shared checks give; tests match on them.
NO_CANDIDATE = "no candidate"
STILL_ON_HEAP = "the allocation is still on the heap"
NEW_ESCAPE = "something new escapes"


@dataclass(frozen=True)
class Proposal:
    """What a fixer proposes from: the package's findings (those in files it may edit),
    the files among them it may rewrite (readable, not generated), and a way to read any
    other file (a caller in another file, say)."""

    findings: Sequence[Finding]
    files: Sequence[SourceFile]
    source: Callable[[str], SourceFile | None]


@dataclass(frozen=True)
class Verdict:
    """What the compiler showed for one way of writing the fix, beyond what ``verify``
    checks for every kind (it builds, nothing unexpected escapes)."""

    #: The findings the candidate answers, as they were before the fix.
    anchors: Sequence[Finding]
    #: None of the anchors' heap verdicts is reported any more.
    gone: bool
    #: New heap verdicts, all of them ones the fix means to add (a ``make``, a pool's New).
    added: Sequence[Finding]
    #: Every finding of the compiled packages, with the fix.
    findings: Sequence[Finding]
    #: The fixed, formatted text of the candidate's file.
    fixed: bytes


class Fixer(Protocol):
    """A fix kind. Register one in ``registry`` to have it proposed, verified and offered."""

    @property
    def kind(self) -> str:
        """The kind's name, as ``fix --kinds`` and the fixes' ``kind`` spell it."""
        ...

    def candidates(self, proposal: Proposal) -> Iterable[Candidate]:
        """Rewrites worth compiling, from the syntax tree and the findings."""
        ...

    def accept(self, candidate: Candidate, verdict: Verdict) -> Refusal | None:
        """After the recompile: None when the compiler backs the fix, else why not."""
        ...

    def title(self, candidate: Candidate, alternative: Alternative, verdict: Verdict) -> str:
        """The title of the accepted fix: what the compiler showed."""
        ...


def accept_if_gone(verdict: Verdict) -> Refusal | None:
    """The usual acceptance: the allocation the fix is for is no longer reported."""
    if verdict.gone:
        return None
    return decline(Stage.ACCEPT, STILL_ON_HEAP)


def off_the_heap(candidate: Candidate, alternative: Alternative, verdict: Verdict) -> str:
    """The usual title: ``<summary>: keeps &T{} in F off the heap (verified)``."""
    note = f"; {candidate.note}" if candidate.note else ""
    return f"{alternative.summary}: keeps {named(verdict.anchors)} off the heap (verified{note})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def named(anchors: Sequence[Finding]) -> str:
    """``&bytes.Buffer{} in Encode``; ``floor and wall in Room``."""
    by_function: dict[str, list[str]] = {}
    for f in anchors:
        by_function.setdefault(f.function, []).append(f.subject)
    parts = []
    for function, subjects in by_function.items():
        names = list(dict.fromkeys(subjects))
        if len(names) > 3:
            listed = ", ".join(names[:2]) + f" and {len(names) - 2} more"
        elif len(names) > 1:
            listed = ", ".join(names[:-1]) + " and " + names[-1]
        else:
            listed = names[0]
        parts.append(f"{listed} in {function}" if function else listed)
    if len(parts) > 2:
        return f"{parts[0]}, {parts[1]} and {_plural(len(parts) - 2, 'other function')}"
    return " and ".join(parts)

"""The fix kinds there are: one registry of ``Fixer`` objects, in the order they are
proposed. A new kind is one module with a fixer and one line in ``_BUILT_IN``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .fixer import Fixer
from .preallocate import PreallocateFixer
from .sync_pool import SyncPoolFixer
from .type_param import TypeParameterFixer

# Least intrusive first: rewrites inside one function body before the fixer that
# changes a signature, which `heaplens fix` should try last.
_BUILT_IN: tuple[Fixer, ...] = (PreallocateFixer(), SyncPoolFixer(), TypeParameterFixer())

#: Every registered fixer, by kind, in registration order.
_fixers: dict[str, Fixer] = {f.kind: f for f in _BUILT_IN}


def fixers() -> tuple[Fixer, ...]:
    """The registered fixers, in the order their candidates are proposed."""
    return tuple(_fixers.values())


def kinds() -> tuple[str, ...]:
    """The registered kinds' names."""
    return tuple(_fixers)


def lookup(kind: str) -> Fixer:
    """The fixer of ``kind``; KeyError for a kind nobody registered."""
    return _fixers[kind]


@contextmanager
def register(fixer: Fixer) -> Iterator[Fixer]:
    """Register ``fixer`` for the duration of the block (a test's fixer, say), after
    the others; its kind must be new."""
    if fixer.kind in _fixers:
        raise ValueError(f"fix kind {fixer.kind!r} is registered already")
    _fixers[fixer.kind] = fixer
    try:
        yield fixer
    finally:
        del _fixers[fixer.kind]

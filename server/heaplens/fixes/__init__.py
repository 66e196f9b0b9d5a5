"""Compiler-verified fixes: propose rewrites on the syntax tree, then prove them.

Each fix kind is a ``Fixer`` (``fixer``) in a module of its own (``preallocate``,
``sync_pool``, ``type_param``), listed in ``registry``. ``propose`` asks every registered
fixer for candidates. ``verify`` applies a candidate in an overlay, formats it with
gofmt, recompiles the package (tests included) and keeps it only if it builds and its
fixer accepts what the compiler reports; otherwise it says at which ``Stage`` and why
(a ``Refusal``). ``service.FixService`` is the one propose → verify → attach loop the
command line, the server and the tests use. Nothing here knows about LSP or the command
line.
"""

from __future__ import annotations

from .model import FIX_KINDS, PREALLOCATE, SYNC_POOL, TYPE_PARAMETER, Candidate, VerifiedFix
from .propose import attach_candidates, propose, with_candidates

__all__ = [
    "FIX_KINDS",
    "PREALLOCATE",
    "SYNC_POOL",
    "TYPE_PARAMETER",
    "Candidate",
    "VerifiedFix",
    "attach_candidates",
    "propose",
    "with_candidates",
]

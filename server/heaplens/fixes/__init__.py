"""Compiler-verified fixes: propose rewrites on the syntax tree, then prove them.

``propose`` reads a package's findings and sources and returns candidates (see
``preallocate``, ``sync_pool``, ``type_param``). ``verify`` applies a candidate in an
overlay, formats it with gofmt, recompiles the package (tests included) and keeps it only
if it builds and the compiler reports the gain its title claims. Nothing here knows about
LSP or the command line.
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

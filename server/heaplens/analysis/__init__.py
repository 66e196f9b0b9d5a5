"""The analysis: packages → cache keys → compile what changed → findings.

One ``Engine`` serves the CLI and the language server alike. Nothing here imports the
fixes, the LSP layer or the command line (``tests/test_architecture.py`` checks it);
the server hands it overlays (unsaved buffers) and a cancel token, and fixes are
proposed on its results afterwards (``fixes.propose.with_candidates``).

The modules, in the order data flows through them:

* ``engine``: the ``Engine`` facade: options, the toolchain, and each query's plan.
* ``listing``: ``go list`` runs, stored listings, export-data bookkeeping.
* ``units``: a compile unit (a package, or its tests) and its result.
* ``compiling``: which strategy compiles each unit the cache missed, on which threads.
* ``strategies``: the four ways to compile (plain, test, direct, direct test), each
  building a ``jobs.CompileJob``; ``jobs.run_job`` runs them all.
* ``run``: what one check shares, the prefetch threads, the clock of time in ``go``.
* ``classification``: findings from a compiler's log, with a cache per file.
* ``sources``: source files with unsaved buffers in place of the disk.
* ``flags``: the build flags of heaplens's go runs.
* ``compile_direct``, ``collisions``: the compiler run without the go command, and log
  files whose names collide.
* ``results``: ``CheckResult`` and how package results are assembled.

How the compiler is run, and why
--------------------------------
heaplens reads the compiler's ``-json`` optimisation log, not ``-m=2`` text. Measured on
this project's benchmark packages (compress/flate, encoding/xml, go/printer,
regexp/syntax; 2 cores): a fresh ``-json`` compile costs what a plain build costs, about
0.7x of a fresh ``-m=2`` build, because any ``-m`` switches off the compiler's
concurrent back end and ``-json`` does not. ``-m`` output is replayed from the build
cache and ``-json`` is not, but heaplens keys its own cache by content (``keys``), so a
replay would only save work heaplens no longer does. The ``-json`` log also carries flow
steps inside inlined code (``inlineLoc``) that ``-m=2`` folds into the call site. What it
lacks, the enclosing function and the "moved to heap" wording, ``findings`` recovers.

Each compile writes its log to a fresh directory: with a directory the build cache had
seen, it would treat the compile as done and write no log at all.

Packages are compiled by ``go list -e -deps -export`` (no link step, structured errors
per package, fresh metadata in the same breath, one batch for all of them). Test files
need the test variants, which share their log file names with the package itself
(``p`` and ``p [p.test]`` both write ``p/file.json``), so they get a run of their own per
package, ``go list -test -export``, of which only the test files' logs are read. Nothing
is ever linked: heaplens needs no binary, and a link can fail on inputs the compiler
never reads (a ``.syso``).

A package compiled in the first three ways of ``engine`` is, where it can be, compiled
by the compiler alone with the export data the listing recorded (``compile_direct``):
that is every edit of an ordinary package, at about half the cost of going through the
go command. Its tests too, once the export data of what they import is known
(``listing.ExportData.find_for_tests``).
"""

from __future__ import annotations

from .engine import Engine, Options
from .jobs import BlindSpot
from .results import CheckResult, PackageResult, Stats, UnitFindings, left_out
from .run import Progress

__all__ = [
    "BlindSpot",
    "CheckResult",
    "Engine",
    "Options",
    "PackageResult",
    "Progress",
    "Stats",
    "UnitFindings",
    "left_out",
]

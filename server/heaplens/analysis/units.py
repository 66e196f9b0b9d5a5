"""A compile unit: a package, or its tests, with its cache key and, once known, its
result. The engine plans them; the strategies compile the ones the cache missed."""

from __future__ import annotations

from dataclasses import dataclass

from ..cache import UnitResult
from ..packages import Package


@dataclass
class Unit:
    variant: str  # "plain" or "test"
    package: Package
    key: str
    result: UnitResult | None = None
    cached: bool = False
    #: False when the run failed for reasons outside the sources (a crashed ``go``).
    cacheable: bool = True
    #: Compiled by the compiler that stops after escape analysis: never cached, so that
    #: the next full compile of the same text is not answered with it.
    stopped_early: bool = False

    @property
    def wanted(self) -> tuple[str, ...]:
        """The files whose findings the unit reports."""
        if self.variant == "test":
            return self.package.test_files + self.package.xtest_files
        return self.package.go_files

    @property
    def editable(self) -> tuple[str, ...]:
        """The files a fix of its findings may rewrite: a test's fix may touch the
        package's own files too."""
        if self.variant == "test":
            return self.package.all_files
        return self.package.go_files

"""Allocation and CPU profiles joined to the compiler's findings: ``read_profiles`` reads
pprof files with the toolchain's own pprof, ``join`` charges each heap finding with what
the profiles say it allocated and gives each finding its function's share of CPU time."""

from .attribution import ProfileReport, join
from .reading import ProfileError, ProfileFile, Profiles, read_profiles

__all__ = ["ProfileError", "ProfileFile", "ProfileReport", "Profiles", "join", "read_profiles"]

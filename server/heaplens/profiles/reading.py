"""Reading pprof profiles: heap and allocs profiles (bytes and objects allocated) and CPU
profiles, ``default.pgo`` included (where time goes), gzipped or not.

The decoding is the Go toolchain's own: ``go tool pprof -raw`` prints a profile's samples
and locations as text (``github.com/google/pprof/profile``'s ``Profile.String``), and this
module reads that text. No pprof decoder of our own, and no new dependency.

``-symbolize=none`` keeps pprof from looking for binaries or asking a server for symbols
(Go's profiles carry their symbols), and only files that exist are passed, so pprof never
fetches a URL: nothing here reaches the network.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .. import toolchain


class ProfileError(Exception):
    """A profile that cannot be read; the message names the file and says why."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One line of a location: a function's code at ``file:line``."""

    function: str
    file: str
    line: int


#: A location's frames, innermost first: the function whose code the program counter is
#: in, then each function it was inlined into, out to the one compiled.
Location = tuple[Frame, ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """A stack, leaf location first, and its values: bytes and objects allocated for an
    allocation profile; CPU time (or samples) for a CPU profile, in ``space``."""

    stack: tuple[Location, ...]
    space: int
    objects: int = 0


@dataclass(frozen=True, slots=True)
class ProfileFile:
    path: str
    kind: Literal["alloc", "cpu"]
    #: When the profile was taken (seconds since the epoch): its own ``Time`` when it has
    #: one, else the file's modification time.
    time: float


@dataclass(frozen=True)
class Profiles:
    """Several profiles, merged: the allocation samples of every heap or allocs profile,
    and the CPU samples of every CPU profile."""

    files: tuple[ProfileFile, ...]
    alloc_samples: tuple[Sample, ...] = ()
    cpu_samples: tuple[Sample, ...] = ()
    #: Which file each sample came from: parallel to the tuples above.
    alloc_sources: tuple[int, ...] = ()
    cpu_sources: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        """The files' names, as a person reads them: ``mem.out`` or ``mem.out, cpu.pgo``."""
        return ", ".join(os.path.basename(f.path) for f in self.files)

    @property
    def has_alloc(self) -> bool:
        return any(f.kind == "alloc" for f in self.files)

    @property
    def has_cpu(self) -> bool:
        return any(f.kind == "cpu" for f in self.files)

    @property
    def alloc_space_total(self) -> int:
        return sum(s.space for s in self.alloc_samples)

    @property
    def alloc_objects_total(self) -> int:
        return sum(s.objects for s in self.alloc_samples)

    @property
    def cpu_total(self) -> int:
        return sum(s.space for s in self.cpu_samples)


def read_profiles(
    paths: Sequence[str], go: str = "go", env: Mapping[str, str] | None = None
) -> Profiles:
    """Read and merge ``paths``. Raises ``ProfileError`` for the first that cannot be read."""
    files: list[ProfileFile] = []
    alloc: list[Sample] = []
    cpu: list[Sample] = []
    alloc_from: list[int] = []
    cpu_from: list[int] = []
    for index, path in enumerate(paths):
        one = read_profile(path, go, env)
        files.append(one.file)
        if one.file.kind == "alloc":
            alloc.extend(one.samples)
            alloc_from.extend([index] * len(one.samples))
        else:
            cpu.extend(one.samples)
            cpu_from.extend([index] * len(one.samples))
    return Profiles(tuple(files), tuple(alloc), tuple(cpu), tuple(alloc_from), tuple(cpu_from))


@dataclass(frozen=True)
class OneProfile:
    file: ProfileFile
    samples: tuple[Sample, ...]


def read_profile(path: str, go: str = "go", env: Mapping[str, str] | None = None) -> OneProfile:
    """One profile file, read with ``go tool pprof -raw``."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise ProfileError(f"{path}: no such profile file")
    run_env = toolchain.safe_env(env)
    try:
        result = toolchain.run(
            [_pprof(go, run_env), "-raw", "-symbolize=none", path],
            cwd=os.path.dirname(path),
            env=run_env,
            timeout=120,
        )
    except (toolchain.ToolchainError, toolchain.TimedOut) as e:
        raise ProfileError(f"{path}: cannot run go tool pprof: {e}") from e
    if result.returncode != 0:
        why = result.stderr.decode(errors="replace").strip().splitlines()
        raise ProfileError(f"{path}: not a profile go tool pprof can read ({_last(why)})")
    return parse_raw(path, result.stdout.decode(errors="replace"))


_pprof_paths: dict[str, str] = {}
_pprof_lock = threading.Lock()


def _pprof(go: str, env: Mapping[str, str]) -> str:
    """The pprof binary of ``go``'s toolchain. ``go tool pprof`` costs a go command's start
    (0.3 s here) on every run; ``go tool -n pprof`` names the binary once (building it
    into the build cache if this toolchain ships it as source)."""
    with _pprof_lock:
        known = _pprof_paths.get(go)
        if known and os.path.isfile(known):
            return known
        try:
            result = toolchain.run(
                [go, "tool", "-n", "pprof"], cwd=os.getcwd(), env=env, timeout=300
            )
        except (toolchain.ToolchainError, toolchain.TimedOut) as e:
            raise ProfileError(f"cannot find go tool pprof: {e}") from e
        found = result.stdout.decode(errors="replace").strip()
        if result.returncode != 0 or not os.path.isfile(found):
            why = result.stderr.decode(errors="replace").strip().splitlines()
            raise ProfileError(f"cannot find go tool pprof ({_last(why)})")
        _pprof_paths[go] = found
        return found


def _last(lines: list[str]) -> str:
    return lines[-1] if lines else "no message"


# ``Profile.String``'s lines. A sample: its values, a colon, its location IDs. A
# location: ID, address, mapping and the first line, then one indented line per
# function it was inlined into. A line: function, file:line[:column], s=start line,
# and the system name in parentheses when it differs.
_SAMPLE = re.compile(r"^\s*(-?\d+(?:\s+-?\d+)*):((?:\s+\d+)*)\s*$")
_LOCATION = re.compile(r"^\s*(\d+): 0x[0-9a-fA-F]+ (?:M=\d+ )?(?:\[F\] )?(.*)$")
_LINE = re.compile(r"^(\S+) (.*?):(\d+)(?::-?\d+)? s=\d+(?:\(.*\))?$")
_TIME = re.compile(r"^Time: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))? ([+-]\d{4})")


def parse_raw(path: str, text: str) -> OneProfile:
    """The samples of ``go tool pprof -raw``'s output for ``path``."""
    head, found, rest = text.partition("\nSamples:\n")
    if not found:
        raise ProfileError(f"{path}: go tool pprof printed no samples")
    samples_text, _, rest = rest.partition("\nLocations\n")
    locations_text, _, _ = rest.partition("\nMappings\n")
    header, _, sample_lines = samples_text.partition("\n")
    kind, space_at, objects_at = _sample_columns(path, header.split())
    locations = _locations(locations_text)
    samples: list[Sample] = []
    for line in sample_lines.splitlines():
        m = _SAMPLE.match(line)
        if m is None:
            continue  # a sample's labels, on lines of their own
        values = [int(v) for v in m.group(1).split()]
        stack = tuple(locations.get(int(i), ()) for i in m.group(2).split())
        objects = values[objects_at] if objects_at is not None else 0
        if values[space_at] or objects:
            samples.append(Sample(stack, values[space_at], objects))
    when = _time(head) or os.path.getmtime(path)
    return OneProfile(ProfileFile(path, kind, when), tuple(samples))


def _sample_columns(path: str, types: list[str]) -> tuple[Literal["alloc", "cpu"], int, int | None]:
    """The profile's kind, and which values are bytes (or CPU time) and objects."""
    names = [t.split("/", 1)[0] for t in types]
    if "alloc_space" in names and "alloc_objects" in names:
        return "alloc", names.index("alloc_space"), names.index("alloc_objects")
    if "cpu" in names:
        return "cpu", names.index("cpu"), None
    if names == ["samples"] or ("samples" in names and len(names) <= 2):
        return "cpu", names.index("samples"), None
    shown = ", ".join(types) or "none"
    raise ProfileError(
        f"{path}: neither an allocation profile (heap, allocs) nor a CPU profile "
        f"(its sample types: {shown}); an inuse-only heap profile says nothing of allocations"
    )


def _locations(text: str) -> dict[int, Location]:
    out: dict[int, list[Frame]] = {}
    current: list[Frame] | None = None
    for line in text.splitlines():
        m = _LOCATION.match(line)
        if m is not None:
            current = out.setdefault(int(m.group(1)), [])
            rest = m.group(2)
        elif current is not None and line.startswith(" "):
            rest = line.strip()
        else:
            continue
        f = _LINE.match(rest.strip())
        if f is not None and current is not None:
            current.append(Frame(f.group(1), f.group(2), int(f.group(3))))
    return {k: tuple(v) for k, v in out.items()}


def _time(head: str) -> float | None:
    for line in head.splitlines():
        m = _TIME.match(line)
        if m is not None:
            fraction = (m.group(2) or "0")[:6].ljust(6, "0")
            stamp = datetime.strptime(
                f"{m.group(1)}.{fraction} {m.group(3)}", "%Y-%m-%d %H:%M:%S.%f %z"
            )
            return stamp.timestamp()
    return None

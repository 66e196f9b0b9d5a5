"""Joining profiles to findings: which heap finding each allocation sample is charged to,
and how hot each finding's function is.

The rules, so that a share means what it says:

* **A sample is charged where it was allocated.** The runtime's allocation helpers
  (``runtime.newobject``, ``runtime.convT64``, ``runtime.growslice``...) are skipped; the
  first frame after them is the code that allocated. When that frame is not in a checked
  file (fmt's own buffers, say), the sample belongs to that callee and to no finding: the
  argument boxed for ``fmt.Sprint`` is charged only with the box.
* **The whole inline chain must match.** A location names the function the code is
  written in and each function it was inlined into; a finding names the position the
  compiler reported and the levels inlined below it (``Finding.inline``). So a value
  allocated in ``Label``, inlined into ``Work``, goes to the finding in ``Work``, and
  ``Label``'s own out-of-line finding gets only what its own body allocated.
* **A profile names lines, not columns.** Heap findings with the same chain of lines are
  one group: the group's total is shown as such, and divided evenly only so that the
  shares still add up (``Cost.shared_by`` says so).
* **Nothing is counted twice.** Each sample goes to at most one group, so the shares add
  up to at most 1.

Files are matched by path. A profile taken elsewhere (another checkout, ``-trimpath``)
names the same files under another root: when no sample names a checked file exactly,
a file is matched by its trailing path, as long as only one checked file ends that way,
and never for files of the profile's own GOROOT or module cache.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ..analysis import CheckResult
from ..model import HEAP_KINDS, Cost, Finding
from .reading import Frame, Location, Profiles, Sample

#: A site as both sides name it: (file, line) from the code written out to the
#: function compiled, innermost first.
Site = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ProfileReport:
    """What joining the profiles found, for the reports and the editor's status."""

    label: str
    files: tuple[str, ...]
    has_alloc: bool
    has_cpu: bool
    alloc_space_total: int
    alloc_objects_total: int
    #: The sum of the shares charged to findings: at most 1.
    attributed_share: float
    warnings: tuple[str, ...]


def join(result: CheckResult, profiles: Profiles) -> tuple[CheckResult, ProfileReport]:
    """``result`` with each finding's ``cost`` and ``hot`` set from ``profiles``."""
    checked = _checked_files(result)
    paths = _PathMatcher(checked, profiles)
    charged = _charge(profiles.alloc_samples, paths) if profiles.has_alloc else {}
    hot = _hotness(profiles.cpu_samples, paths) if profiles.has_cpu else None
    costs = _costs(result.findings, charged, profiles.alloc_space_total)
    has_alloc = profiles.has_alloc
    packages = [
        replace(p, findings=tuple(_with_cost(f, costs, has_alloc, hot) for f in p.findings))
        for p in result.packages
    ]
    attributed = sum(c.share for c in costs.values())
    report = ProfileReport(
        label=profiles.label,
        files=tuple(f.path for f in profiles.files),
        has_alloc=profiles.has_alloc,
        has_cpu=profiles.has_cpu,
        alloc_space_total=profiles.alloc_space_total,
        alloc_objects_total=profiles.alloc_objects_total,
        attributed_share=min(attributed, 1.0),
        warnings=tuple(_warnings(profiles, paths, checked)),
    )
    return replace(result, packages=packages), report


def _checked_files(result: CheckResult) -> set[str]:
    files = {path for p in result.packages for path in p.files}
    files.update(f.file for f in result.findings)
    return files


class _PathMatcher:
    """Which checked file a profile's file name is, if any."""

    def __init__(self, checked: set[str], profiles: Profiles) -> None:
        self.checked = checked
        # A workspace opened through a symlink is compiled under the name it was opened
        # by, and a profile may name the resolved path.
        self._real = {os.path.realpath(c): c for c in checked}
        self._known: dict[str, str | None] = {}
        names = {
            frame.file
            for sample in (*profiles.alloc_samples, *profiles.cpu_samples)
            for location in sample.stack
            for frame in location
        }
        self._by_tail: dict[str, set[str]] | None = None
        if not names & (checked | self._real.keys()):
            self._by_tail = _tails(checked)
            self._foreign = _foreign_roots(profiles)

    def __call__(self, name: str) -> str | None:
        if name in self._known:
            return self._known[name]
        found: str | None = name if name in self.checked else self._real.get(name)
        if found is None and self._by_tail is not None and not _under(name, self._foreign):
            parts = name.replace("\\", "/").split("/")
            for k in range(min(len(parts), _MAX_TAIL), 1, -1):
                candidates = self._by_tail.get("/".join(parts[-k:]), set())
                if len(candidates) == 1:
                    found = next(iter(candidates))
                    break
                if candidates:
                    break  # ambiguous: a longer tail was not unique either
        self._known[name] = found
        return found


_MAX_TAIL = 6


def _tails(files: Iterable[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in files:
        parts = path.split(os.sep)
        for k in range(2, min(len(parts), _MAX_TAIL) + 1):
            out.setdefault("/".join(parts[-k:]), set()).add(path)
    return out


def _foreign_roots(profiles: Profiles) -> tuple[str, ...]:
    """Where the profiled program's GOROOT and module cache were: the directory above the
    runtime's own files, and any ``/pkg/mod/``."""
    roots = {"/pkg/mod/"}
    for sample in (*profiles.alloc_samples, *profiles.cpu_samples):
        for location in sample.stack:
            for frame in location:
                if frame.function.startswith("runtime.") and "/src/runtime/" in frame.file:
                    roots.add(frame.file[: frame.file.index("/src/runtime/") + 5])
    return tuple(sorted(roots))


def _under(name: str, roots: Sequence[str]) -> bool:
    return any(name.startswith(r) or (r == "/pkg/mod/" and r in name) for r in roots)


_RUNTIME = re.compile(r"^(?:runtime|internal/runtime/[\w/]+)\.")


def allocation_site(sample: Sample, paths: _PathMatcher) -> Site | None:
    """The site ``sample`` is charged to: the first location after the runtime's
    allocation helpers, from its first frame outside them out to the function compiled;
    None when that code is not in a checked file."""
    for location in sample.stack:
        frames = [f for f in location if not _RUNTIME.match(f.function)]
        if not frames:
            continue
        return _site(frames, paths)
    return None


def _site(frames: Sequence[Frame], paths: _PathMatcher) -> Site | None:
    out: list[tuple[str, int]] = []
    for frame in frames:
        file = paths(frame.file)
        if file is None:
            # The allocating code is not ours (and, further out, a caller that inlined
            # it would not be the allocation either): charged to no finding.
            return None
        out.append((file, frame.line))
    return tuple(out)


def _charge(samples: Sequence[Sample], paths: _PathMatcher) -> dict[Site, tuple[int, int]]:
    """Bytes and objects allocated at each site."""
    out: dict[Site, tuple[int, int]] = {}
    for sample in samples:
        site = allocation_site(sample, paths)
        if site is None:
            continue
        space, objects = out.get(site, (0, 0))
        out[site] = (space + sample.space, objects + sample.objects)
    return out


def finding_site(f: Finding) -> Site:
    """The site of ``f`` in a profile's terms: where the code is written, then each
    function it was inlined into, out to the reported position."""
    line = (f.point or f.range.start).line
    inner = tuple((loc.file, loc.position.line) for loc in reversed(f.inline))
    return (*inner, (f.file, line))


def _costs(
    findings: Sequence[Finding], charged: dict[Site, tuple[int, int]], total: int
) -> dict[int, Cost]:
    """Each heap finding's cost, by ``id``: the findings of one site share it."""
    by_site: dict[Site, list[Finding]] = {}
    for f in findings:
        if f.kind in HEAP_KINDS:
            by_site.setdefault(finding_site(f), []).append(f)
    # Where code allocated, whatever it was inlined into: a function's own copy that
    # never ran may still be hot where callers inlined it.
    written = {site[0] for site in charged}
    out: dict[int, Cost] = {}
    for site, group in by_site.items():
        space, objects = charged.get(site, (0, 0))
        share = space / total if total else 0.0
        inlined_elsewhere = not space and not objects and site[0] in written
        k = len(group)
        for i, f in enumerate(group):
            # Even parts, the remainder on the first: the parts add up to the whole.
            part_space = space // k + (space % k if i == 0 else 0)
            part_objects = objects // k + (objects % k if i == 0 else 0)
            out[id(f)] = Cost(
                part_space,
                part_objects,
                part_space / total if total else 0.0,
                k,
                space,
                objects,
                share,
                inlined_elsewhere,
            )
    return out


def _with_cost(
    f: Finding, costs: dict[int, Cost], has_alloc: bool, hot: _Hotness | None
) -> Finding:
    cost = costs.get(id(f)) if has_alloc else None
    heat = hot.of(f) if hot is not None else None
    if cost is None and heat is None:
        return f
    return replace(f, cost=cost, hot=heat)


class _Hotness:
    """The share of CPU samples with a function on the stack, by its directory and its
    name as heaplens writes it (``(*T).M``, ``F.func1``): a function counts once per
    sample, however deep it recurses or however often it was inlined there."""

    def __init__(self, counts: dict[tuple[str, str], int], total: int) -> None:
        self._counts = counts
        self._total = total

    def of(self, f: Finding) -> float:
        if not self._total:
            return 0.0
        name = _plain(f.function)
        return self._counts.get((os.path.dirname(f.file), name), 0) / self._total


def _hotness(samples: Sequence[Sample], paths: _PathMatcher) -> _Hotness:
    counts: dict[tuple[str, str], int] = {}
    total = 0
    for sample in samples:
        total += sample.space
        seen: set[tuple[str, str]] = set()
        for location in sample.stack:
            for frame in location:
                file = paths(frame.file)
                if file is not None:
                    seen.add((os.path.dirname(file), _plain(_short_name(frame.function))))
        for key in seen:
            counts[key] = counts.get(key, 0) + sample.space
    return _Hotness(counts, total)


_BRACKETS = re.compile(r"\[[^\[\]]*\]")


def _plain(name: str) -> str:
    """A function's name without type arguments: pprof writes ``G[...]``, heaplens ``G``."""
    while "[" in name:
        stripped = _BRACKETS.sub("", name)
        if stripped == name:
            break
        name = stripped
    return name


def _short_name(qualified: str) -> str:
    """``example.com/m/pkg.(*T).M`` -> ``(*T).M``: the name after the package path."""
    slash = qualified.rfind("/", 0, _first_bracket(qualified))
    dot = qualified.find(".", slash + 1)
    return qualified[dot + 1 :] if dot >= 0 else qualified


def _first_bracket(name: str) -> int:
    i = name.find("[")
    return i if i >= 0 else len(name)


def _warnings(profiles: Profiles, paths: _PathMatcher, checked: set[str]) -> Iterable[str]:
    """A profile none of whose samples is in the checked files, and one older than a
    checked file its samples name."""
    for index, pf in enumerate(profiles.files):
        samples = _samples_of(profiles, index)
        named = {
            file
            for sample in samples
            for location in sample.stack
            for frame in location
            if (file := paths(frame.file)) is not None
        }
        name = os.path.basename(pf.path)
        if not named:
            yield (
                f"{name}: none of its samples is in the packages checked; "
                "is it a profile of this code?"
            )
            continue
        newer = sorted(f for f in named if _mtime(f) > pf.time)
        if newer:
            shown = ", ".join(os.path.basename(f) for f in newer[:3])
            more = f" and {len(newer) - 3} more" if len(newer) > 3 else ""
            yield (
                f"{name} is older than {shown}{more}, changed since it was taken: "
                "its lines may no longer match the code"
            )


def _samples_of(profiles: Profiles, index: int) -> list[Sample]:
    if profiles.files[index].kind == "alloc":
        pairs = zip(profiles.alloc_samples, profiles.alloc_sources, strict=True)
    else:
        pairs = zip(profiles.cpu_samples, profiles.cpu_sources, strict=True)
    return [s for s, i in pairs if i == index]


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


__all__ = ["Location", "ProfileReport", "allocation_site", "finding_site", "join"]

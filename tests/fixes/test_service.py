"""``FixService`` on a real package with the real compiler: each stage's refusal comes back
as it was given, the furthest one wins, and verified fixes are attached to their findings.

The candidates are written by hand (the edits each stage must refuse), for a fixer
registered here whose own check can be told to refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from heaplens.analysis import Engine, Options
from heaplens.cache import ResultCache
from heaplens.fixes import registry
from heaplens.fixes.edits import Edit
from heaplens.fixes.fixer import (
    NEW_ESCAPE,
    NO_CANDIDATE,
    STILL_ON_HEAP,
    Proposal,
    Refusal,
    Stage,
    Verdict,
    accept_if_gone,
    decline,
    off_the_heap,
)
from heaplens.fixes.model import Alternative, Candidate, VerifiedFix
from heaplens.fixes.service import FixService, attach, disk_source, furthest
from heaplens.fixes.verify import DOES_NOT_BUILD, DOES_NOT_BUILD_BEFORE, NOT_FORMATTED
from heaplens.model import Finding, Kind
from tests.fixes.runner import Case, assert_refused, module

TOY = "toy"
CODE = "var sink any\n\nfunc F(n int) *int {\n\tp := new(int)\n\t*p = n\n\treturn p\n}"


@dataclass
class Toy:
    """Proposes nothing by itself; accepts what is gone unless told to refuse."""

    kind: str = TOY
    refuse: Refusal | None = None

    def candidates(self, proposal: Proposal) -> Iterator[Candidate]:
        return iter(())

    def accept(self, candidate: Candidate, verdict: Verdict) -> Refusal | None:
        return self.refuse or accept_if_gone(verdict)

    def title(self, candidate: Candidate, alternative: Alternative, verdict: Verdict) -> str:
        return off_the_heap(candidate, alternative, verdict)


@dataclass
class Package:
    mod: Path
    service: FixService
    findings: list[Finding]

    @property
    def path(self) -> str:
        return str(self.mod / "p.go")

    def candidate(self, *alternatives: tuple[bytes, bytes]) -> Candidate:
        """A candidate whose alternatives each replace one text of p.go by another."""
        source = Path(self.path).read_bytes()
        alts = []
        for old, new in alternatives:
            at = source.index(old)
            edit = Edit(at, at + len(old), new.decode())
            alts.append(Alternative((edit,), f"replace {old.decode()!r}"))
        heap = next(f for f in self.findings if f.kind is Kind.ESCAPES_TO_HEAP)
        return Candidate(TOY, self.path, "F", "toy", ((heap.file, heap.range),), tuple(alts))

    def verify(self, candidate: Candidate) -> VerifiedFix | Refusal:
        query = self.service.query_for(str(self.mod))
        assert query is not None
        return self.service.verify(query, {}, candidate, self.findings)


@pytest.fixture
def toy() -> Iterator[Toy]:
    with registry.register(Toy()) as fixer:
        assert isinstance(fixer, Toy)
        yield fixer


@pytest.fixture
def package(tmp_path: Path) -> Package:
    mod = module(tmp_path, Case("service", CODE, True))
    engine = Engine(Options(), ResultCache(None))
    result = engine.check(["."], str(mod))
    assert any(f.kind is Kind.ESCAPES_TO_HEAP for f in result.findings)
    return Package(mod, FixService(engine), list(result.findings))


# A fix that takes new(int) off the heap: return by value would change the signature,
# so the toy keeps the pointer but stops it escaping by not returning it.
GOOD = (b"\treturn p\n", b"\treturn nil\n")


def test_a_fix_the_compiler_backs_is_verified(toy: Toy, package: Package) -> None:
    fix = package.verify(package.candidate(GOOD))
    assert isinstance(fix, VerifiedFix), fix
    assert fix.kind == TOY and fix.removed_escapes == 1
    assert "keeps new(int) in F off the heap (verified)" in fix.title


def test_a_rewrite_gofmt_rejects_is_refused_at_the_edit(toy: Toy, package: Package) -> None:
    refused = package.verify(package.candidate((b"\treturn p\n", b"\treturn p)))\n")))
    assert_refused(refused, Stage.EDIT, NOT_FORMATTED)


def test_a_rewrite_that_does_not_build_is_refused_at_the_compile(
    toy: Toy, package: Package
) -> None:
    refused = package.verify(package.candidate((b"\treturn p\n", b"\treturn q\n")))
    assert_refused(refused, Stage.COMPILE, f"{DOES_NOT_BUILD}: p.go:")
    assert isinstance(refused, Refusal) and "undefined: q" in refused.reason


def test_a_new_escape_is_refused_whatever_the_fixer(toy: Toy, package: Package) -> None:
    more = (b"\treturn p\n", b"\tsink = &struct{ n int }{n}\n\treturn nil\n")
    assert_refused(package.verify(package.candidate(more)), Stage.ACCEPT, NEW_ESCAPE)


def test_the_fixers_own_refusal_comes_back_as_given(toy: Toy, package: Package) -> None:
    assert_refused(
        package.verify(package.candidate((b"\t*p = n\n", b"\t*p = n + 1\n"))),
        Stage.ACCEPT,
        STILL_ON_HEAP,
    )
    toy.refuse = decline(Stage.ACCEPT, "the toy says no")
    refused = package.verify(package.candidate(GOOD))
    assert refused == Refusal(Stage.ACCEPT, "the toy says no")


def test_the_alternative_that_got_furthest_is_the_reason(toy: Toy, package: Package) -> None:
    bad_format = (b"\treturn p\n", b"\treturn p)))\n")
    bad_build = (b"\treturn p\n", b"\treturn q\n")
    refused = package.verify(package.candidate(bad_build, bad_format))
    assert_refused(refused, Stage.COMPILE, DOES_NOT_BUILD)
    fix = package.verify(package.candidate(bad_format, GOOD))
    assert isinstance(fix, VerifiedFix), fix


def test_a_package_that_does_not_build_is_refused_at_the_baseline(
    toy: Toy, package: Package
) -> None:
    candidate = package.candidate(GOOD)
    (package.mod / "broken.go").write_text("package p\n\nvar broken = undefinedName\n")
    assert_refused(package.verify(candidate), Stage.BASELINE, DOES_NOT_BUILD_BEFORE)


def test_a_file_gone_is_refused_at_the_edit(toy: Toy, package: Package) -> None:
    candidate = package.candidate(GOOD)
    Path(package.path).rename(package.mod / "q.go")
    assert_refused(package.verify(candidate), Stage.EDIT, "cannot read")


def test_no_candidate_is_a_refusal_at_the_proposal(package: Package) -> None:
    query = package.service.query_for(str(package.mod))
    assert query is not None
    nothing = package.service.first(query, package.findings, disk_source, ("sync-pool",))
    assert nothing == Refusal(Stage.PROPOSE, NO_CANDIDATE)


def test_furthest_prefers_the_later_stage_then_the_first() -> None:
    a, b = decline(Stage.COMPILE, "a"), decline(Stage.COMPILE, "b")
    assert furthest([decline(Stage.EDIT, "e"), a, b, decline(Stage.BASELINE, "x")]) is a
    assert furthest([]) == Refusal(Stage.PROPOSE, NO_CANDIDATE)
    assert str(a) == "compile: a"


def test_attach_puts_each_verified_fix_on_its_anchors_only(toy: Toy, package: Package) -> None:
    fix = package.verify(package.candidate(GOOD))
    assert isinstance(fix, VerifiedFix)
    attached = attach(package.findings, [fix])
    fixed = [f for f in attached if f.fixes]
    assert [(f.file, f.range) for f in fixed] == list(fix.anchors)
    assert [(x.kind, x.title, x.verified) for x in fixed[0].fixes] == [(TOY, fix.title, True)]
    # A finding with an unverified candidate loses it.
    assert all(not f.fixes for f in attached if (f.file, f.range) not in fix.anchors)


def test_fix_all_says_why_each_candidate_was_not_taken(tmp_path: Path) -> None:
    """A type parameter whose boxing only moves into the function: ``fix`` reports it as
    unverified, with the refusal verification gave."""
    code = (
        "type Shape interface{ Area() float64 }\n\n"
        "type Rect struct{ W, H float64 }\n\n"
        "func (r Rect) Area() float64 { return r.W * r.H }\n\n"
        "var kept any\n\n"
        "//go:noinline\nfunc area(s Shape) float64 {\n\tkept = s\n\treturn s.Area()\n}\n\n"
        "func Use() float64 { return area(Rect{1, 2}) + area(Rect{3, 4}) }"
    )
    mod = module(tmp_path, Case("unverified", code, False))
    run = FixService(Engine(Options(), ResultCache(None))).fix_all(["."], str(mod))
    assert not run.applied and not run.files
    assert [(c.kind, r.stage) for c, r in run.unverified] == [("type-parameter", Stage.ACCEPT)]
    assert run.unverified[0][1].reason.startswith(NEW_ESCAPE)

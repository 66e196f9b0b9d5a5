"""``findings.classify``'s rules one at a time, on records the compiler logged
(``rule_inputs``) or written in its log's shape: which rule files a record, which leaks
``-m`` never reports are dropped, and how each kind of record becomes a finding. Where two
rules recognise one record, the earlier one in ``_RECORD_RULES`` takes it."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from heaplens import findings
from heaplens.compiler_output import RawDiagnostic, RawOutput
from heaplens.findings import _Leak, _LeakSite, _Records
from heaplens.model import NO_REASON, Kind, Position, Reason, ReasonCode
from heaplens.syntax import SourceFile
from rule_inputs import (
    ESC_GO,
    esc_source,
    leaky_source,
    lookups,
    record,
    recorded,
    recorded_log,
)

#: The recorded records, by what the source says at them.
CONFIG = ("escape", 23, "&Config{...}")  # return &Config{Name: "x"}
CONFIG_VERDICT = ("escape", 23, "")
MOVED_X = ("escape", 32, "x escapes")  # x := 42; return &x
LEAK_W = ("leak", 47, "parameter w")  # w.Write(b.Bytes())
LEAK_TO_RESULT = ("leak", 76, "parameter p")  # func Leak(p *int) *int { return p }
CAN_INLINE = ("canInlineFunction", 22, "cost")  # NewConfig
CANNOT_INLINE = ("cannotInlineFunction", 47, "function too complex")  # Enc


def taken_by(diag: RawDiagnostic) -> str:
    """The name of the first record rule that takes ``diag``, run on fresh records."""
    into = _Records()
    rule = next(r for r in findings._RECORD_RULES if r(diag, into, esc_source_lookup))
    return rule.__name__


def esc_source_lookup(path: str) -> SourceFile | None:
    return esc_source() if path == ESC_GO else None


def filed(rule: findings._RecordRule, diag: RawDiagnostic) -> tuple[bool, _Records]:
    into = _Records()
    return rule(diag, into, esc_source_lookup), into


def is_empty(into: _Records) -> bool:
    return not (into.unknown or into.explanations or into.verdicts or into.leaks or into.inline)


def test_the_record_rules_in_order() -> None:
    assert [r.__name__ for r in findings._RECORD_RULES] == [
        "_explanation",
        "_verdict",
        "_foreign_parameter",
        "_parameter_leak",
        "_check",
        "_not_understood",
        "_inlining",
    ]


def test_explanation() -> None:
    took, into = filed(findings._explanation, recorded(*CONFIG))
    assert took and [list(m) for m in into.explanations.values()] == [
        ["&Config{...} escapes to heap"]
    ]
    # A record read twice is one.
    findings._explanation(recorded(*CONFIG), into, esc_source_lookup)
    assert sum(len(m) for m in into.explanations.values()) == 1
    for other in (CONFIG_VERDICT, LEAK_W, CAN_INLINE):
        took, into = filed(findings._explanation, recorded(*other))
        assert not took and is_empty(into), other


def test_verdict() -> None:
    took, into = filed(findings._verdict, recorded(*CONFIG_VERDICT))
    assert took and list(into.verdicts.values()) == [1]
    findings._verdict(recorded(*CONFIG_VERDICT), into, esc_source_lookup)
    assert list(into.verdicts.values()) == [2]  # several values can escape at one place
    for other in (CONFIG, LEAK_W):
        took, into = filed(findings._verdict, recorded(*other))
        assert not took and is_empty(into), other


FOREIGN = record(ESC_GO, "leak", "parameter zap.args leaks to {heap} with derefs=0", 47, 10)


def test_foreign_parameter() -> None:
    took, into = filed(findings._foreign_parameter, FOREIGN)
    assert took and is_empty(into)  # taken, and dropped
    took, into = filed(findings._foreign_parameter, recorded(*LEAK_W))
    assert not took and is_empty(into)


def test_a_foreign_parameter_is_dropped_before_it_is_merged() -> None:
    took, into = filed(findings._parameter_leak, FOREIGN)
    assert took and into.leaks  # what the later rule would do with it
    assert taken_by(FOREIGN) == "_foreign_parameter"
    raw = RawOutput(diagnostics=[FOREIGN])
    assert findings.classify(raw, [ESC_GO], esc_source_lookup, lookups().scope).findings == []


def test_parameter_leak_merges_per_parameter() -> None:
    took, into = filed(findings._parameter_leak, recorded(*LEAK_W))
    assert took
    (leak,) = into.leaks.values()
    assert leak.name == "w" and leak.heap is not None and leak.heap[0] == 0 and not leak.results
    took, into = filed(findings._parameter_leak, recorded(*LEAK_TO_RESULT))
    (leak,) = into.leaks.values()
    assert leak.heap is None and [(d, n) for d, (n, _) in leak.results.items()] == [("~r0", 0)]
    # The fewest derefs per destination, whatever the order.
    weaker = record(ESC_GO, "leak", "parameter w leaks to {heap} with derefs=2", 47, 10)
    findings._parameter_leak(weaker, into, esc_source_lookup)
    findings._parameter_leak(recorded(*LEAK_W), into, esc_source_lookup)
    findings._parameter_leak(weaker, into, esc_source_lookup)
    w = into.leaks[(ESC_GO, Position(47, 10))]
    assert w.heap is not None and w.heap[0] == 0
    took, into = filed(findings._parameter_leak, recorded(*CONFIG))
    assert not took and is_empty(into)


def test_leak_add_counts_storage_and_outliving_variables_as_the_heap() -> None:
    diag = recorded(*LEAK_W)
    leak = _Leak(diag.position, "w")
    leak.add("{storage for &T{...}}", 1, diag, to_result=False)
    leak.add("~r0", 0, diag, to_result=True)
    leak.add("d", 0, diag, to_result=False)
    assert leak.heap == (0, diag) and list(leak.results) == ["~r0"]


def test_check() -> None:
    for code in ("isInBounds", "isSliceInBounds", "nilcheck"):
        diag = record(ESC_GO, code, "", 32, 2)
        took, into = filed(findings._check, diag)
        assert took and into.checks == [diag]
        assert taken_by(diag) == "_check"
    took, into = filed(findings._check, recorded(*CAN_INLINE))
    assert not took and is_empty(into) and not into.checks


def test_not_understood() -> None:
    odd_escape = record(ESC_GO, "escape", "x does something new", 32, 2)
    odd_leak = record(ESC_GO, "leak", "parameter w leaks somewhere", 47, 10)
    for diag in (odd_escape, odd_leak):
        took, into = filed(findings._not_understood, diag)
        assert took and into.unknown == [f"{ESC_GO}: {diag.code}: {diag.message}"]
        assert taken_by(diag) == "_not_understood"
    took, into = filed(findings._not_understood, recorded(*CAN_INLINE))
    assert not took and is_empty(into)


def test_what_is_understood_is_never_unknown() -> None:
    """`_not_understood` takes any escape or leak record: it must come after the rules
    that understand them."""
    for diag in (recorded(*CONFIG), recorded(*CONFIG_VERDICT), recorded(*LEAK_W)):
        assert filed(findings._not_understood, diag)[0]
        assert taken_by(diag) != "_not_understood"


def test_inlining_takes_what_is_left() -> None:
    took, into = filed(findings._inlining, recorded(*CAN_INLINE))
    assert took and into.inline == [recorded(*CAN_INLINE)]
    # It takes anything, so it comes last.
    assert filed(findings._inlining, recorded(*CONFIG))[0]
    assert taken_by(recorded(*CONFIG)) == "_explanation"
    assert findings._RECORD_RULES[-1] is findings._inlining


def _records_of(*diags: RawDiagnostic) -> _Records:
    into = _Records()
    for d in diags:
        into.take(d, esc_source_lookup)
    return into


def test_an_explanation_with_a_verdict_escapes_and_alone_is_moved() -> None:
    into = _records_of(recorded(*CONFIG), recorded(*CONFIG_VERDICT), recorded(*MOVED_X))
    kinds = {p[1].line: k for p, _d, k in findings._explained(into.explanations, into.verdicts)}
    assert kinds == {23: Kind.ESCAPES_TO_HEAP, 32: Kind.MOVED_TO_HEAP}


def test_explained_findings() -> None:
    into = _records_of(recorded(*CONFIG), recorded(*CONFIG_VERDICT), recorded(*MOVED_X))
    config, moved = findings._heap_findings(into, lookups())
    assert (config.kind, config.message, config.subject) == (
        Kind.ESCAPES_TO_HEAP,
        "&Config{...} escapes to heap",
        "&Config{...}",
    )
    src = esc_source()
    assert src.text(config.range) == '&Config{Name: "x"}'
    assert config.reason.code is ReasonCode.RETURNED and config.function == "NewConfig"
    assert (moved.kind, moved.message, src.text(moved.range)) == (
        Kind.MOVED_TO_HEAP,
        "moved to heap: x",
        "x",
    )
    assert moved.reason.code is ReasonCode.ADDRESS_RETURNED


def test_a_verdict_without_its_explanation_is_named_by_the_source() -> None:
    into = _records_of(recorded(*CONFIG_VERDICT))
    (found,) = findings._heap_findings(into, lookups())
    assert found.kind is Kind.ESCAPES_TO_HEAP and found.flow == ()
    assert found.message == '&Config{Name: "x"} escapes to heap'
    # Where only a span is known, its text holds more than the value.
    place = next(iter(into.verdicts))
    spanned = findings._bare_verdict_finding(place, found.range, True, esc_source(), lookups())
    assert spanned.message == "value escapes to heap"


def test_escapes_at_a_wrapper_are_not_shown(tmp_path: Path) -> None:
    src = leaky_source(tmp_path)
    at_go = record(src.path, "escape", "", 6, 2)  # the `go` keyword: its wrapper's
    in_body = record(src.path, "escape", "", 6, 9)  # `p` in `use(p)`
    into = _Records()
    for d in (at_go, in_body):
        into.take(d, lambda _p: src)
    found = findings._heap_findings(into, lookups(src))
    assert [f.point for f in found] == [Position(6, 9)]


def _site(src: SourceFile, line: int, col: int, moved: bool = False) -> _LeakSite:
    return _LeakSite(src.path, Position(line, col), src, moved, lookups(src))


def test_leak_drops(tmp_path: Path) -> None:
    src = leaky_source(tmp_path)
    plain = _site(src, 13, 12)
    assert not any(drop(plain) for drop in findings._LEAK_DROPS)
    assert findings._moved_parameter(replace(plain, moved=True))
    assert findings._at_wrapper(_site(src, 6, 2)) and not findings._at_wrapper(plain)
    assert findings._pointer_free(_site(src, 9, 13)) and not findings._pointer_free(plain)
    assert findings._generic(_site(src, 11, 21)) and not findings._generic(plain)
    # Without the source nothing can be told: nothing is dropped but a moved parameter.
    blind = replace(plain, src=None)
    assert [d.__name__ for d in findings._LEAK_DROPS if d(blind)] == []


@pytest.mark.parametrize(
    ("line", "col", "name"),
    [(6, 2, "go keyword"), (9, 13, "int"), (11, 21, "generic"), (13, 12, "plain")],
)
def test_only_the_plain_leak_is_reported(tmp_path: Path, line: int, col: int, name: str) -> None:
    src = leaky_source(tmp_path)
    msg = f"parameter {'n' if line == 9 else 'p'} leaks to {{heap}} with derefs=0"
    raw = RawOutput(diagnostics=[record(src.path, "leak", msg, line, col)])
    found = findings.classify(raw, [src.path], lambda _p: src, lookups(src).scope).findings
    assert [f.kind for f in found] == ([Kind.LEAKING_PARAM] if name == "plain" else []), name


def test_a_moved_parameter_is_not_a_leak(tmp_path: Path) -> None:
    """The heap findings come first: a parameter among them is dropped as a leak."""
    src = leaky_source(tmp_path)
    moved = record(
        src.path,
        "escape",
        "q escapes to heap",
        15,
        12,
        ((15, 12, "escflow:    flow: ~r0 ← &q:"), (15, 35, "escflow:      from &q (address-of)")),
    )
    leak = record(src.path, "leak", "parameter q leaks to {heap} with derefs=0", 15, 12)
    raw = RawOutput(diagnostics=[moved, leak])
    found = findings.classify(raw, [src.path], lambda _p: src, lookups(src).scope).findings
    assert [(f.kind, f.subject) for f in found] == [(Kind.MOVED_TO_HEAP, "q")]


def test_leak_messages() -> None:
    diag = recorded(*LEAK_W)
    leak = _Leak(diag.position, "w", heap=(0, diag))
    assert findings._leak_messages(leak) == (["leaking param: w"], [], diag)
    content = _Leak(
        diag.position, "w", heap=(1, diag), results={"~r0": (0, diag), "~r1": (1, diag)}
    )
    # A result leak the heap leak covers is not said.
    assert findings._leak_messages(content) == (
        ["leaking param content: w", "leaking param: w to result ~r0 level=0"],
        [("~r0", 0)],
        diag,
    )
    assert findings._leak_messages(_Leak(diag.position, "w")) == ([], [], None)


def test_a_leak_through_a_compiler_written_wrapper_is_not_shown() -> None:
    entries = (
        (1, 0, "escflow:    flow: {heap} ← ~p0:"),
        (1, 0, "escflow:      from ~p0.Area() (call parameter)"),
    )
    generated = record(
        ESC_GO,
        "leak",
        "parameter s leaks to {heap} with derefs=0",
        63,
        12,
        entries,
        "file://%3Cautogenerated%3E",
    )
    into = _records_of(generated)
    site = _site(esc_source(), 63, 12)
    assert findings._leak_finding(site, into.leaks[(ESC_GO, Position(63, 12))], into) is None
    into = _records_of(recorded("leak", 63, "parameter s"))
    found = findings._leak_finding(site, into.leaks[(ESC_GO, Position(63, 12))], into)
    assert found is not None and found[0].message == "leaking param: s"
    assert found[0].reason == Reason(ReasonCode.KEPT_BY_CALLEE, "s.Area") and found[1] == ""


def test_inline_findings() -> None:
    can = findings._inline_finding(recorded(*CAN_INLINE), lookups())
    assert (can.kind, can.message, can.reason) == (
        Kind.INLINING,
        "can inline NewConfig with cost 5",
        NO_REASON,
    )
    assert esc_source().text(can.range) == "NewConfig"
    cannot = findings._inline_finding(recorded(*CANNOT_INLINE), lookups())
    assert cannot.kind is Kind.CANNOT_INLINE
    assert cannot.message == "cannot inline Enc: function too complex: cost 161 exceeds budget 80"
    assert cannot.reason == Reason(
        ReasonCode.INLINING, "function too complex: cost 161 exceeds budget 80"
    )


def test_finished_merges_identical_verdicts_and_sorts() -> None:
    into = _records_of(recorded(*MOVED_X), recorded(*CONFIG), recorded(*CONFIG_VERDICT))
    config_first = sorted(findings._heap_findings(into, lookups()), key=lambda f: f.kind.value)
    assert [f.range.start.line for f in config_first] == [23, 32]
    twice = [config_first[1], config_first[0], config_first[0]]
    done = findings._finished(twice, esc_source_lookup)
    assert [(f.range.start.line, f.count) for f in done] == [(23, 2), (32, 1)]
    shapes = replace(config_first[0], message="F[go.shape.int] escapes to heap")
    other = replace(config_first[0], message="F[go.shape.string] escapes to heap")
    assert [f.count for f in findings._finished([shapes, other], esc_source_lookup)] == [2]


def test_classify_is_the_rules_together() -> None:
    """The whole recorded log, classified: every rule's findings, and nothing unknown."""
    raw = RawOutput(diagnostics=list(recorded_log()))
    result = findings.classify(raw, [ESC_GO], esc_source_lookup, lookups().scope)
    assert result.unknown == []
    counts = Counter(f.kind for f in result.findings)
    assert counts[Kind.MOVED_TO_HEAP] >= 2 and counts[Kind.LEAKING_PARAM] >= 4
    assert counts[Kind.INLINING] >= 5 and counts[Kind.CANNOT_INLINE] >= 2

"""No compiler internals in anything a person reads, on real modules nobody here wrote
(the recall corpus: recorded real modules and GOROOT packages): the text report, the
reason and subject, SARIF messages, diagnostics, hover and inlay hints. Only the JSON
report's ``message`` keeps the compiler's words."""

from __future__ import annotations

from collections import Counter

from heaplens import advice, report_sarif, report_text, wording
from heaplens.lsp import presentation
from heaplens.model import Finding, Kind
from heaplens.positions import FileColumns
from recall_corpus import findings_by_case

#: What must never be read: results, temporaries, locations, levels, shapes.
FORBIDDEN = (
    "~r",
    "~R",
    "~p",
    ".autotmp_",
    "..stmp_",
    "level=",
    "{heap}",
    "{storage for",
    "go.shape",
    "#state",
    "derefs=",
)


def _texts(f: Finding) -> dict[str, str]:
    sarif = report_sarif._result(f, FileColumns("utf-16"), lambda _k: 0)
    related = [r.get("message", {}).get("text", "") for r in sarif.get("relatedLocations", [])]
    return {
        "text report": report_text._finding_line(f),
        "reason": wording.reason_text(f.reason, f.kind),
        "subject": f.subject,
        "diagnostic": presentation.message(f),
        "hover": presentation.hover_markdown(f),
        "inlay hint": advice.short_label(f),
        "SARIF message": sarif["message"]["text"],
        "SARIF related": "\n".join(related),
    }


def test_no_compiler_names_anywhere_a_person_reads() -> None:
    cases = findings_by_case()
    found = [f for fs in cases.values() for f in fs]
    assert len(cases) >= 8 and len(found) > 2000
    bad: Counter[str] = Counter()
    examples: dict[str, str] = {}
    raw = 0
    for f in found:
        if any(word in f.message for word in FORBIDDEN):
            raw += 1  # the compiler's own words, which the JSON keeps
        for where, text in _texts(f).items():
            hits = [w for w in FORBIDDEN if w in text]
            if hits:
                bad[where] += 1
                examples.setdefault(where, f"{f.file}:{f.range.start.line}: {text[:300]}")
    assert not bad, (dict(bad), examples)
    # The corpus does exercise the rewording: the compiler's verdicts are full of them.
    assert raw > 50


def test_every_finding_has_words_for_why() -> None:
    """Heap findings say why, in words, and the code behind them is never a guess."""
    found = [f for fs in findings_by_case().values() for f in fs]
    heap = [f for f in found if f.kind in (Kind.ESCAPES_TO_HEAP, Kind.MOVED_TO_HEAP)]
    assert all(wording.reason_text(f.reason, f.kind) for f in heap)
    codes = Counter(f.reason.code.value for f in found)
    # Unexplained findings are rare: the flow almost always names a decisive edge.
    assert codes["unexplained"] <= len(found) // 200, codes

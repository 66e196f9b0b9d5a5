"""What every supported Go version must say about the ``corpus`` fixture module.

Shared by the tests on recorded logs and the tests that run other toolchains live.
Findings come in as plain rows (the JSON report's shape) so both can use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from heaplens import wording
from heaplens.model import Finding

Row = dict[str, Any]


def rows_of(found: list[Finding]) -> list[Row]:
    return [
        {
            "kind": f.kind.value,
            "function": f.function,
            "message": f.message,
            "reason": wording.reason_text(f.reason, f.kind),
            "file": f.file,
            "line": f.range.start.line,
            "column": f.range.start.column,
            "flow": [{"message": s.message, "to": s.dst} for s in f.flow],
        }
        for f in found
    ]


def one(rows: list[Row], **want: Any) -> Row:
    hits = [r for r in rows if all(r.get(k) == v for k, v in want.items())]
    assert len(hits) == 1, (want, [(r["kind"], r["function"], r["message"]) for r in rows])
    return hits[0]


def check_esc_facts(rows: list[Row], module: Path) -> None:
    esc = str(module / "esc" / "esc.go")
    heap = [r for r in rows if r["file"] == esc]
    ret = one(heap, function="NewConfig", kind="escapes-to-heap")
    assert ret["message"] == "&Config{...} escapes to heap"
    assert ret["reason"] == "returned to the caller"
    assert ret["flow"] and ret["flow"][-1]["to"] == "~r0"
    stored = one(heap, function="Store", kind="escapes-to-heap")
    assert stored["reason"] == "stored in a package variable (global)"
    assert one(heap, function="Moved", kind="moved-to-heap")["message"] == "moved to heap: x"
    assert one(heap, function="Closure", kind="moved-to-heap")["reason"] == "captured by a closure"
    boxed = one(heap, function="Sprint", message="n escapes to heap")
    assert boxed["reason"] == "converted to an interface for fmt.Sprint"
    iface = one(heap, function="UseTotal", kind="escapes-to-heap")
    assert iface["reason"] == "converted to an interface for Total"
    big = one(heap, function="Big", kind="escapes-to-heap")
    assert big["reason"] == "too large for the stack"
    assert one(heap, message="leaking param: p to result ~r0 level=0")["function"] == "Leak"
    assert one(heap, message="leaking param content: p")["function"] == "LeakContent"
    assert one(heap, message="leaking param: w")["function"] == "Enc"
    assert one(heap, function="(*Config).Clone", kind="moved-to-heap")
    unicode = one(heap, function="Unicode", kind="escapes-to-heap")
    line = (module / "esc" / "esc.go").read_bytes().splitlines()[unicode["line"] - 1]
    assert unicode["column"] == line.index(b"&Point{X: 1}") + 1
    assert one(heap, kind="cannot-inline", function="Total")["message"].endswith("go:noinline")
    inline = one(heap, kind="inlining", function="NewConfig")
    assert inline["message"].startswith("can inline NewConfig with cost")


def check_test_facts(rows: list[Row], module: Path) -> None:
    internal = str(module / "tested" / "tested_test.go")
    assert one(rows, file=internal, message="new(int) escapes to heap")["function"] == "TestMake"
    assert any(r["file"] == str(module / "tested" / "ext_test.go") for r in rows)

"""Findings past byte column 255, where the compiler records every column as 255.

The oracle is the real compiler on the same code with its long lines broken: every
``, `` and ``; `` of the long lines becomes ``,\\n`` and ``;\\n``. That keeps every byte
where it was, so a byte offset means the same place in both files, and on the broken
layout each verdict is short of column 255, where ``go build -gcflags=-m=2`` prints its
true column.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from conftest import check_json
from heaplens.positions import line_offsets, units_to_byte
from tests.lsp.harness import heaplens_diagnostics, open_file, session, wait_for

#: Before column 255: multi-byte UTF-8, so that bytes, runes and UTF-16 units differ.
_FILLER = '_ = "héllo wörld ✓✓✓ ünïcödé 𝄞𝄞 ' + "x" * 150 + '"'


def long_line_source() -> str:
    """A function whose body is one line of 41 verdicts, all but a few past byte 255,
    and a line of three functions whose parameters leak."""
    moved = [f"a{i} := {i}" for i in range(8)]
    statements = [
        _FILLER,
        *moved,
        "keep(" + ", ".join(f"&a{i}" for i in range(8)) + ")",
        "keep(" + ", ".join(["new(int)"] * 12) + ")",
        "fmt.Println(" + ", ".join(["s"] + [f"n+{i}" for i in range(1, 10)]) + ")",
        "keepT(" + ", ".join(f"&T{{N: {i}}}" for i in range(11)) + ")",
    ]
    leaks = "; ".join(f"func L{i}(p *int) *int {{ return p }}" for i in range(3))
    return (
        'package long\n\nimport "fmt"\n\ntype T struct{ N int }\n\n'
        "var sink []*int\nvar sinkT []*T\n\n"
        "//go:noinline\nfunc keep(ps ...*int) { sink = append(sink, ps...) }\n\n"
        "//go:noinline\nfunc keepT(ts ...*T) { sinkT = append(sinkT, ts...) }\n\n"
        f"func Long(n int, s string) {{\n\t{'; '.join(statements)}\n}}\n\n"
        f'var _ = "{"y" * 240}"; {leaks}\n'
    )


def broken(source: str) -> str:
    """The same bytes with the long lines broken after each `,` and `;`."""
    return "\n".join(
        line.replace(", ", ",\n").replace("; ", ";\n") if len(line.encode()) > 255 else line
        for line in source.split("\n")
    )


def module(root: Path, source: str) -> Path:
    root.mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/long\n\ngo 1.21\n")
    (root / "long.go").write_text(source)
    return root


_M = re.compile(r"^\./long\.go:(\d+):(\d+): (.*)$")
_VERDICT = re.compile(r"^(moved to heap: \S+|.+ escapes to heap|leaking param: .*)$")


def compiler_verdicts(mod: Path) -> Counter[tuple[str, int]]:
    """``-m=2``'s verdicts on the broken layout: (message, byte offset) of each."""
    proc = subprocess.run(
        ["go", "build", "-gcflags=-m=2", "-o", "/dev/null", "."],
        cwd=mod,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    starts = line_offsets((mod / "long.go").read_bytes())
    out: Counter[tuple[str, int]] = Counter()
    for text in proc.stderr.splitlines():
        m = _M.match(text)
        if m and _VERDICT.match(m.group(3)) and " in " not in m.group(3):
            assert int(m.group(2)) < 255, text  # the oracle must have its columns
            out[(m.group(3), starts[int(m.group(1)) - 1] + int(m.group(2)) - 1)] += 1
    return out


def offsets(mod: Path, f: dict[str, Any]) -> tuple[int, int]:
    starts = line_offsets((mod / "long.go").read_bytes())
    return (
        starts[f["line"] - 1] + f["column"] - 1,
        starts[f["end_line"] - 1] + f["end_column"] - 1,
    )


def test_forty_verdicts_past_column_255_each_at_its_column(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    source = long_line_source()
    long_mod = module(tmp_path / "long", source)
    short_mod = module(tmp_path / "short", broken(source))
    body = next(i for i, t in enumerate(source.split("\n"), 1) if t.startswith("\t_ = "))
    assert len(source.split("\n")[body - 1].encode()) > 600

    rc, data, err = check_json(".", cwd=long_mod, env=cli_env)
    assert rc == 0, err
    rc, short, err = check_json(".", cwd=short_mod, env=cli_env)
    assert rc == 0, err
    truth = compiler_verdicts(short_mod)
    starts = line_offsets(source.encode())
    long_lines = {i + 1 for i, t in enumerate(source.split("\n")) if len(t.encode()) > 255}
    on_long = {k: n for k, n in truth.items() if bisect_line(starts, k[1]) in long_lines}
    assert sum(on_long.values()) >= 44  # 41 in the body, 3 leaks

    found = [f for f in data["findings"] if f["line"] in long_lines]
    assert sum(f["count"] for f in found) == sum(on_long.values())
    # Each verdict of the compiler is a finding of the same message around its point,
    # and never two verdicts one finding.
    for (message, point), n in on_long.items():
        holding = [
            f
            for f in found
            if f["message"] == message
            and offsets(long_mod, f)[0] <= point < offsets(long_mod, f)[1]
        ]
        assert sum(f["count"] for f in holding) == n, (message, point, holding)
    # The same ranges, flows and reasons as where the compiler has every column.
    assert _shape(long_mod, found) == _shape(
        short_mod, [f for f in short["findings"] if f["line"] >= body]
    )


def bisect_line(starts: list[int], offset: int) -> int:
    import bisect

    return bisect.bisect_right(starts, offset)


def _shape(mod: Path, found: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    starts = line_offsets((mod / "long.go").read_bytes())
    return sorted(
        (
            f["kind"],
            f["message"],
            f["reason"],
            f["count"],
            offsets(mod, f),
            tuple((starts[s["line"] - 1] + s["column"] - 1, s["message"]) for s in f["flow"]),
        )
        for f in found
    )


async def test_server_underlines_each_expression_in_utf16(tmp_path: Path) -> None:
    source = long_line_source()
    mod = module(tmp_path / "long", source)
    body = next(i for i, t in enumerate(source.split("\n")) if t.startswith("\t_ = "))
    line = source.encode().split(b"\n")[body]
    async with session(mod, cache_dir=tmp_path / "cache") as lsp:
        uri = open_file(lsp, mod / "long.go")
        diags = await wait_for(
            lambda: (
                [d for d in heaplens_diagnostics(lsp, uri) if d.range.start.line == body] or None
            ),
            120,
            "diagnostics on the long line",
        )
    texts = Counter()
    for d in diags:
        assert d.range.end.line == body
        start = units_to_byte(line, d.range.start.character, "utf-16")
        end = units_to_byte(line, d.range.end.character, "utf-16")
        texts[line[start:end].decode()] += 1
    assert texts["new(int)"] == 12
    assert all(texts[f"&T{{N: {i}}}"] == 1 for i in range(11))
    assert all(texts[f"n+{i}"] == 1 for i in range(1, 10))
    assert all(texts[f"a{i}"] >= 1 for i in range(8))

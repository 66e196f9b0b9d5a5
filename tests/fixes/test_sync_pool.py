"""The sync-pool fix against the real compiler: where it applies, where it must not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixes.runner import Case, assert_clean_build, find_fix, heap_escapes, module

APPLIES = [
    Case(
        "buffer_into_json_encoder",
        'import (\n\t"bytes"\n\t"encoding/json"\n\t"io"\n)\n\n'
        "func Encode(w io.Writer, v any) error {\n\tbuf := &bytes.Buffer{}\n"
        "\tif err := json.NewEncoder(buf).Encode(v); err != nil {\n\t\treturn err\n\t}\n"
        "\t_, err := w.Write(buf.Bytes())\n\treturn err\n}",
        True,
        "buf := bufPool.Get().(*bytes.Buffer)\n\tbuf.Reset()\n\tdefer bufPool.Put(buf)",
    ),
    Case(
        "new_buffer_into_fprintf",
        'import (\n\t"bytes"\n\t"fmt"\n)\n\n'
        "func Render(name string, n int) string {\n\tb := new(bytes.Buffer)\n"
        '\tfmt.Fprintf(b, "%s=%d", name, n)\n\treturn b.String()\n}',
        True,
        "b := bPool.Get().(*bytes.Buffer)",
    ),
    Case(
        "user_type_to_interface_method",
        "type Job struct{ ID, Tries int }\n\ntype Runner interface{ Run(*Job) }\n\n"
        "func Do(r Runner, id int) {\n\tj := new(Job)\n\tj.ID = id\n\tr.Run(j)\n}",
        True,
        "j := jPool.Get().(*Job)\n\t*j = *new(Job)\n\tdefer jPool.Put(j)",
    ),
    Case(
        "composite_literal_to_func_value",
        "type Req struct{ Path string; N int }\n\n"
        "func Handle(path string, fn func(*Req)) {\n\treq := &Req{Path: path}\n\tfn(req)\n}",
        True,
        "*req = Req{Path: path}",
    ),
    Case(
        "byte_slice_into_reader",
        'import "io"\n\nfunc Sum(r io.Reader) (int, error) {\n\tbuf := make([]byte, 4096)\n'
        "\tn, err := r.Read(buf)\n\ttotal := 0\n\tfor _, c := range buf[:n] {\n"
        "\t\ttotal += int(c)\n\t}\n\treturn total, err\n}",
        True,
        "clear(buf)",
    ),
    Case(
        "byte_slice_named_size",
        'import "io"\n\nconst chunk = 512\n\nfunc Head(r io.Reader) byte {\n'
        "\tbuf := make([]byte, chunk)\n\tio.ReadFull(r, buf)\n\treturn buf[0]\n}",
        True,
        "buf := (*bufp)[:chunk]",
    ),
    Case(
        "builder_into_fprint",
        'import (\n\t"fmt"\n\t"strings"\n)\n\n'
        "func Join(a, b int) int {\n\tsb := &strings.Builder{}\n\tfmt.Fprint(sb, a, b)\n"
        "\treturn sb.Len()\n}",
        True,
        "sb := sbPool.Get().(*strings.Builder)",
    ),
    Case(
        "buffer_into_io_copy",
        'import (\n\t"bytes"\n\t"io"\n)\n\n'
        "func Size(r io.Reader) int64 {\n\tbuf := new(bytes.Buffer)\n\tn, _ := io.Copy(buf, r)\n"
        "\treturn n\n}",
        True,
        "defer bufPool.Put(buf)",
    ),
]

DOES_NOT_APPLY = [
    Case(
        "value_is_returned",
        'import (\n\t"bytes"\n\t"fmt"\n)\n\n'
        "func Make(n int) *bytes.Buffer {\n\tbuf := &bytes.Buffer{}\n\tfmt.Fprint(buf, n)\n"
        "\treturn buf\n}",
        False,
    ),
    Case(
        "stored_in_package_variable",
        'import "bytes"\n\nvar last *bytes.Buffer\n\nfunc Keep() {\n\tbuf := new(bytes.Buffer)\n'
        "\tlast = buf\n}",
        False,
    ),
    Case(
        "method_needs_pointer_identity",
        "type Tracker struct{ N int }\n\nvar registry []*Tracker\n\n"
        "func (t *Tracker) Register() { registry = append(registry, t) }\n\n"
        "func Track() {\n\tt := new(Tracker)\n\tt.Register()\n}",
        False,
    ),
    Case(
        "captured_by_goroutine",
        'import (\n\t"bytes"\n\t"fmt"\n)\n\n'
        "func Bg() {\n\tbuf := new(bytes.Buffer)\n\tgo func() { fmt.Fprint(buf, 1) }()\n}",
        False,
    ),
    Case(
        "declared_in_a_loop",
        'import (\n\t"bytes"\n\t"fmt"\n)\n\n'
        "func Each(ns []int) int {\n\ttotal := 0\n\tfor _, n := range ns {\n"
        "\t\tbuf := new(bytes.Buffer)\n\t\tfmt.Fprint(buf, n)\n\t\ttotal += buf.Len()\n\t}\n"
        "\treturn total\n}",
        False,
    ),
    Case(
        "non_constant_size",
        'import "io"\n\nfunc Read(r io.Reader, n int) byte {\n\tbuf := make([]byte, n)\n'
        "\tr.Read(buf)\n\treturn buf[0]\n}",
        False,
    ),
]


@pytest.mark.parametrize("case", APPLIES, ids=str)
def test_sync_pool_applies(case: Case, tmp_path: Path) -> None:
    mod = module(tmp_path, case)
    fix = find_fix(mod, "sync-pool")
    assert fix is not None, "no verified sync-pool fix"
    before = heap_escapes(mod, fix.scope_function)
    text = fix.fixed.decode()
    assert case.expect in text, text
    assert '"sync"' in text and "sync.Pool{New:" in text
    assert fix.removed_escapes >= 1 and "heap escape" in fix.title
    (mod / "p.go").write_bytes(fix.fixed)
    assert_clean_build(mod)
    # The function's per-call allocation is gone, as the title says. (The pool's New
    # allocates once per pooled value, and the compiler reports that in New.)
    after = heap_escapes(mod, fix.scope_function)
    assert before - after == fix.removed_escapes


@pytest.mark.parametrize("case", DOES_NOT_APPLY, ids=str)
def test_sync_pool_does_not_apply(case: Case, tmp_path: Path) -> None:
    assert find_fix(module(tmp_path, case), "sync-pool") is None

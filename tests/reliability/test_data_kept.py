"""``heaplens fix --write`` end to end, on files the user owns: whatever goes wrong, what
the user wrote is never lost. Each case counts in the corpus, data loss included."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.reliability.harness import cli, kept

_POOLED = (
    "package p\n\n"
    'import (\n\t"bytes"\n\t"fmt"\n)\n\n'
    "func Render(name string, n int) string {\n\tb := new(bytes.Buffer)\n"
    '\tfmt.Fprintf(b, "%s=%d", name, n)\n\treturn b.String()\n}\n'
)

# The same shape in another function of the package, its pool named apart.
_OTHER = _POOLED.replace("Render", "Show").replace("b := ", "c := ").replace("(b,", "(c,")
_OTHER = _OTHER.replace("return b.", "return c.")

# The user saves p.go while heaplens verifies its fix: `fix --test` runs the package's
# tests with the fix (the one way heaplens runs workspace code, asked for by name), and
# this test is where the save happens, after the fix was computed and before it is written.
_SAVES_MEANWHILE = """package p

import (
	"bytes"
	"os"
	"testing"
)

func TestRender(t *testing.T) {
	data, err := os.ReadFile("p.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("saved meanwhile")) {
		if err := os.WriteFile("p.go", append(data, "\\n// saved meanwhile\\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if Render("a", 1) != "a=1" {
		t.Fatal("wrong")
	}
}
"""


def _module(tmp_path: Path, files: dict[str, str]) -> Path:
    mod = tmp_path / "m"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/m\n\ngo 1.23\n")
    for name, text in files.items():
        (mod / name).write_text(text)
    return mod


def test_a_save_during_verification_is_kept(tmp_path: Path) -> None:
    mod = _module(tmp_path, {"p.go": _POOLED, "p_test.go": _SAVES_MEANWHILE})
    proc = cli("fix", "--write", "--test", ".", cwd=mod)
    # The test really ran and saved; the fix was offered, and then not written over it.
    kept({mod / "p.go": (_POOLED + "\n// saved meanwhile\n").encode()})
    assert "sync.Pool" in proc.stdout + proc.stderr
    assert "p.go: not written: it changed after heaplens read it" in proc.stderr
    assert proc.returncode == 2


def test_a_read_only_package_is_left_whole(tmp_path: Path) -> None:
    mod = _module(tmp_path, {"p.go": _POOLED, "q.go": _OTHER})
    before = {mod / name: (mod / name).read_bytes() for name in ("p.go", "q.go")}
    os.chmod(mod / "q.go", 0o444)
    proc = cli("fix", "--write", ".", cwd=mod)
    # q.go cannot be written, so p.go is not either: no half-applied package.
    kept(before)
    assert "q.go: not written: it is read-only" in proc.stderr, proc.stderr
    assert proc.returncode == 2
    assert stat.S_IMODE((mod / "q.go").stat().st_mode) == 0o444


def test_a_symlink_out_of_the_module_is_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.go"
    outside.write_text(_POOLED)
    mod = _module(tmp_path, {})
    (mod / "p.go").symlink_to(outside)
    proc = cli("fix", "--write", ".", cwd=mod)
    kept({outside: _POOLED.encode()})
    assert "p.go: not written" in proc.stderr, proc.stderr
    assert (mod / "p.go").is_symlink()

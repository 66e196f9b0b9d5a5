"""The test functions go test refuses, found on syntax as cmd/go finds them. Every
expectation here was checked against `go test -c -vet=off` (Go 1.26)."""

from __future__ import annotations

import pytest

from heaplens.syntax import SourceFile
from heaplens.test_functions import refusal

_HEADER = 'package m\n\nimport (\n\t"testing"\n\tx "testing"\n)\n\ntype T = testing.T\n\n'

ACCEPTED = [
    "func TestA(t *testing.T) {}",
    "func TestA(t *T) {}",  # cmd/go cannot know how testing was imported
    "func TestA(*testing.T) {}",
    "func TestA(_ *x.T) {}",
    "func TestA(t *testing.T) () {}",
    "func TestA(t /* c */ *testing.T, /* d */) {}",
    "func Testa() {}",  # not a test: a lower-case letter follows the prefix
    "func Testé() {}",
    "func Test(t *testing.T) {}",
    "func BenchmarkA(b *testing.B) {}",
    "func FuzzA(f *testing.F) {}",
    "func TestMain(m *testing.M) {}",
    "func TestMain(t *testing.T) {}",  # an ordinary test
    "type R struct{}\nfunc (R) TestA() {}",  # methods are never tests
]

REJECTED = [
    "func TestA(t, u *testing.T) {}",
    "func TestA(t *testing.T) error { return nil }",
    "func TestA(t *testing.T) (err error) { return }",
    "func TestA(t testing.T) {}",
    "func TestA(t ...*testing.T) {}",
    "func TestA(t *(testing.T)) {}",
    "func TestA() {}",
    "func Test() {}",
    "func Test_x() {}",
    "func TestÉ() {}",
    "func TestA[X any](t *testing.T) {}",
    "func BenchmarkA(b *testing.T) {}",
    "func FuzzA(f *testing.T) {}",
    "func TestMain() {}",
]


def _refusal(*bodies: str) -> str | None:
    files = {f"/m/{i}_test.go": (_HEADER + body + "\n").encode() for i, body in enumerate(bodies)}
    return refusal(sorted(files), lambda path: SourceFile(path, files[path]))


@pytest.mark.parametrize("decl", ACCEPTED)
def test_accepted(decl: str) -> None:
    assert _refusal(decl) is None


@pytest.mark.parametrize("decl", REJECTED)
def test_rejected(decl: str) -> None:
    why = _refusal(decl)
    assert why is not None and why.startswith("/m/0_test.go: go test rejects the signature of")


def test_a_second_test_main_in_another_file() -> None:
    assert _refusal("func TestMain(m *testing.M) {}") is None
    assert _refusal("func TestMain(m *testing.M) {}", "func TestMain(m *testing.M) {}") == (
        "go test rejects a second TestMain"
    )

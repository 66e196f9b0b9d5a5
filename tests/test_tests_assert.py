"""Tests that can fail: every test function asserts something, and no test waits a fixed
time for something not to happen.

A test asserts when its body holds an ``assert``, a ``pytest.raises``/``warns``/``fail``,
a ``raise AssertionError`` (or of a test-defined subclass), or a call of one of the few
assertion helpers in ``ASSERTION_HELPERS``. That list is checked against the helpers
under tests/ that do assert (found here, transitively): a helper that stops asserting
falls out of it. In helpers, an ``assert x is not None`` or ``assert isinstance(...)``
only narrows a type for mypy, so it does not make a helper an assertion.

A fixed sleep of half a second or more, written as a literal, is how a negative check
passes when the server is slow: tests wait for an event instead (``tests/lsp/harness.py``:
``analysis_finished``, ``handled``). Sleeps that are the fault under test are allowed by
file, in ``FAULT_SLEEPS``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: Files whose long sleeps are part of the fault they set up, not a wait. None at present:
#: the faults sleep in a fake `go`'s shell script, or for a duration passed in.
FAULT_SLEEPS: frozenset[str] = frozenset()
LONGEST_SLEEP = 0.5
#: Helpers whose call is a test's assertion: each fails the test when what it waits for
#: or checks does not happen (a timeout is an AssertionError).
ASSERTION_HELPERS = frozenset(
    {
        "wait_for",  # tests/lsp/harness.py, and the raw client's in tests/reliability
        "wait_for_diagnostics",
        "analysis_finished",
        "kept",  # tests/reliability/harness.py: no file the user owns changed
        "cli",  # ... no crash, no hang, no process left behind
        "server",
        "raw_server",
        "check_json",  # tests/conftest.py: the output is JSON
        "check_esc_facts",  # tests/corpus_facts.py: the corpus's known findings
        "check_test_facts",
        "assert_refused",  # tests/fixes/runner.py: refused, at this stage, for this reason
        "assert_clean_build",  # ... builds, vets and is gofmt-clean
        "first_wins",  # tests/test_explain_rules.py: this rule answers before that one
    }
)
Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Module:
    path: Path
    tree: ast.Module

    @property
    def name(self) -> str:
        return str(self.path.relative_to(TESTS.parent))

    def imported_modules(self) -> frozenset[str]:
        """Names bound to modules here (``import asyncio``): ``asyncio.wait_for`` is not
        the harness's ``wait_for``."""
        return frozenset(
            alias.asname or alias.name.split(".")[0]
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        )


def modules() -> list[Module]:
    return [Module(p, ast.parse(p.read_text(), str(p))) for p in sorted(TESTS.rglob("*.py"))]


def functions(tree: ast.AST) -> Iterator[Function]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _narrows_only(node: ast.Assert) -> bool:
    test = node.test
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        return isinstance(test.ops[0], ast.IsNot) and _is_none(test.comparators[0])
    return isinstance(test, ast.Call) and getattr(test.func, "id", None) == "isinstance"


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _raised_name(node: ast.Raise) -> str | None:
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return exc.id if isinstance(exc, ast.Name) else None


def assertion_errors(mods: list[Module]) -> frozenset[str]:
    """AssertionError and the classes under tests/ that derive from it."""
    names = {"AssertionError"}
    for mod in mods:
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id in names for b in node.bases
            ):
                names.add(node.name)
    return frozenset(names)


def asserts_directly(fn: Function, errors: frozenset[str], *, in_helper: bool) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert) and not (in_helper and _narrows_only(node)):
            return True
        if isinstance(node, ast.Raise) and _raised_name(node) in errors:
            return True
        if isinstance(node, ast.Call) and _is_pytest_check(node.func):
            return True
    return False


def _is_pytest_check(func: ast.expr) -> bool:
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "pytest"
        and func.attr in ("raises", "warns", "fail")
    )


def helpers_called(fn: Function, modules_here: frozenset[str]) -> set[str]:
    """Names of the functions ``fn`` calls that may be tests/ helpers: bare names, and
    methods of objects that are not modules."""
    names: set[str] = set()
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            names.add(func.id)
        elif isinstance(func, ast.Attribute) and not (
            isinstance(func.value, ast.Name) and func.value.id in modules_here
        ):
            names.add(func.attr)
    return names


def assertion_helpers(mods: list[Module]) -> frozenset[str]:
    """Helpers under tests/ (not tests) that assert, directly or through another one."""
    errors = assertion_errors(mods)
    helpers = [
        (fn, mod.imported_modules())
        for mod in mods
        for fn in functions(mod.tree)
        if not fn.name.startswith("test_")
    ]
    found = {fn.name for fn, _ in helpers if asserts_directly(fn, errors, in_helper=True)}
    grew = True
    while grew:
        grew = False
        for fn, imported in helpers:
            if fn.name not in found and helpers_called(fn, imported) & found:
                found.add(fn.name)
                grew = True
    return frozenset(found)


def unasserted_tests(mods: list[Module], helpers: frozenset[str] = ASSERTION_HELPERS) -> list[str]:
    errors = assertion_errors(mods)
    return [
        f"{mod.name}:{fn.lineno} {fn.name}"
        for mod in mods
        for fn in functions(mod.tree)
        if fn.name.startswith("test_")
        and not asserts_directly(fn, errors, in_helper=False)
        and not helpers_called(fn, mod.imported_modules()) & helpers
    ]


def long_sleeps(mods: list[Module]) -> list[str]:
    """``time.sleep(x)`` / ``asyncio.sleep(x)`` with a literal ``x`` of LONGEST_SLEEP or more."""
    found = []
    for mod in mods:
        if mod.name in FAULT_SLEEPS:
            continue
        for node in ast.walk(mod.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "sleep"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, int | float)
                and node.args[0].value >= LONGEST_SLEEP
            ):
                found.append(f"{mod.name}:{node.lineno} sleep({node.args[0].value})")
    return found


def test_every_test_asserts() -> None:
    assert unasserted_tests(modules()) == []


def test_the_assertion_helpers_do_assert() -> None:
    assert ASSERTION_HELPERS - assertion_helpers(modules()) == set()


def test_no_fixed_sleep_waits_for_something_not_to_happen() -> None:
    assert long_sleeps(modules()) == []


def test_the_checker_tells_a_test_that_asserts_from_one_that_does_not() -> None:
    # The checker itself can fail: on made-up modules, each form counts and nothing else.
    source = """
import asyncio
import pytest

class Hung(AssertionError): ...

def expect(x):
    assert x, "not there"

def narrow(x):
    assert x is not None
    return x

async def wait_for(x): ...

def test_plain(): assert 1 + 1 == 2
def test_raises():
    with pytest.raises(ValueError): int("x")
def test_helper(): expect(3)
def test_subclass(): raise Hung("no answer")
class TestMethods:
    async def test_method(self): self.check()
    def check(self): assert self
async def test_none(): narrow(1)
async def test_module_call(): await asyncio.wait_for(wait_for(1), 1)
def test_sleep():
    import time
    time.sleep(1.5)
"""
    mods = [Module(TESTS / "made_up.py", ast.parse(source))]
    assert assertion_helpers(mods) == {"expect", "check"}
    assert [t.split()[-1] for t in unasserted_tests(mods, assertion_helpers(mods))] == [
        "test_none",
        "test_module_call",
        "test_sleep",
    ]
    assert [s.split()[-1] for s in long_sleeps(mods)] == ["sleep(1.5)"]

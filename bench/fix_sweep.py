"""Check ``heaplens fix --write ./...`` on real Go modules it has never seen.

    python bench/fix_sweep.py [--heaplens-args "..."] [--json out.json]
                              [--workdir /tmp/fixsweep] [MOD[@VER] ...]

With no module named, a default list of popular modules whose short tests are quick
and need neither network nor services is swept. A module without a version, or with
``@latest``, is resolved to a concrete version first (``go list -m -json``), and the
summary records that version.

For each module, one after another (the machine is small):

1. ``go mod download -json MOD@VER`` brings it through the module proxy; its ``Dir`` is
   copied out of the module cache into ``WORKDIR/<module>@<version>/src`` and made
   writable. ``git init`` and a first commit keep it as it came.
2. Only what the build needs is added, with the network, by the harness (never by
   heaplens): ``go mod download``, then ``go list -deps -test ./...``; only if that
   fails for want of go.sum entries, again with ``-mod=mod``. Whatever that changed is a
   second commit, so the reviewer sees it apart.
3. Baseline, with ``GOPROXY=off``: ``go build ./...``, ``go vet ./...``,
   ``go test -short -json ./...`` (the passing tests per package are recorded; one
   timeout for the whole run, ``--test-timeout``), and ``go doc -all`` of every package
   of ``go list ./...`` that has no ``internal`` path element. Whatever the tests left
   in the tree is committed, so that the next diff is heaplens's alone.
4. ``heaplens fix --write ./...`` plus ``--heaplens-args``, with ``GOPROXY=off``; its
   stderr is parsed: ``file: title`` per applied fix, ``file: dropped: title: why``,
   ``file: not tried, it changes the exported API: ...``, ``applied N fix(es) to M
   file(s)``. ``git diff`` of the result is saved to ``WORKDIR/<module>@<version>.diff``.
5. After: build and vet must still pass (or fail no worse than before), every test that
   passed before must pass (a regressed package is run once more, and a test that passes
   then is reported as flaky, not as a regression), ``go doc -all`` must be unchanged
   (unless the fix was allowed to change the API), every changed file must be
   ``gofmt``-clean, and no ``_test.go`` file may change unless ``--tests`` was passed.

It prints a summary line per module and then every failure in detail, and writes the
whole record as JSON with ``--json``. The exit status is 1 if any module failed a check
(or could not be swept), else 0.

Arguments for heaplens that start with ``-`` need the ``=`` form, e.g.
``--heaplens-args=--allow-api-change`` or ``--heaplens-args="--tests --timeout 1800"``
(``heaplens fix`` stops at its own ``--timeout``, 300 s by default: a large module such as
fasthttp needs more on a small machine). ``--heaplens`` names another heaplens command,
e.g. ``--heaplens "python -m heaplens"`` with ``PYTHONPATH`` at a copy of the sources, so
that a sweep is not disturbed by edits made while it runs.

Not run by CI: it needs the network and takes minutes per module.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_MODULES = (
    "github.com/sirupsen/logrus",
    "github.com/go-chi/chi/v5",
    "github.com/pelletier/go-toml/v2",
    "go.uber.org/zap",
    "github.com/rs/zerolog",
    "github.com/spf13/cobra",
    "github.com/labstack/echo/v4",
    "github.com/valyala/fasthttp",
)

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Step:
    """One command the harness ran."""

    argv: list[str]
    rc: int | None  # None: killed at its timeout
    seconds: float
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass
class TestRun:
    """What one ``go test -json ./...`` run showed."""

    passed: dict[str, set[str]] = field(default_factory=dict)  # package -> tests
    failed: dict[str, set[str]] = field(default_factory=dict)
    done: dict[str, str] = field(default_factory=dict)  # package -> pass/fail/skip
    output: dict[str, list[str]] = field(default_factory=dict)  # (pkg, test) -> lines
    timed_out: bool = False
    seconds: float = 0.0


@dataclass
class Fixes:
    """What ``heaplens fix`` said on stderr."""

    applied: list[dict[str, str]] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)
    api_not_tried: list[dict[str, str]] = field(default_factory=list)
    applied_total: int | None = None  # from "applied N fix(es) to M file(s)"
    files_total: int | None = None
    other: list[str] = field(default_factory=list)

    @property
    def offered(self) -> int:
        return len(self.applied) + len(self.dropped) + len(self.api_not_tried)


@dataclass
class Result:
    module: str
    version: str = ""
    status: str = "ok"  # ok, failed, skipped (could not be swept)
    reason: str = ""
    packages: int = 0
    prepared: list[str] = field(default_factory=list)
    heaplens_argv: list[str] = field(default_factory=list)
    heaplens_rc: int | None = None
    heaplens_seconds: float = 0.0
    fixes: Fixes = field(default_factory=Fixes)
    changed_files: list[str] = field(default_factory=list)
    build_before: bool = False
    build_ok: bool = False
    build_errors: list[str] = field(default_factory=list)
    vet_before: bool = False
    vet_before_output: list[str] = field(default_factory=list)
    vet_ok: bool = False
    vet_new: list[str] = field(default_factory=list)
    tests_passed_before: int = 0
    tests_passed_after: int = 0
    test_timed_out: bool = False
    regressions: list[str] = field(default_factory=list)
    regression_output: dict[str, list[str]] = field(default_factory=dict)
    flaky: list[str] = field(default_factory=list)
    packages_incomplete_after: list[str] = field(default_factory=list)
    doc_diffs: dict[str, str] = field(default_factory=dict)
    gofmt_dirty: list[str] = field(default_factory=list)
    tests_edited: list[str] = field(default_factory=list)
    diff_path: str = ""
    failures: list[str] = field(default_factory=list)
    heaplens_stderr: str = ""


def run(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float | None = None,
) -> Step:
    """Run ``argv``; at ``timeout`` kill its whole process group (go test forks)."""
    start = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    rc: int | None
    try:
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    return Step(
        argv,
        rc,
        time.monotonic() - start,
        out.decode(errors="replace"),
        err.decode(errors="replace"),
    )


def go_env(base: dict[str, str], network: bool, mod_mod: bool = False) -> dict[str, str]:
    """The environment for go: offline unless ``network``; never another toolchain."""
    env = dict(base)
    env["GOWORK"] = "off"
    env["GOTOOLCHAIN"] = "local"
    env["GO111MODULE"] = "on"
    env.pop("GOPATH_OVERRIDE", None)
    flags = [f for f in env.get("GOFLAGS", "").split() if not f.startswith("-mod=")]
    if mod_mod:
        flags.append("-mod=mod")
    env["GOFLAGS"] = " ".join(flags)
    if not network:
        env["GOPROXY"] = "off"
    return env


def resolve(spec: str, scratch: Path, env: dict[str, str]) -> tuple[str, str]:
    """``MOD[@VER]`` to (module, concrete version)."""
    mod, _, ver = spec.partition("@")
    if ver and ver != "latest" and re.fullmatch(r"v\d+\.\d+\.\d+\S*", ver):
        return mod, ver
    step = run(["go", "list", "-m", "-json", f"{mod}@{ver or 'latest'}"], scratch, env, 300)
    if not step.ok:
        raise RuntimeError(f"go list -m {mod}@{ver or 'latest'}: {step.stderr.strip()}")
    return mod, str(json.loads(step.stdout)["Version"])


def make_writable(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | stat.S_IWUSR)
    root.chmod(root.stat().st_mode | stat.S_IWUSR)


def git(src: Path, *args: str) -> Step:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="fix-sweep",
        GIT_AUTHOR_EMAIL="fix-sweep@localhost",
        GIT_COMMITTER_NAME="fix-sweep",
        GIT_COMMITTER_EMAIL="fix-sweep@localhost",
    )
    return run(["git", *args], src, env, 300)


def commit_all(src: Path, message: str) -> bool:
    """Commit everything in the tree, ignored files too; False if nothing changed."""
    git(src, "add", "-A", "-f", ".")
    if git(src, "diff", "--cached", "--quiet").ok:
        return False
    step = git(src, "commit", "-q", "--no-verify", "-m", message)
    if not step.ok:
        raise RuntimeError(f"git commit: {step.stderr.strip()}")
    return True


def parse_test_json(text: str) -> TestRun:
    tr = TestRun()
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue
        pkg = ev.get("Package") or ev.get("ImportPath") or ""
        test = ev.get("Test")
        action = ev.get("Action")
        if action == "output" and test:
            tr.output.setdefault(f"{pkg} {test}", []).append(ev.get("Output", ""))
        elif action in ("pass", "fail", "skip"):
            if test:
                bucket = tr.passed if action == "pass" else tr.failed if action == "fail" else None
                if bucket is not None:
                    bucket.setdefault(pkg, set()).add(test)
            elif pkg:
                tr.done[pkg] = action
        elif action == "build-fail" and pkg:
            tr.done[pkg.split(" ")[0]] = "build-fail"
    return tr


def go_test(src: Path, env: dict[str, str], timeout: float, pkgs: list[str]) -> TestRun:
    per_binary = max(60, int(timeout))
    argv = ["go", "test", "-short", "-json", f"-timeout={per_binary}s", *pkgs]
    step = run(argv, src, env, timeout)
    tr = parse_test_json(step.stdout)
    tr.timed_out = step.rc is None
    tr.seconds = step.seconds
    return tr


def go_doc_all(src: Path, env: dict[str, str], pkgs: list[str]) -> dict[str, str]:
    docs: dict[str, str] = {}
    for pkg in pkgs:
        step = run(["go", "doc", "-all", pkg], src, env, 300)
        docs[pkg] = step.stdout if step.ok else f"<go doc failed rc={step.rc}>\n{step.stderr}"
    return docs


def public_packages(src: Path, env: dict[str, str]) -> tuple[list[str], list[str]]:
    """(every package of ./..., those without an ``internal`` path element)."""
    step = run(["go", "list", "-e", "./..."], src, env, 300)
    pkgs = [p for p in step.stdout.split() if p]
    return pkgs, [p for p in pkgs if "internal" not in p.split("/")]


def normalized_lines(text: str) -> set[str]:
    """Diagnostic lines, with line:col stripped so that an edit's line shift is no news."""
    out = set()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.add(re.sub(r"(\.go):\d+(:\d+)?", r"\1", line))
    return out


APPLIED_RE = re.compile(r"^(?P<applied>\d+) fix\(es\) to (?P<files>\d+) file\(s\)\.?$")
FILE_LINE_RE = re.compile(r"^(?P<file>\S+\.go): (?P<rest>.*)$")


def split_dropped(text: str) -> tuple[str, str]:
    """``title: why``, where a title has colons of its own ("Preallocate s: make(...)
    (...; verified)"): split after the title's closing "verified)", else its last ")"."""
    m = re.match(r"^(.*?verified\)): (.*)$", text) or re.match(r"^(.*\)): (.*)$", text)
    if m:
        return m[1], m[2]
    title, _, why = text.partition(": ")
    return title, why


def parse_fix_stderr(text: str) -> Fixes:
    fx = Fixes()
    for raw in re.split(r"[\r\n]+", text):
        line = raw.replace("\x1b[K", "").strip()
        if not line:
            continue
        if line.startswith("heaplens: applied "):
            m = APPLIED_RE.match(line.removeprefix("heaplens: applied "))
            if m:
                fx.applied_total = int(m["applied"])
                fx.files_total = int(m["files"])
                continue
        m = FILE_LINE_RE.match(line)
        if m is None:
            fx.other.append(line)
            continue
        file, rest = m["file"], m["rest"]
        if rest.startswith("dropped: "):
            title, why = split_dropped(rest.removeprefix("dropped: "))
            fx.dropped.append({"file": file, "title": title, "why": why})
        elif rest.startswith("not tried, it changes the exported API: "):
            what = rest.removeprefix("not tried, it changes the exported API: ")
            fx.api_not_tried.append({"file": file, "title": what})
        else:
            fx.applied.append({"file": file, "title": rest})
    return fx


def prepare(src: Path, base: dict[str, str], res: Result) -> None:
    """Bring in, with the network, what building and testing the copy needs."""
    net = go_env(base, network=True)
    step = run(["go", "mod", "download"], src, net, 900)
    res.prepared.append(f"go mod download: rc={step.rc}")
    probe = run(["go", "list", "-deps", "-test", "./..."], src, net, 900)
    if not probe.ok and "go.sum" in probe.stderr:
        probe = run(["go", "list", "-deps", "-test", "./..."], src, go_env(base, True, True), 900)
        res.prepared.append(f"go list -deps -test -mod=mod ./...: rc={probe.rc}")
    if not probe.ok:
        res.prepared.append(f"go list -deps -test ./... failed: {probe.stderr.strip()[:2000]}")
    if commit_all(src, "what the build needs (go.sum, via the network)"):
        changed = git(src, "diff", "--name-only", "HEAD~1", "HEAD").stdout.split()
        res.prepared.append(f"changed: {' '.join(changed)}")


def sweep_one(spec: str, args: argparse.Namespace, workdir: Path) -> Result:
    base = dict(os.environ)
    net = go_env(base, network=True)
    off = go_env(base, network=False)
    res = Result(module=spec)
    try:
        mod, ver = resolve(spec, workdir, net)
    except RuntimeError as e:
        res.status, res.reason = "skipped", str(e)
        return res
    res.module, res.version = mod, ver
    name = f"{mod.replace('/', '_')}@{ver}"
    where = workdir / name
    src = where / "src"
    if where.exists():
        make_writable(where)
        shutil.rmtree(where)
    where.mkdir(parents=True)

    step = run(["go", "mod", "download", "-json", f"{mod}@{ver}"], workdir, net, 900)
    if not step.ok:
        res.status, res.reason = "skipped", f"go mod download: {step.stdout}{step.stderr}"
        return res
    info = json.loads(step.stdout)
    shutil.copytree(info["Dir"], src, symlinks=True)
    make_writable(src)
    git(src, "init", "-q")
    commit_all(src, f"{mod}@{ver} as the module proxy has it")
    prepare(src, base, res)

    # Baseline.
    all_pkgs, pub = public_packages(src, off)
    res.packages = len(all_pkgs)
    build0 = run(["go", "build", "./..."], src, off, 1800)
    res.build_before = build0.ok
    if not build0.ok:
        res.status = "skipped"
        res.reason = f"does not build here before any fix:\n{build0.stderr.strip()[:4000]}"
        return res
    vet0 = run(["go", "vet", "./..."], src, off, 1800)
    res.vet_before = vet0.ok
    res.vet_before_output = vet0.stderr.strip().splitlines()[:20]
    tests0 = go_test(src, off, args.test_timeout, ["./..."])
    res.tests_passed_before = sum(len(t) for t in tests0.passed.values())
    if tests0.timed_out:
        res.test_timed_out = True
    docs0 = go_doc_all(src, off, pub)
    commit_all(src, "what the baseline tests left in the tree")

    # heaplens.
    argv = [*shlex.split(args.heaplens), "fix", "--write", *shlex.split(args.heaplens_args)]
    argv.append("./...")
    res.heaplens_argv = argv
    hl = run(argv, src, off, args.heaplens_timeout)
    res.heaplens_rc, res.heaplens_seconds = hl.rc, hl.seconds
    res.heaplens_stderr = hl.stderr
    res.fixes = parse_fix_stderr(hl.stderr)
    diff = git(src, "diff", "--no-color", "HEAD").stdout
    untracked = git(src, "ls-files", "--others", "--exclude-standard").stdout.split()
    res.changed_files = git(src, "diff", "--name-only", "HEAD").stdout.split() + untracked
    diff_path = workdir / f"{name}.diff"
    diff_path.write_text(diff)
    res.diff_path = str(diff_path)
    if hl.rc is None:
        res.failures.append(f"heaplens fix killed at {args.heaplens_timeout:.0f} s")
    elif hl.rc != 0:
        res.failures.append(f"heaplens fix exited {hl.rc}: {hl.stderr.strip()[-2000:]}")
    if res.fixes.applied_total is not None and res.fixes.applied_total != len(res.fixes.applied):
        res.failures.append(
            f"heaplens says it applied {res.fixes.applied_total} fix(es) "
            f"but listed {len(res.fixes.applied)}"
        )
    if untracked:
        res.failures.append(f"heaplens created files: {' '.join(untracked)}")
    listed = {f["file"] for f in res.fixes.applied}
    if set(res.changed_files) != listed:
        res.failures.append(
            f"changed files {sorted(res.changed_files)} are not the files of the listed "
            f"fixes {sorted(listed)}"
        )
    if "--tests" not in argv:
        res.tests_edited = [f for f in res.changed_files if f.endswith("_test.go")]
        if res.tests_edited:
            res.failures.append(f"_test.go files edited without --tests: {res.tests_edited}")
    gofiles = [f for f in res.changed_files if f.endswith(".go") and (src / f).exists()]
    if gofiles:
        fmt = run(["gofmt", "-l", *gofiles], src, off, 300)
        res.gofmt_dirty = fmt.stdout.split()
        if res.gofmt_dirty or not fmt.ok:
            res.failures.append(f"not gofmt-clean: {res.gofmt_dirty} {fmt.stderr.strip()}")

    if not res.changed_files:
        # Nothing changed: the after-checks would repeat the baseline.
        res.build_ok = res.vet_ok = True  # nothing new: see vet_before
        res.tests_passed_after = res.tests_passed_before
        res.status = "failed" if res.failures else "ok"
        return res

    # After.
    build1 = run(["go", "build", "./..."], src, off, 1800)
    res.build_ok = build1.ok
    if not build1.ok:
        res.build_errors = build1.stderr.strip().splitlines()[:50]
        res.failures.append("go build ./... fails after the fixes")
    vet1 = run(["go", "vet", "./..."], src, off, 1800)
    res.vet_new = sorted(normalized_lines(vet1.stderr) - normalized_lines(vet0.stderr))
    res.vet_ok = vet1.ok or (not res.vet_before and not res.vet_new)
    if not vet1.ok and (res.vet_before or res.vet_new):
        res.failures.append("go vet ./... reports new problems after the fixes")
    tests1 = go_test(src, off, args.test_timeout, ["./..."])
    res.test_timed_out = res.test_timed_out or tests1.timed_out
    res.tests_passed_after = sum(len(t) for t in tests1.passed.values())
    lost: dict[str, set[str]] = {}
    for pkg, names in tests0.passed.items():
        if pkg not in tests1.done and pkg in tests0.done:
            res.packages_incomplete_after.append(pkg)
        gone = names - tests1.passed.get(pkg, set())
        if gone:
            lost[pkg] = gone
    for pkg, gone in sorted(lost.items()):
        again = go_test(src, off, args.test_timeout, [pkg])
        for test in sorted(gone):
            key = f"{pkg} {test}"
            if test in again.passed.get(pkg, set()):
                res.flaky.append(key)
            else:
                res.regressions.append(key)
                out = tests1.output.get(key) or again.output.get(key) or []
                res.regression_output[key] = out[-40:]
    if res.regressions:
        res.failures.append(f"{len(res.regressions)} test(s) that passed before now fail")
    if res.packages_incomplete_after:
        res.failures.append(f"packages whose tests did not finish: {res.packages_incomplete_after}")

    docs1 = go_doc_all(src, off, pub)
    for pkg in pub:
        if docs0.get(pkg) != docs1.get(pkg):
            res.doc_diffs[pkg] = "".join(
                difflib.unified_diff(
                    docs0.get(pkg, "").splitlines(keepends=True),
                    docs1.get(pkg, "").splitlines(keepends=True),
                    f"{pkg} (before)",
                    f"{pkg} (after)",
                )
            )
    if res.doc_diffs and "--allow-api-change" not in argv:
        res.failures.append(f"go doc changed for {sorted(res.doc_diffs)}")
    res.status = "failed" if res.failures else "ok"
    return res


def summary_line(r: Result) -> str:
    if r.status == "skipped":
        return f"{r.module}@{r.version or '?'}: SKIPPED: {r.reason.splitlines()[0][:200]}"
    fx = r.fixes
    vet = "ok" if r.vet_ok and r.vet_before else "ok(failed before)" if r.vet_ok else "FAIL"
    return (
        f"{r.module}@{r.version}: {r.status.upper()} packages={r.packages} "
        f"offered={fx.offered} applied={len(fx.applied)} dropped={len(fx.dropped)} "
        f"api-not-tried={len(fx.api_not_tried)} build={'ok' if r.build_ok else 'FAIL'} "
        f"vet={vet} regressions={len(r.regressions)} "
        f"flaky={len(r.flaky)} doc-diffs={len(r.doc_diffs)} "
        f"tests={r.tests_passed_before}->{r.tests_passed_after}"
        f"{' (test timeout)' if r.test_timed_out else ''} "
        f"heaplens={r.heaplens_seconds:.1f}s"
    )


def details(r: Result) -> str:
    lines = [f"== {r.module}@{r.version}"]
    if r.status == "skipped":
        lines.append(r.reason)
        return "\n".join(lines)
    for f in r.failures:
        lines.append(f"  FAIL: {f}")
    for e in r.build_errors:
        lines.append(f"    build: {e}")
    for v in r.vet_new:
        lines.append(f"    vet: {v}")
    for key in r.regressions:
        lines.append(f"    regression: {key}")
        lines.extend(f"      | {o.rstrip()}" for o in r.regression_output.get(key, []))
    for key in r.flaky:
        lines.append(f"    flaky (passed when run again): {key}")
    for pkg, d in sorted(r.doc_diffs.items()):
        lines.append(f"    go doc diff {pkg}:")
        lines.extend(f"      {x}" for x in d.splitlines())
    for dr in r.fixes.dropped:
        lines.append(f"  dropped: {dr['file']}: {dr['title']}: {dr['why']}")
    for a in r.fixes.applied:
        lines.append(f"  applied: {a['file']}: {a['title']}")
    if not r.vet_before:
        lines.append("  go vet failed before any fix:")
        lines.extend(f"    {v}" for v in r.vet_before_output)
    if r.prepared:
        lines.append(f"  prepared: {'; '.join(r.prepared)}")
    lines.append(f"  diff: {r.diff_path}")
    return "\n".join(lines)


def to_json(r: Result) -> dict[str, object]:
    d = asdict(r)
    d["fixes"]["offered"] = r.fixes.offered
    return d


def provenance(heaplens: str) -> dict[str, object]:
    """What was swept with: the go toolchain, the heaplens command and its version, and
    the commit of this repository with whether its tree had edits."""
    env = dict(os.environ)
    go = run(["go", "version"], REPO, env, 60).stdout.strip()
    version = run([*shlex.split(heaplens), "--version"], REPO, env, 60).stdout.strip()
    head = git(REPO, "rev-parse", "HEAD").stdout.strip()
    dirty = git(REPO, "status", "--porcelain", "--untracked-files=no").stdout.split("\n")
    return {
        "go": go,
        "heaplens": heaplens,
        "heaplens_version": version,
        "pythonpath": env.get("PYTHONPATH", ""),
        "repo_head": head,
        "repo_modified": sorted(line[3:] for line in dirty if line.strip()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("modules", nargs="*", metavar="MOD@VER", help="default: a built-in list")
    p.add_argument("--heaplens-args", default="", help='extra fix arguments, e.g. "--tests"')
    default_hl = REPO / ".venv" / "bin" / "heaplens"
    p.add_argument(
        "--heaplens",
        default=str(default_hl) if default_hl.exists() else "heaplens",
        help="the heaplens command (shell words; default: the repo's .venv)",
    )
    p.add_argument("--json", type=Path, help="write the summary here")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/fixsweep"))
    p.add_argument("--test-timeout", type=float, default=600, help="per go test run, seconds")
    p.add_argument("--heaplens-timeout", type=float, default=3600, help="seconds")
    args = p.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    about = provenance(args.heaplens)
    results: list[Result] = []
    for spec in args.modules or DEFAULT_MODULES:
        print(f"... {spec}", file=sys.stderr, flush=True)
        try:
            r = sweep_one(spec, args, args.workdir)
        except Exception as e:  # one module's breakage must not stop the sweep
            r = Result(module=spec, status="skipped", reason=f"harness error: {e!r}")
        results.append(r)
        print(summary_line(r), flush=True)
        if args.json:
            record = {**about, "modules": [to_json(x) for x in results]}
            args.json.write_text(json.dumps(record, indent=2, default=sorted))
    print()
    for r in results:
        print(summary_line(r))
    print()
    for r in results:
        if r.status != "ok" or r.fixes.applied or r.fixes.dropped:
            print(details(r))
    return 1 if any(r.status != "ok" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

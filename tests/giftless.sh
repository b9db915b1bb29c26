#!/usr/bin/env bash
# Giftless, a Git LFS server (Batch API, basic transfers, local storage, JWT authentication),
# for the tests of the `lfs+…` remote and for the benchmark. Everything lives in a venv this
# script owns; the versions are pinned (giftless's wheel declares no dependencies).
#
#   tests/giftless.sh install                   # idempotent and quiet; prints nothing when done
#   tests/giftless.sh venv                      # prints the venv's directory
#   tests/giftless.sh serve DIR PORT SECRET     # runs the server in the foreground (exec)
#   tests/giftless.sh start DIR [PORT]          # in the background; prints `export …` for eval:
#                                               # GIT_DATA_TEST_LFS_{URL,TOKEN}
#   tests/giftless.sh stop DIR
#   tests/giftless.sh token SECRET [SECONDS]    # a JWT allowing everything, for `_jwt:<token>`
#
# The venv is $GIT_DATA_GIFTLESS_VENV, else ${XDG_CACHE_HOME:-~/.cache}/git-data/giftless-0.6.2
# (tests/it/lfsserver.rs looks in the same places). Repositories are served at
# http://127.0.0.1:PORT/ORG/REPO.git/info/lfs; objects land in DIR/storage/ORG/REPO/OID.
set -euo pipefail
venv=${GIT_DATA_GIFTLESS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/git-data/giftless-0.6.2}
pins=(giftless==0.6.2 Flask==3.1.3 Werkzeug==3.1.9 marshmallow==3.26.2 webargs==8.7.1
  Flask-Classful==0.16.0 flask-marshmallow==1.4.0 figcan==0.0.4 PyJWT==2.15.1
  python-dateutil==4.0.0 python-dotenv==1.2.4 PyYAML==6.0.4 cachetools==8.0.2
  typing_extensions==4.16.0 gunicorn==27.0.1 blinker==1.9.0 click==8.5.1 itsdangerous==2.2.0
  Jinja2==3.1.6 MarkupSafe==3.0.4 packaging==26.4)
usage="usage: giftless.sh install | venv | serve DIR PORT SECRET | start DIR [PORT] | stop DIR | token SECRET [SECONDS]"

install() {
  local stamp="$venv/.pins"
  if [[ -x $venv/bin/gunicorn && -f $stamp && $(cat "$stamp") == "${pins[*]}" ]]; then
    return 0
  fi
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "${pins[@]}" >&2
  "$venv/bin/python" -W ignore -c 'import giftless.app, giftless.auth.jwt, gunicorn' >&2
  echo "${pins[*]}" > "$stamp"
}

config() { # DIR SECRET: the server's configuration file
  local dir=$1 secret=$2
  mkdir -p "$dir/storage"
  cat > "$dir/giftless.yaml" <<EOF
LEGACY_ENDPOINTS: false
TRANSFER_ADAPTERS:
  basic:
    factory: giftless.transfer.basic_streaming:factory
    options:
      storage_class: giftless.storage.local_storage:LocalStorage
      storage_options:
        path: $dir/storage
      action_lifetime: 900
AUTH_PROVIDERS:
  - factory: giftless.auth.jwt:factory
    options:
      algorithm: HS256
      private_key: $secret
PRE_AUTHORIZED_ACTION_PROVIDER:
  factory: giftless.auth.jwt:factory
  options:
    algorithm: HS256
    private_key: $secret
    default_lifetime: 900
EOF
}

token() { # SECRET [SECONDS]
  "$venv/bin/python" - "$1" "${2:-86400}" <<'EOF'
import sys, time, warnings, jwt
warnings.simplefilter("ignore")
now = int(time.time())
claims = {"sub": "git-data-test", "iat": now, "exp": now + int(sys.argv[2]), "scopes": ["obj:*"]}
print(jwt.encode(claims, sys.argv[1], algorithm="HS256"))
EOF
}

case ${1:-} in
  install) install ;;
  venv) echo "$venv" ;;
  token) token "${2:?$usage}" "${3:-}" ;;
  serve)
    dir=${2:?$usage} port=${3:?$usage} secret=${4:?$usage}
    config "$dir" "$secret"
    export GIFTLESS_CONFIG_FILE=$dir/giftless.yaml PYTHONWARNINGS=ignore
    exec "$venv/bin/gunicorn" --bind "127.0.0.1:$port" --workers 2 --worker-class gthread \
      --threads 8 --timeout 300 --graceful-timeout 3 --no-control-socket --chdir "$dir" \
      giftless.wsgi_entrypoint:app ;;
  start)
    dir=${2:?$usage} port=${3:-18400}
    install
    mkdir -p "$dir"
    secret=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    nohup "$0" serve "$dir" "$port" "$secret" > "$dir/giftless.log" 2>&1 &
    echo $! > "$dir/giftless.pid"
    for _ in $(seq 1 100); do
      code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
        "http://127.0.0.1:$port/bench/data.git/info/lfs/objects/batch" || true)
      if [[ $code =~ ^[1-5][0-9][0-9]$ && $code != 000 ]]; then
        echo "export GIT_DATA_TEST_LFS_URL=http://127.0.0.1:$port/bench/data.git/info/lfs"
        echo "export GIT_DATA_TEST_LFS_TOKEN=$(token "$secret")"
        exit 0
      fi
      sleep 0.2
    done
    echo "giftless.sh: the server did not start; see $dir/giftless.log" >&2
    tail -20 "$dir/giftless.log" >&2
    exit 1 ;;
  stop)
    dir=${2:?$usage}
    if [[ -f $dir/giftless.pid ]]; then
      pid=$(cat "$dir/giftless.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/giftless.pid"
    fi ;;
  *) echo "$usage" >&2; exit 2 ;;
esac

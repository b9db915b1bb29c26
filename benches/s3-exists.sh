#!/usr/bin/env bash
# Existence checks on S3: one HEAD per object against one LIST per shard prefix, at 10 and at
# 10,000 objects, with a bucket that holds 10,000 objects. A delaying proxy gives the loopback
# SeaweedFS server a real round trip (RTT = 2 x DELAY_MS). Prints a table; the figures for the
# docs come from this script.
#
#   benches/s3-exists.sh            # env: COUNTS="10 10000" DELAY_MS=10 RUNS=3 BASE_PORT=18500
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
counts=${COUNTS:-"10 10000"}
delay=${DELAY_MS:-10}
runs=${RUNS:-3}
base=${BASE_PORT:-18500}
proxy_port=$((base + 90))
scratch=$(mktemp -d /tmp/gd-s3-exists.XXXXXX)
bin=${GIT_DATA_BIN:-$root/target/release/git-data}
[[ -x $bin ]] || { echo "build first: cargo build --release (or set GIT_DATA_BIN)" >&2; exit 1; }
mkdir -p "$scratch/bin" && ln -s "$bin" "$scratch/bin/git-data"
export PATH=$scratch/bin:$PATH GIT_CONFIG_GLOBAL=$scratch/gitconfig GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
git config --global user.name bench && git config --global user.email bench@example.invalid
git config --global init.defaultBranch main
git data install --global > /dev/null

cleanup() {
  [[ -n ${proxy_pid:-} ]] && kill "$proxy_pid" 2>/dev/null
  BASE_PORT=$base "$root/tests/seaweedfs.sh" stop "$scratch/weed"
  rm -rf "$scratch"
}
trap cleanup EXIT
eval "$(BASE_PORT=$base "$root/tests/seaweedfs.sh" start "$scratch/weed")"
export AWS_ACCESS_KEY_ID=$GIT_DATA_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$GIT_DATA_TEST_S3_SECRET_KEY
python3 "$here/delay-proxy.py" "$proxy_port" "${GIT_DATA_TEST_S3_ENDPOINT#http://}" "$delay" &
proxy_pid=$!
sleep 0.5

max=0; for n in $counts; do ((n > max)) && max=$n; done
url=s3://$GIT_DATA_TEST_S3_BUCKET/exists
make_repo() { # DIR N: a repository with N distinct 1 KiB tracked files (the first N of the big one)
  local dir=$1 n=$2
  git init -q "$dir" && (
    cd "$dir"
    git data track "data/**" > /dev/null
    python3 - "$n" <<'PY'
import os, sys
for i in range(int(sys.argv[1])):
    d = f"data/{i // 1000:02d}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i:05d}", "wb") as f:
        f.write(i.to_bytes(4, "big") * 256)
PY
    git data remote add direct "$url" --endpoint "$GIT_DATA_TEST_S3_ENDPOINT" --path-style --region us-east-1 > /dev/null
    git data remote add slow "$url" --endpoint "http://127.0.0.1:$proxy_port" --path-style --region us-east-1 > /dev/null
    git add -A > /dev/null && git commit -qm data
  )
}
echo "filling the bucket with $max objects ..." >&2
make_repo "$scratch/full" "$max"
git -C "$scratch/full" data push direct --no-progress -q

printf '%-8s %-10s %10s %10s\n' objects method "median s" "requests"
for n in $counts; do
  make_repo "$scratch/r$n" "$n"
  for method in head list; do
    if [[ $method == head ]]; then threshold=1000000000; requests=$n
    else threshold=1; requests=$(git -C "$scratch/r$n" data ls-files -l | awk '{print substr($1,1,2)}' | sort -u | wc -l); fi
    times=()
    for _ in $(seq "$runs"); do
      rm -f "$scratch/r$n"/.git/data/remotes/*.known
      t0=$EPOCHREALTIME
      GIT_DATA_LIST_THRESHOLD=$threshold git -C "$scratch/r$n" data push slow --no-progress -q
      t1=$EPOCHREALTIME
      times+=("$(echo "$t1 - $t0" | bc)")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%-8s %-10s %10.3f %10s\n' "$n" "$method" "$median" "$requests"
  done
done
echo "(round trip $((2 * delay)) ms through benches/delay-proxy.py; concurrency ${GIT_DATA_CONCURRENCY:-8}; list requests = shard prefixes, 1,000 keys per page)" >&2

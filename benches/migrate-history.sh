#!/usr/bin/env bash
# Measures `git data migrate import` on a synthetic history: COMMITS commits (default 10000)
# over 40 directories of small files; every 50th commit also adds or changes one 256 KiB
# binary file, which the migration moves (--above 128KiB --everything).
# The repository is generated with `git fast-import`, so building it takes seconds.
# When git-lfs is installed, `git lfs migrate import` runs on a copy of the same repository.
# Usage: benches/migrate-history.sh [COMMITS]   (git-data on PATH; KEEP=1 keeps the directory)
set -euo pipefail

commits=${1:-10000}
work=$(mktemp -d "${TMPDIR:-/tmp}/git-data-migrate-bench.XXXXXX")
[[ ${KEEP:-0} == 1 ]] || trap 'rm -rf "$work"' EXIT
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
git config --global user.name bench && git config --global user.email bench@git-data.invalid

git init -q -b main "$work/repo"
cd "$work/repo"
git data install -q

python3 - "$commits" <<'PY' | git fast-import --quiet
import hashlib, sys
commits = int(sys.argv[1])
out = sys.stdout.buffer
def data(b):
    out.write(b"data %d\n" % len(b)); out.write(b); out.write(b"\n")
for i in range(1, commits + 1):
    out.write(b"commit refs/heads/main\n")
    out.write(b"mark :%d\n" % i)
    out.write(b"committer Bench <bench@git-data.invalid> %d +0000\n" % (1600000000 + i))
    data(b"commit %d\n" % i)
    if i > 1:
        out.write(b"from :%d\n" % (i - 1))
    out.write(b"M 100644 inline src/d%02d/f%03d.txt\n" % (i % 40, i % 97))
    data(b"line %d\n" % i)
    if i % 50 == 0:
        seed = hashlib.sha256(b"%d" % i).digest()
        blob = b"".join(hashlib.sha256(seed + b"%d" % k).digest() for k in range(8192))
        out.write(b"M 100644 inline data/model-%02d.bin\n" % (i // 50 % 20))
        data(blob)
    if i % 1000 == 0:
        out.write(b"reset refs/tags/v%d\nfrom :%d\n\n" % (i // 1000, i))
PY
git reset -q --hard main
echo "history: $(git rev-list --count main) commits, $(git count-objects -vH | grep size-pack)"
have_lfs=0
if git lfs version >/dev/null 2>&1; then
    have_lfs=1
    cp -a "$work/repo" "$work/repo-lfs"
fi
start=$(date +%s.%N)
git data migrate import --above 128KiB --everything >"$work/out.txt"; head -3 "$work/out.txt"
end=$(date +%s.%N)
echo "migrate import: $(echo "$end - $start" | bc) s wall"
git status --porcelain | head -3
echo "status clean: $([[ -z $(git status --porcelain) ]] && echo yes || echo no)"
if [[ $have_lfs == 1 ]]; then
    cd "$work/repo-lfs"
    git lfs install --local --force >/dev/null
    start=$(date +%s.%N)
    git lfs migrate import --above 128KiB --everything >/dev/null 2>&1
    end=$(date +%s.%N)
    echo "git lfs migrate import (same history): $(echo "$end - $start" | bc) s wall"
fi

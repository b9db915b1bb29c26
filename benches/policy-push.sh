#!/usr/bin/env bash
# The cost of the large-file policy: a push of COMMITS new commits (each changes a few files
# of a FILES-file tree; one in ten adds a tracked data file) with the pre-push hook against
# the same push with --no-verify, `git data check` of the same commits, and a commit with the
# pre-commit hook (policy.track-above set, nothing large staged) against --no-verify.
# Prints one line per measurement (best of RUNS); the figures in docs/policy.md come from here.
#
#   benches/policy-push.sh          # env: COMMITS=5000 FILES=2000 RUNS=3 GIT_DATA_BIN=...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
commits=${COMMITS:-5000}
files=${FILES:-2000}
runs=${RUNS:-3}
bin=${GIT_DATA_BIN:-$root/target/release/git-data}
[[ -x $bin ]] || { echo "build first: cargo build --release (or set GIT_DATA_BIN)" >&2; exit 1; }
scratch=$(mktemp -d /tmp/gd-policy.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/bin" && ln -s "$bin" "$scratch/bin/git-data"
export PATH=$scratch/bin:$PATH GIT_CONFIG_GLOBAL=$scratch/gitconfig GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
git config --global user.name bench && git config --global user.email bench@example.invalid
git config --global init.defaultBranch main
git data install --global > /dev/null

repo=$scratch/repo
git init -q "$repo" && cd "$repo"
git data install > /dev/null
git data track "*.bin" > /dev/null
git data remote add storage "$scratch/store" > /dev/null
mkdir -p "$scratch/store"
# history through fast-import: pointers for the data files, their objects put in the cache
python3 - "$commits" "$files" "$repo" <<'PY' | git fast-import --quiet
import hashlib, os, sys
commits, files, repo = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
out = sys.stdout.buffer
def blob(path, data):
    out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))
def store(data):
    oid = hashlib.sha256(data).hexdigest()
    d = os.path.join(repo, ".git/data/objects", oid[:2], oid[2:4])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, oid), "wb") as f:
        f.write(data)
    return b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (oid.encode(), len(data))
for i in range(1, commits + 1):
    msg = b"commit %d" % i
    out.write(b"commit refs/heads/main\ncommitter b <b@x> %d +0000\ndata %d\n%s\n" % (1700000000 + i, len(msg), msg))
    if i == 1:
        blob(".gitattributes", b"*.bin filter=data diff=data merge=data -text\n")
        for f in range(files):
            blob("src/d%02d/f%04d.txt" % (f % 50, f), b"file %d\n" % f)
    for k in range(3):
        f = (i * 7 + k * 13) % files
        blob("src/d%02d/f%04d.txt" % (f % 50, f), b"file %d v%d\n" % (f, i))
    if i % 10 == 0:
        blob("data/d%02d/m%05d.bin" % (i % 20, i), store(b"model %d\n" % i * 100))
PY
git reset -q --hard main
best() { # best of $runs wall-clock seconds of "$@" (run from $repo)
  local b=
  for _ in $(seq "$runs"); do
    local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N)
    b=$(python3 -c "a='$b'; t=$e-$s; print(t if a=='' else min(float(a), t))")
  done
  printf '%.3f' "$b"
}
fresh() { rm -rf "$scratch/origin.git"; git init -q --bare "$scratch/origin.git"; }
push_plain() { fresh; git push -q --no-verify "$scratch/origin.git" main; }
push_upload() { fresh; rm -rf "$scratch/store"/* .git/data/remotes; git push -q "$scratch/origin.git" main; }
push_known() { fresh; git push -q "$scratch/origin.git" main; }
check() { git data check main; }
echo "history: $commits commits, $files files, $(git ls-files | wc -l) files at HEAD, $(git data ls-files | wc -l) tracked at HEAD"
echo "git push --no-verify (no hook):                  $(best push_plain) s"
echo "git push, hook uploads the data:                 $(best push_upload) s"
echo "git push, hook with the data already uploaded:   $(best push_known) s"
echo "git data check main (all $commits commits):        $(best check) s"
git config --local core.hooksPath .git/hooks
printf 'policy:\n  track-above: 1MiB\n' >> .gitdata.yaml
git add .gitdata.yaml && git commit -q -m policy
n=0
commit_hooked() { n=$((n + 1)); echo "$n" > src/d00/f0000.txt; git commit -q -am "c$n"; }
commit_plain() { n=$((n + 1)); echo "$n" > src/d00/f0000.txt; git commit -q --no-verify -am "c$n"; }
echo "git commit --no-verify:                          $(best commit_plain) s"
echo "git commit, pre-commit hook with track-above:    $(best commit_hooked) s"

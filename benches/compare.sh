#!/usr/bin/env bash
# benches/compare.sh — git-data against git-lfs and DVC, on the same generated data, in one run.
#
#   benches/setup.sh                # once: git-lfs, dvc, dvc-s3
#   benches/compare.sh              # the full run; writes docs/benchmarks.md and prints it
#   benches/compare.sh --smoke      # tiny sizes, 1 rep (CI); writes $SCRATCH/out/benchmarks.md
#   benches/compare.sh report       # rebuild the report from the last run's records
#   benches/compare.sh clean        # remove $SCRATCH
#
# Options: --smoke, --out FILE (where the report goes), --no-build (do not run cargo build).
# Parameters (environment; defaults in parentheses, --smoke sizes in brackets):
#   WORKLOADS ("W1 W2 S3 CLOUD W3 W5 W6 PIPE")   REPS (3) [1]: runs of each one-shot step, fresh repos each
#   RT_RUNS (5) [2]: timed runs of each repeatable step, after one warm-up
#   BIG_MIB (1024) [16]          W1: one file
#   W2_FILES (5000) [50]         W2: files of W2_MIN_KIB..W2_MAX_KIB (4..256) KiB
#   MODEL_MIB (512) [8]          W3: a model, versions v1.0 and v2.0
#   W5_FILES (100000) [300]      W5: files of W5_MIN_KIB..W5_MAX_KIB (1..8) KiB; W5_REPS (1)
#   PIPE_STAGES (200) [10]       PIPE: `git data repro` vs `dvc repro` (benches/pipelines.sh);
#                                PIPE_ROWS (1000000) [20000], PIPE_LOG_COMMITS (1000) [100]
#   W6_MIB (10240) [64]          W6: one file; W6_REPS (1). It needs 2 x W6_MIB + 2 GiB free
#                                disk: with less, W6 runs at the largest whole GiB that fits
#   S3_REPS (REPS)               S3: W1 and W2 push + clone against a local SeaweedFS
#   CLOUD_KINDS ("gcs azure lfs")  CLOUD: W1 and W2 push + clone against each emulator on
#                                127.0.0.1 (fake-gcs-server, Azurite, a giftless Git LFS server),
#                                git-data only, and git-lfs too against the LFS server; the
#                                report sets them beside the S3 figures; CLOUD_REPS (S3_REPS)
#   TOOLS ("gitdata lfs dvc")    W1/W2/W5 tools; W2 and W5 add plain git ("git")
#   W3_TOOLS ("gitdata gitdata-hl lfs dvc dvc-hl")  W6_TOOLS ("gitdata")  S3_TOOLS ("gitdata dvc")
#   SKIP_MISSING (0): 1 leaves out a compared tool that is not installed, instead of failing
#   SEED (42)  SCRATCH (/tmp/gd-bench)  GIT_DATA_BIN (target/release/git-data)
#   REMOTE_ROOT (/dev/shm/gd-bench-remotes): directory remotes and bare git remotes, on
#     another file system than the repositories, like a real remote: git-lfs hard-links its
#     objects into a file:// remote on the same file system (and would push for free)
#   SETTLE (60) [0]: seconds to wait after deleting a rep of W2/W5/S3-W2 (see "ext4" below)
#   WARM_GIB (12) [0]: GiB of page cache written and freed before the first step (see WARM_GIB)
#   S3_BASE_PORT (18700; the 12 ports after it too)  KEEP_DATA (0: generated data is removed)
#
# Method: each step runs as one process tree under /usr/bin/time (wall = the shell's clock
# around it; peak memory = the largest single process of the tree), after `sync`, with the
# page cache warm (as a user sees it); nothing is fsynced for the tool. One-shot steps (add,
# push, clone) start from a fresh repository and remote each rep; the tools are interleaved
# within a rep so drift hits them alike. Repeatable steps (status, version switch, floors) get
# one warm-up and RT_RUNS timed runs, except W1's `cp`, timed before each clone, and W2's and
# W5's no-change status: the first rep's repositories are kept until every tool has had its
# rep, then each tool's `git status` and own status run in turn, one warm-up round and
# 2 x RT_RUNS + 1 timed rounds, so that a millisecond step of one tool is not compared with
# another's measured minutes apart in another state of the machine. Every clone
# and checkout is checked against the generated data's sha256. Progress goes to stderr, the
# report to stdout.
#
# ext4 without a journal (this project's CI machines) skips inodes deleted in the last minute
# (the last six while their inode-table block is dirty, as allocating a neighbour makes it)
# when it allocates new ones, and pays for each one it skips: in a block group where other
# processes (or the previous rep) just deleted thousands of files, creating a file costs
# ~0.5 ms instead of ~20 us. The scratch directories are marked `chattr +T` so every rep's
# directory is spread to a quiet block group, and tree workloads wait SETTLE seconds after
# deleting a rep. The run records the cost of creating a file under $SCRATCH.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
SELF=$BENCH/compare.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$BENCH/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pipelines.sh
source "$BENCH/pipelines.sh"

if [[ ${1:-} == _call ]]; then   # one adapter function in its own process (a timed step)
  shift; "$@"; exit
fi

# ------------------------------------------------------------------------------ parameters
PARAMS=(WORKLOADS REPS RT_RUNS BIG_MIB W2_FILES W2_MIN_KIB W2_MAX_KIB MODEL_MIB W5_FILES
  W5_MIN_KIB W5_MAX_KIB W5_REPS W6_MIB W6_REPS S3_REPS CLOUD_KINDS CLOUD_REPS TOOLS W3_TOOLS
  W6_TOOLS S3_TOOLS SEED PIPE_STAGES
  SCRATCH REMOTE_ROOT SETTLE GIT_DATA_BIN SKIP_MISSING)
command_line() { # how this run was started, for the report
  local p s=""
  for p in "${PARAMS[@]}"; do [[ -n ${!p+x} ]] && s+="$p=$(printf '%q' "${!p}") "; done
  printf '%sbenches/compare.sh' "$s"
  ((${#ARGS[@]} == 0)) || printf ' %q' "${ARGS[@]}"
}
ARGS=("$@")
CMDLINE=$(command_line)

smoke=0 build=1 action=run out_file=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --smoke) smoke=1 ;;
    --no-build) build=0 ;;
    --out) out_file=$2; shift ;;
    run | report | clean) action=$1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if ((smoke)); then
  : "${REPS:=1}" "${RT_RUNS:=2}" "${BIG_MIB:=16}" "${W2_FILES:=50}" "${MODEL_MIB:=8}"
  : "${W5_FILES:=300}" "${W6_MIB:=64}" "${SETTLE:=0}" "${WARM_GIB:=0}" "${PIPE_STAGES:=10}"
  : "${PIPE_LOG_COMMITS:=100}" "${PIPE_ROWS:=20000}"
fi
WORKLOADS=${WORKLOADS:-W1 W2 S3 CLOUD W3 W5 W6 PIPE}
PIPE_STAGES=${PIPE_STAGES:-200}
REPS=${REPS:-3} RT_RUNS=${RT_RUNS:-5} SEED=${SEED:-42}
BIG_MIB=${BIG_MIB:-1024} MODEL_MIB=${MODEL_MIB:-512} W6_MIB=${W6_MIB:-10240}
W2_FILES=${W2_FILES:-5000} W2_MIN_KIB=${W2_MIN_KIB:-4} W2_MAX_KIB=${W2_MAX_KIB:-256}
W5_FILES=${W5_FILES:-100000} W5_MIN_KIB=${W5_MIN_KIB:-1} W5_MAX_KIB=${W5_MAX_KIB:-8}
W5_REPS=${W5_REPS:-1} W6_REPS=${W6_REPS:-1} S3_REPS=${S3_REPS:-$REPS}
CLOUD_KINDS=${CLOUD_KINDS:-gcs azure lfs} CLOUD_REPS=${CLOUD_REPS:-$S3_REPS}
TOOLS=${TOOLS:-gitdata lfs dvc}
W3_TOOLS=${W3_TOOLS:-gitdata gitdata-hl lfs dvc dvc-hl}
W6_TOOLS=${W6_TOOLS:-gitdata} S3_TOOLS=${S3_TOOLS:-gitdata dvc}
SCRATCH=${SCRATCH:-/tmp/gd-bench}
S3_BASE_PORT=${S3_BASE_PORT:-18700}
REMOTE_ROOT=${REMOTE_ROOT:-/dev/shm/gd-bench-remotes}
SETTLE=${SETTLE:-60}
# Guest memory the host does not back at the moment (never used, or freed and handed back by
# the balloon's free-page reporting) costs the host a fault per page: the first time a run
# fills the page cache, a GiB of new file data took 2.7 s here, then 0.9-1.3 s once the same
# memory had been used and freed. So the run first writes and deletes WARM_GIB of zeros (at
# most the free memory and the free disk, each less 4 GiB), and whichever tool goes first no
# longer pays for it.
WARM_GIB=${WARM_GIB:-12}
KEEP_DATA=${KEEP_DATA:-0}
SRC=$SCRATCH/src RUN=$SCRATCH/run FLOOR=$SCRATCH/floor OUT=$SCRATCH/out LOG=$SCRATCH/out/log.txt
export OUT LOG
[[ -n $out_file ]] || if ((smoke)); then out_file=$OUT/benchmarks.md; else out_file=$ROOT/docs/benchmarks.md; fi

report() {
  python3 "$BENCH/report.py" "$OUT" > "$OUT/benchmarks.md.tmp"
  mv "$OUT/benchmarks.md.tmp" "$OUT/benchmarks.md"
  [[ $out_file -ef $OUT/benchmarks.md ]] || cp "$OUT/benchmarks.md" "$out_file"
  say "report: $out_file"
  cat "$OUT/benchmarks.md"
}
case $action in
  report) report; exit 0 ;;
  clean) rm -rf "$SCRATCH" "$REMOTE_ROOT"; exit 0 ;;
esac

# ------------------------------------------------------------------------------ environment
# Nothing of the user's configuration leaks in, and nothing of ours leaks out.
export GIT_CONFIG_GLOBAL=$SCRATCH/home/gitconfig GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
export DVC_NO_ANALYTICS=1 DVC_GLOBAL_CONFIG_DIR=$SCRATCH/home/dvc-global
export DVC_SYSTEM_CONFIG_DIR=$SCRATCH/home/dvc-system DVC_SITE_CACHE_DIR=$SCRATCH/home/dvc-site
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=$SCRATCH/home/aws-config
export AWS_SHARED_CREDENTIALS_FILE=$SCRATCH/home/aws-credentials   # empty files (botocore rejects /dev/null)
export AWS_DEFAULT_REGION=us-east-1 GIT_DATA_PROGRESS=false LC_ALL=C
# DVC's own entry point: a pyenv shim would add ~100 ms to every call.
DVC=${DVC:-$(pyenv which dvc 2> /dev/null || command -v dvc || echo dvc)}
export DVC

have() { # TOOL: is the compared tool installed?
  case $(base_of "$1") in
    lfs) git lfs version > /dev/null 2>&1 ;;
    dvc) "$DVC" --version > /dev/null 2>&1 ;;
    *) return 0 ;;
  esac
}
# Fail early, before an hour of benchmarking, when a compared tool is missing; with
# SKIP_MISSING=1 (CI, where an anchor may fail to install) drop it from the run and say so.
needs() { # TOOL…
  local t t2 v kept dropped=" "
  for t in "$@"; do
    have "$t" || [[ $dropped == *" $(base_of "$t") "* ]] && continue
    dropped+="$(base_of "$t") "
    ((${SKIP_MISSING:-0})) || die "$(base_of "$t") is missing: run benches/setup.sh (or drop it from the tool lists, or set SKIP_MISSING=1)"
    note "$(base_of "$t") is not installed: left out of this run"
    for v in TOOLS W3_TOOLS W6_TOOLS S3_TOOLS; do
      kept=""
      for t2 in ${!v}; do [[ $(base_of "$t2") == "$(base_of "$t")" ]] || kept+="$t2 "; done
      printf -v "$v" '%s' "${kept% }"
    done
  done
}

prepare() {
  rm -rf "$RUN" "$FLOOR" "$OUT" "${SCRATCH:?}/home" "${SCRATCH:?}/bin" "$REMOTE_ROOT"
  mkdir -p "$SRC" "$RUN" "$FLOOR" "$OUT" "$SCRATCH/home" "$SCRATCH/bin" "$REMOTE_ROOT"
  chattr +T "$SCRATCH" "$SRC" "$RUN" "$FLOOR" 2> /dev/null || true   # ext4: spread subdirectories
  : > "$OUT/runs.tsv"; : > "$OUT/sizes.tsv"; : > "$OUT/notes.txt"; : > "$OUT/meta.tsv"; : > "$LOG"
  local all="$TOOLS $W3_TOOLS"
  [[ $WORKLOADS == *W6* ]] && all+=" $W6_TOOLS"
  [[ $WORKLOADS == *S3* ]] && all+=" $S3_TOOLS"
  # shellcheck disable=SC2086
  needs $all

  # A copy of the binary: a `cargo build` elsewhere must not swap it in the middle of a run.
  if [[ -z ${GIT_DATA_BIN:-} ]]; then
    if ((build)); then say "cargo build --release"; (cd "$ROOT" && cargo build --release --locked -q); fi
    GIT_DATA_BIN=$ROOT/target/release/git-data
  fi
  [[ -x $GIT_DATA_BIN ]] || die "no git-data binary at $GIT_DATA_BIN (cargo build --release, or set GIT_DATA_BIN)"
  cp "$GIT_DATA_BIN" "$SCRATCH/bin/git-data"
  # the floor of git's clean-filter protocol (W2, W5): a filter that does nothing per byte
  rm -f "$SCRATCH/bin/null-filter"
  cc -O2 -o "$SCRATCH/bin/null-filter" "$BENCH/null-filter.c" 2>> "$LOG" ||
    note "no C compiler (cc): the null-filter floor of W2 and W5 is left out"
  export PATH=$SCRATCH/bin:$PATH

  : > "$AWS_CONFIG_FILE"; : > "$AWS_SHARED_CREDENTIALS_FILE"
  git config --global user.name bench
  git config --global user.email bench@example.invalid
  git config --global init.defaultBranch main
  git config --global advice.detachedHead false
  git config --global gc.autoDetach false    # an auto-gc runs inside the step that caused it
  git lfs install --skip-repo > /dev/null 2>&1 || true
  git data install --global > /dev/null
  "$DVC" config --global core.check_update false > /dev/null 2>&1 || true
  "$DVC" config --global core.analytics false > /dev/null 2>&1 || true

  REFLINK=no
  head -c 4096 /dev/zero > "$FLOOR/reflink.a"
  cp --reflink=always "$FLOOR/reflink.a" "$FLOOR/reflink.b" 2> /dev/null && REFLINK=yes
  rm -f "$FLOOR"/reflink.*
  if [[ $REFLINK == yes && $W3_TOOLS != *gitdata-copy* ]]; then W3_TOOLS+=" gitdata-copy"; fi

  if [[ $(stat -c %d "$REMOTE_ROOT") == "$(stat -c %d "$SCRATCH")" ]]; then
    note "remotes are on the repositories' file system ($REMOTE_ROOT): git-lfs hard-links objects into them"
  fi
  mkdir -p "$FLOOR/create"
  local t0=$EPOCHREALTIME
  python3 -c 'import sys
for i in range(2000): open(f"{sys.argv[1]}/f{i}", "w").close()' "$FLOOR/create"
  CREATE_US=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", (b - a) * 1e6 / 2000}')
  rm -rf "$FLOOR/create"

  local head rev
  rev=$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown)
  [[ -n $(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2> /dev/null) ]] && rev+=" + uncommitted changes"
  meta command "$CMDLINE"
  meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
  meta cpu "$(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)$(grep -qw sha_ni /proc/cpuinfo && echo ', SHA extensions')"
  meta memory "$(free -m | awk '/^Mem:/ {printf "%.1f GiB", $2 / 1024}')"
  meta kernel "$(uname -r)"
  meta filesystem "$(findmnt -n -o FSTYPE -T "$SCRATCH" | head -1) ($(findmnt -n -o SOURCE -T "$SCRATCH" | head -1), reflink: $REFLINK, $(journal_state)); creating an empty file: $CREATE_US us"
  meta remotes "$REMOTE_ROOT ($(stat -f -c %T "$REMOTE_ROOT"))"
  meta "load at start" "$(cut -d' ' -f1-3 /proc/loadavg)"
  meta git-data "$(git data --version | head -1 | sed 's/^git-data //') (commit $rev)"
  meta git "$(git --version | sed 's/^git version //')"
  meta git-lfs "$(git lfs version 2> /dev/null | cut -d' ' -f1 | sed 's#git-lfs/##' || echo -)"
  meta dvc "$("$DVC" --version 2> /dev/null || echo -) (dvc-s3 $(python3 -m pip show dvc-s3 2> /dev/null | awk '/^Version:/ {print $2}'))"
  meta openssl "$(openssl version | cut -d' ' -f2)"
  meta coreutils "$(cp --version | head -1 | awk '{print $NF}')"
  meta reflink "$REFLINK"
  for head in REPS RT_RUNS BIG_MIB W2_FILES W2_MIN_KIB W2_MAX_KIB MODEL_MIB W5_FILES W5_MIN_KIB \
    W5_MAX_KIB W5_REPS W6_MIB W6_REPS S3_REPS CLOUD_REPS CLOUD_KINDS WORKLOADS PIPE_STAGES; do
    meta "param $head" "${!head}"
  done
  meta smoke "$smoke"
  say "git-data $(git data --version | head -1), git-lfs $(git lfs version 2> /dev/null | cut -d' ' -f1 || echo -), dvc $("$DVC" --version 2> /dev/null || echo -)"
}

journal_state() { # "journal" / "no journal" for ext4 (from sysfs)
  local dev; dev=$(basename "$(findmnt -n -o SOURCE -T "$SCRATCH" | head -1)")
  case $(cat "/sys/fs/ext4/$dev/journal_task" 2> /dev/null || echo ?) in
    "<none>") echo "no journal" ;;
    "?") echo "journal: unknown" ;;
    *) echo "journal" ;;
  esac
}

# ------------------------------------------------------------------------------ per-rep set-up
# new_rep WL TOOL [KIND]: a fresh repository with its remote. Sets D (the rep's repositories),
# R (its remote: a bare git repository and a data directory), REPO, GIT_URL and DATA_URL (the
# data directory, or the URL on the server of KIND: s3, gcs, azure or lfs).
new_rep() {
  local wl=$1 tool=$2 kind=${3:-} name=$1-$2-$RUN_ID
  D=$RUN/$wl-$tool-$RUN_ID R=$REMOTE_ROOT/$wl-$tool-$RUN_ID REPO=$RUN/$wl-$tool-$RUN_ID/repo
  GIT_URL=file://$R/repo.git
  rm -rf "$D" "$R" && mkdir -p "$D" "$R/store"
  git init -q --bare "$R/repo.git"
  case $kind in
    s3) DATA_URL=s3://$S3_BUCKET/$name ;;
    gcs) DATA_URL=gs://$GIT_DATA_TEST_GCS_BUCKET/$name ;;
    azure) DATA_URL=az://$GIT_DATA_TEST_AZURE_CONTAINER/$name ;;
    lfs) DATA_URL=lfs+${GIT_DATA_TEST_LFS_URL%%/bench/*}/bench/$name.git/info/lfs ;;
    *) DATA_URL=$R/store ;;
  esac
  export DATA_URL   # the adapters run in processes of their own
  "$SELF" _call "$(base_of "$tool")_setup" "$REPO" "$GIT_URL" "$DATA_URL" "$tool" >> "$LOG" 2>&1 ||
    die "$wl / $tool: set-up failed (see $LOG)"
}
# An untimed step. Like the timed ones it runs in its own process, where `set -e` holds (in a
# subshell on the left of `||` it would not).
# end_rep [settle]: delete the rep; with "settle", wait until ext4 reuses its inodes freely.
end_rep() {
  rm -rf "$D" "$R"
  if [[ ${1:-} == settle ]]; then settle; fi
}
settle() { # wait SETTLE seconds after deleting a tree of many files (see "ext4" above)
  if ((SETTLE > 0)); then sync; say "settling ${SETTLE}s after deleting a tree"; sleep "$SETTLE"; fi
}
untimed() { "$SELF" _call "$@" >> "$LOG" 2>&1 || die "untimed step failed: $* (see $LOG)"; }

status_cmd() { # TOOL REPO -> CMD: the tool's own status command; false if it has none
  case $(base_of "$1") in
    gitdata) CMD=(git -C "$2" data status --no-progress) ;;
    lfs) CMD=(git -C "$2" lfs status) ;;
    dvc) CMD=("$DVC" --cd "$2" status -q) ;;
    *) return 1 ;;
  esac
}

links_note() { # WL TOOL REPO FILE: is FILE a copy, or a link to an object of the tool's cache?
  local ino links shared
  read -r ino links < <(stat -c '%i %h' "$3/$4")
  if ((links > 1)); then
    shared=$(find "$3/.git" "$3/.dvc" -inum "$ino" 2> /dev/null | head -1 || true)
    note "$1 $2: $4 has $links links (the same inode as ${shared#"$3"/})"
  else
    note "$1 $2: $4 is a file of its own (1 link)"
  fi
}

# ------------------------------------------------------------------------------ W1: one big file
# The floors write to FLOOR_DST, removed before each run (untimed).
drop_floor() { rm -rf "$FLOOR_DST"; }

floors_w1() {
  measure W1 "openssl dgst -sha256" floor -w 1 -n "$RT_RUNS" -- openssl dgst -sha256 "$BIG"
  FLOOR_DST=$REMOTE_ROOT/w1.bin
  # shellcheck disable=SC2016
  measure W1 "cp + fsync to the remote" floor -w 1 -n "$RT_RUNS" --prep drop_floor -- \
    sh -c 'cp "$1" "$2" && sync "$2"' sh "$BIG" "$FLOOR_DST"
  drop_floor
}

# push_and_clone WL TOOL KIND: the size after add (not against a server), the push, the
# remote's size and a fresh clone into $D/clone (the caller checks what it holds).
push_and_clone() {
  local wl=$1 tool=$2 kind=$3 b before=0; b=$(base_of "$2")
  [[ -z $kind ]] && size "$wl" "repo after add" "$tool" "$REPO"
  [[ -n ${EMU_DATA:-} ]] && before=$(du -s -B1 "$EMU_DATA" | cut -f1)
  measure "$wl" push "$tool" -- "$SELF" _call "${b}_push" "$REPO"
  if [[ -n ${EMU_DATA:-} ]]; then   # an emulator's own files: what this push added to them
    # shellcheck disable=SC2046
    record_size "$wl" "remote after push" "$tool" $(remote_bytes "$R" "" "$EMU_DATA" "$before")
  else
    # shellcheck disable=SC2046
    record_size "$wl" "remote after push" "$tool" $(remote_bytes "$R" "${kind:+$DATA_URL}")
  fi
  # W1's `cp` floor is taken here, once per tool and rep, so it meets the disk as the clone
  # does: after the add's writes went out. Timed on an idle disk (as a warm-up and repeated
  # runs would be), the same copy is up to ten times faster on this project's machines.
  if [[ $wl == W1 ]]; then
    FLOOR_DST=$FLOOR/w1.bin
    measure W1 "cp" floor --prep drop_floor -- cp "$BIG" "$FLOOR_DST"
    drop_floor
  fi
  measure "$wl" "clone" "$tool" -- "$SELF" _call "${b}_clone" "$GIT_URL" "$D/clone"
}

# The workload name of a run against a server: W1-S3, W2-GCS, W1-AZ, W2-LFS.
wl_of() { # WL KIND
  case $2 in s3) echo "$1-S3" ;; gcs) echo "$1-GCS" ;; azure) echo "$1-AZ" ;; lfs) echo "$1-LFS" ;; *) echo "$1" ;; esac
}

w1() { # TOOL [KIND]
  local tool=$1 kind=${2:-} wl b; b=$(base_of "$1")
  wl=$(wl_of W1 "$kind")
  new_rep "$wl" "$tool" "$kind"
  cp "$BIG" "$REPO/big.bin"
  if [[ -n $kind ]]; then untimed "${b}_add" "$REPO" big.bin
  else measure "$wl" "add+commit" "$tool" -- "$SELF" _call "${b}_add" "$REPO" big.bin; fi
  assert_clean "$REPO" "$wl $tool add"
  push_and_clone "$wl" "$tool" "$kind"
  verify_file "$D/clone/big.bin" "$BIG.sha256" "$wl $tool clone"
  assert_clean "$D/clone" "$wl $tool clone"
  size "$wl" "clone" "$tool" "$D/clone"
  end_rep
}

# ------------------------------------------------------------------------------ W2, W5: many files
floors_tree() { # WL TREE
  local wl=$1 tree=$2
  # A new destination each run: deleting the previous copy first would slow the next one (ext4).
  measure "$wl" "cp -a" floor -w 1 -n "$RT_RUNS" --alt "$(seq -s ' ' 0 "$RT_RUNS")" -- \
    cp -a "$tree/data" "$FLOOR/tree.{}"
  rm -rf "$FLOOR"/tree.*
  # git's side of a clean filter alone: `git add` + commit through benches/null-filter.c, which
  # reads each file and answers with a pointer-sized text. No filter-based tool can be faster.
  if [[ -x $SCRATCH/bin/null-filter ]]; then
    # shellcheck disable=SC2016
    NULL_TREE=$tree measure "$wl" "git add+commit, null filter" floor -w 1 -n "$RT_RUNS" \
      --alt "$(seq -s ' ' 0 "$RT_RUNS")" --prep null_repo -- \
      sh -c 'cd "$1" && git add .gitattributes data && git commit -q -m data' sh "$FLOOR/null.{}"
    rm -rf "$FLOOR"/null.*
  fi
  size "$wl" "data" floor "$tree/data"
  if (($(wc -l < "$tree/manifest") >= 1000)); then settle; fi
}

null_repo() { # N: $FLOOR/null.N, a repository holding $NULL_TREE's files, the null filter on
  local r=$FLOOR/null.$1
  git init -q "$r" && git -C "$r" config filter.null.process null-filter
  git -C "$r" config filter.null.required true
  echo 'data/** filter=null' > "$r/.gitattributes"
  cp -a "$NULL_TREE/data" "$r/data"
}

tree_wl() { # WL TREE TOOL [KIND]
  local wl=$1 tree=$2 tool=$3 kind=${4:-} b files; b=$(base_of "$3")
  files=$(wc -l < "$tree/manifest")
  wl=$(wl_of "$wl" "$kind")
  new_rep "$wl" "$tool" "$kind"
  cp -a "$tree/data" "$REPO/data"
  if [[ -n $kind ]]; then untimed "${b}_add" "$REPO" data
  else measure "$wl" "add+commit" "$tool" -- "$SELF" _call "${b}_add" "$REPO" data; fi
  assert_clean "$REPO" "$wl $tool add"
  push_and_clone "$wl" "$tool" "$kind"
  verify_tree "$D/clone" "$tree/manifest" "$wl $tool clone"
  assert_clean "$D/clone" "$wl $tool clone"
  size "$wl" "clone" "$tool" "$D/clone"
  if ((RUN_ID == 1)) && [[ -z $kind ]]; then
    # kept for status_rounds; the clone goes now
    rm -rf "$D/clone" && STATUS_REPOS+=("$tool=$REPO") STATUS_DIRS+=("$D" "$R")
    if ((files >= 1000)); then settle; fi
  elif ((files >= 1000)); then end_rep settle; else end_rep; fi
}

# The no-change status of each tool's first-rep repository, the tools in turn: one warm-up
# round, then 2 x RT_RUNS + 1 timed rounds. The repositories are deleted afterwards.
status_rounds() { # WL
  local wl=$1 round entry tool repo
  ((${#STATUS_REPOS[@]})) || return 0
  for ((round = 0; round <= 2 * RT_RUNS + 1; round++)); do
    for entry in "${STATUS_REPOS[@]}"; do
      tool=${entry%%=*} repo=${entry#*=}
      if ((round == 0)); then
        git -C "$repo" status --porcelain >> "$LOG" 2>&1
        if status_cmd "$tool" "$repo"; then "${CMD[@]}" >> "$LOG" 2>&1 || true; fi
        continue
      fi
      measure "$wl" "git status (no change)" "$tool" -q -- git -C "$repo" status --porcelain
      if status_cmd "$tool" "$repo"; then
        measure "$wl" "tool status (no change)" "$tool" -q -- "${CMD[@]}"
      fi
    done
  done
  summary "$wl" "git status (no change)"
  summary "$wl" "tool status (no change)"
  rm -rf "${STATUS_DIRS[@]}"
  STATUS_REPOS=() STATUS_DIRS=()
  settle
}
STATUS_REPOS=() STATUS_DIRS=()
summary() { # WL STEP: one line per tool, from the runs recorded so far
  local t
  awk -F'\t' -v wl="$1" -v step="$2" '$1 == wl && $2 == step {print $3}' "$OUT/runs.tsv" | sort -u |
  while read -r t; do
    awk -F'\t' -v wl="$1" -v step="$2" -v t="$t" '$1 == wl && $2 == step && $3 == t {print $5}' \
      "$OUT/runs.tsv" | sort -g | awk -v wl="$1" -v step="$2" -v t="$t" '{w[NR] = $1} END {
        m = NR % 2 ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2
        printf "    %-6s %-30s %-14s %8.3f s (%.3f-%.3f, n=%d, in turn)\n", wl, step, t, m, w[1], w[NR], NR }' >&2
  done
}

# ------------------------------------------------------------------------------ W3: model versions
floors_w3() {
  FLOOR_DST=$FLOOR/model.bin
  measure W3 "cp" floor -w 1 -n "$RT_RUNS" --prep drop_floor -- cp "$MODEL1" "$FLOOR_DST"
  measure W3 "ln" floor -w 1 -n "$RT_RUNS" --prep drop_floor -- ln "$MODEL1" "$FLOOR_DST"
  # A switch also frees the other version's file (its page cache and blocks); cp into an
  # empty place does not. This floor replaces the other version, as a switch must.
  # shellcheck disable=SC2016
  measure W3 "rm + cp" floor -w 1 -n "$RT_RUNS" --prep w3_floor_old -- \
    sh -c 'rm -f "$2" && cp "$1" "$2"' sh "$MODEL1" "$FLOOR_DST"
  drop_floor
}
w3_floor_old() { drop_floor && cp "$MODEL2" "$FLOOR_DST"; }

w3_model() { case $1 in v1.0) echo "$MODEL1" ;; *) echo "$MODEL2" ;; esac; }
w3_switch() { untimed "${CMD[@]//\{\}/$1}"; }
w3_check() { verify_file "$REPO/model.bin" "$(w3_model "$1").sha256" "W3 $TOOL at $1"; }
w3_check_clean() { w3_check "$1"; assert_clean "$REPO" "W3 $TOOL at $1"; }

w3() { # TOOL
  local b; TOOL=$1 b=$(base_of "$1")
  new_rep W3 "$TOOL"
  cp "$MODEL1" "$REPO/model.bin"
  untimed "${b}_add" "$REPO" model.bin && git -C "$REPO" tag v1.0
  rm -f "$REPO/model.bin" && cp "$MODEL2" "$REPO/model.bin"   # rm first: never write through a link into a cache
  untimed "${b}_add" "$REPO" model.bin && git -C "$REPO" tag v2.0
  # git-data's hard-link mode links only objects a remote holds (an edit made in place through
  # a link must not destroy a version's only copy): push them first, as a team would have
  [[ $TOOL != gitdata-hl ]] || untimed git -C "$REPO" data push -q --all
  switch_cmd "$TOOL" "$REPO"
  # Back and forth: v1.0, v2.0, v1.0, … (the repository starts at v2.0).
  measure W3 "switch v1.0 <-> v2.0" "$TOOL" -w 1 -n "$RT_RUNS" --alt "v1.0 v2.0" --check w3_check -- "${CMD[@]}"
  w3_switch v2.0
  # The first `git status` after each switch: git may find the new file racily clean and
  # re-run the clean filter over it.
  measure W3 "git status after switch" "$TOOL" -n "$RT_RUNS" --alt "v1.0 v2.0" --prep w3_switch \
    --check w3_check_clean -- git -C "$REPO" status --porcelain
  local sw=("${CMD[@]}")
  if status_cmd "$TOOL" "$REPO"; then
    local st=("${CMD[@]}"); CMD=("${sw[@]}")
    measure W3 "tool status after switch" "$TOOL" -n "$RT_RUNS" --alt "v1.0 v2.0" --prep w3_switch \
      --check w3_check -- "${st[@]}"
  fi
  CMD=("${sw[@]}")
  w3_switch v2.0
  untimed git -C "$REPO" checkout -q main
  w3_check_clean v2.0
  size W3 "two versions (tree + .git)" "$TOOL" "$REPO"
  links_note W3 "$TOOL" "$REPO" model.bin
  end_rep
}

# ------------------------------------------------------------------------------ W6: a huge file
w6_away() { untimed "${CMD[@]//\{\}/HEAD~1}"; rm -f "$REPO/huge.bin"; }
w6_check() { verify_file "$REPO/huge.bin" "$D/huge.sha256" "W6 $TOOL checkout"; }

# W6 needs the file twice (work tree + cache) and a margin. With less disk than that, it runs
# at the largest whole GiB that fits (peak memory is what it shows, and that must not depend
# on the size), and says so.
w6_fit() {
  local free size
  free=$(df -m --output=avail "$SCRATCH" | tail -1 | tr -d ' ')
  ((free >= W6_MIB * 2 + 2048)) && return 0
  size=$(((free - 2048) / 2 / 1024 * 1024))
  if ((size < 1024)); then
    note "W6 skipped: $free MiB free under $SCRATCH, $((W6_MIB * 2 + 2048)) MiB needed"
    return 1
  fi
  note "W6 ran with $size MiB instead of $W6_MIB MiB: $free MiB free under $SCRATCH"
  W6_MIB=$size
  meta "param W6_MIB" "$W6_MIB"
}

w6() { # TOOL
  local b; TOOL=$1 b=$(base_of "$1")
  new_rep W6 "$TOOL"
  say "generating huge.bin ($W6_MIB MiB) in the repository"
  gen_stream $((SEED + 6)) $((W6_MIB << 20)) | tee "$REPO/huge.bin" | sha256sum | cut -d' ' -f1 > "$D/huge.sha256"
  if [[ ! -s $OUT/w6-floors ]]; then   # the floors need the file, before the cache doubles it
    FLOOR_DST=$FLOOR/huge.bin
    measure W6 "openssl dgst -sha256" floor -n "$W6_REPS" -- openssl dgst -sha256 "$REPO/huge.bin"
    measure W6 "cp" floor -n "$W6_REPS" --prep drop_floor -- cp "$REPO/huge.bin" "$FLOOR_DST"
    drop_floor; touch "$OUT/w6-floors"
  fi
  measure W6 "add+commit" "$TOOL" -- "$SELF" _call "${b}_add" "$REPO" huge.bin
  assert_clean "$REPO" "W6 $TOOL add"
  size W6 "repo after add" "$TOOL" "$REPO"
  switch_cmd "$TOOL" "$REPO"
  measure W6 "checkout" "$TOOL" -n "$W6_REPS" --prep w6_away --check w6_check -- "${CMD[@]//\{\}/main}"
  assert_clean "$REPO" "W6 $TOOL checkout"
  end_rep
}

# ------------------------------------------------------------------------------ S3
s3_start() {
  say "starting SeaweedFS on 127.0.0.1:$((S3_BASE_PORT + 6))"
  local vars
  vars=$(BASE_PORT=$S3_BASE_PORT "$ROOT/tests/seaweedfs.sh" start "$SCRATCH/weed") || die "SeaweedFS did not start"
  eval "$vars"
  export S3_ENDPOINT=$GIT_DATA_TEST_S3_ENDPOINT S3_BUCKET=$GIT_DATA_TEST_S3_BUCKET
  export AWS_ACCESS_KEY_ID=$GIT_DATA_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$GIT_DATA_TEST_S3_SECRET_KEY
}
s3_stop() { # stop the server and wait for it, then drop its data (a rep's objects are not needed again)
  [[ -f $SCRATCH/weed/weed.pid ]] || return 0
  BASE_PORT=$S3_BASE_PORT "$ROOT/tests/seaweedfs.sh" stop "$SCRATCH/weed"   # waits, then kills
  rm -rf "$SCRATCH/weed"
}

# ------------------------------------------------------------------------------ CLOUD
# An emulator of KIND started by its test script (tests/fakegcs.sh, tests/azurite.sh,
# tests/giftless.sh, which install it when missing) with its files under $SCRATCH/emu; its
# variables (GIT_DATA_TEST_<KIND>_…) exported for the adapters. EMU_DATA: where it stores.
emu_script() { case $1 in gcs) echo fakegcs ;; azure) echo azurite ;; lfs) echo giftless ;; esac; }
emu_start() { # KIND
  local vars script; script=$ROOT/tests/$(emu_script "$1").sh
  rm -rf "$SCRATCH/emu" && mkdir -p "$SCRATCH/emu"
  vars=$("$script" start "$SCRATCH/emu") || { note "CLOUD: the $1 emulator did not start: left out"; return 1; }
  eval "$vars"
  EMU_KIND=$1 EMU_DATA=$SCRATCH/emu/data
  [[ $1 == lfs ]] && EMU_DATA=$SCRATCH/emu/storage
  if [[ $1 == lfs ]]; then   # the token, through a git credential helper, for git-data and git-lfs alike
    git config --global credential.helper \
      "!f() { echo username=_jwt; echo password=$GIT_DATA_TEST_LFS_TOKEN; }; f"
  fi
  say "started the $1 emulator ($script)"
}
emu_stop() {
  [[ -n ${EMU_KIND:-} ]] || return 0
  "$ROOT/tests/$(emu_script "$EMU_KIND").sh" stop "$SCRATCH/emu" || true
  git config --global --unset-all credential.helper || true
  rm -rf "$SCRATCH/emu"
  EMU_KIND="" EMU_DATA=""
}

# ------------------------------------------------------------------------------ driver
# Generated data is removed after the last workload that uses it (unless KEEP_DATA=1), so W6
# finds as much free disk as possible.
release_data() { # WL: the workload just finished
  ((KEEP_DATA)) && return 0
  local later=${WORKLOADS#*"$1"}
  [[ $later == *W1* || $later == *S3* || $later == *CLOUD* ]] || rm -f "$BIG" "$BIG.sha256"
  [[ $later == *W2* || $later == *S3* || $later == *CLOUD* ]] || rm -rf "$W2_TREE"
  [[ $later == *W3* ]] || rm -f "$MODEL1" "$MODEL1.sha256" "$MODEL2" "$MODEL2.sha256"
  [[ $later == *W5* ]] || rm -rf "$W5_TREE"
}

warm_memory() {
  local free_gib disk_gib gib=$WARM_GIB
  free_gib=$(awk '/^MemAvailable:/ {print int($2 / 1048576)}' /proc/meminfo)
  ((gib > free_gib - 4)) && gib=$((free_gib - 4))
  # the zeros land in a file under $SCRATCH for a moment: never fill the disk with them
  disk_gib=$(($(df -m --output=avail "$SCRATCH" | tail -1 | tr -d ' ') / 1024))
  ((gib > disk_gib - 4)) && gib=$((disk_gib - 4))
  ((gib > 0)) || return 0
  say "warming $gib GiB of memory (written once and freed; see WARM_GIB)"
  dd if=/dev/zero of="$SCRATCH/warm" bs=4M count=$((gib * 256)) status=none
  rm -f "$SCRATCH/warm" && sync
  meta warm "$gib GiB of page cache written and freed before the first step"
}

main() {
  local t0=$SECONDS wl t
  set -E
  trap 'say "error: line $LINENO: $BASH_COMMAND failed (the log: $LOG)"' ERR
  prepare
  trap 'rm -f "$SCRATCH/warm"; s3_stop; emu_stop' EXIT   # an interrupted warm-up leaves no zeros behind
  BIG=$SRC/big-$BIG_MIB-$SEED.bin MODEL1=$SRC/model1-$MODEL_MIB-$SEED.bin MODEL2=$SRC/model2-$MODEL_MIB-$SEED.bin
  W2_TREE=$SRC/tree-$W2_FILES-$W2_MIN_KIB-$W2_MAX_KIB-$SEED W5_TREE=$SRC/tree-$W5_FILES-$W5_MIN_KIB-$W5_MAX_KIB-$SEED
  warm_memory
  for wl in $WORKLOADS; do
    RUN_ID=1
    case $wl in
      W1)
        gen_file "$BIG" "$SEED" "$BIG_MIB"
        say "== W1: one $BIG_MIB MiB file"; floors_w1
        for ((RUN_ID = 1; RUN_ID <= REPS; RUN_ID++)); do for t in $TOOLS; do w1 "$t"; done; done ;;
      W2 | W5)
        local tree files reps
        if [[ $wl == W2 ]]; then
          tree=$W2_TREE files=$W2_FILES reps=$REPS
          gen_tree "$tree" "$W2_FILES" "$W2_MIN_KIB" "$W2_MAX_KIB" "$SEED"
        else
          tree=$W5_TREE files=$W5_FILES reps=$W5_REPS
          gen_tree "$tree" "$W5_FILES" "$W5_MIN_KIB" "$W5_MAX_KIB" $((SEED + 5))
        fi
        say "== $wl: $files files"; floors_tree "$wl" "$tree"
        for ((RUN_ID = 1; RUN_ID <= reps; RUN_ID++)); do for t in $TOOLS git; do tree_wl "$wl" "$tree" "$t"; done; done
        status_rounds "$wl" ;;
      W3)
        gen_file "$MODEL1" $((SEED + 1)) "$MODEL_MIB"; gen_file "$MODEL2" $((SEED + 2)) "$MODEL_MIB"
        say "== W3: a $MODEL_MIB MiB model, v1.0 and v2.0"; floors_w3
        for t in $W3_TOOLS; do w3 "$t"; done ;;
      W6)
        w6_fit || continue
        say "== W6: one $W6_MIB MiB file"
        for t in $W6_TOOLS; do w6 "$t"; done ;;
      S3)
        gen_file "$BIG" "$SEED" "$BIG_MIB"
        gen_tree "$W2_TREE" "$W2_FILES" "$W2_MIN_KIB" "$W2_MAX_KIB" "$SEED"
        say "== S3: W1 and W2 push and clone against SeaweedFS"
        [[ " $TOOLS " == *" lfs "* ]] && note "S3: git-lfs has no S3 backend (it needs an LFS server): n/a"
        for ((RUN_ID = 1; RUN_ID <= S3_REPS; RUN_ID++)); do
          s3_start     # a fresh server each rep: the previous rep's objects would only fill the disk
          for t in $S3_TOOLS; do w1 "$t" s3; tree_wl W2 "$W2_TREE" "$t" s3; done
          s3_stop
        done ;;
      CLOUD)
        gen_file "$BIG" "$SEED" "$BIG_MIB"
        gen_tree "$W2_TREE" "$W2_FILES" "$W2_MIN_KIB" "$W2_MAX_KIB" "$SEED"
        local kind
        for kind in $CLOUD_KINDS; do
          say "== CLOUD: W1 and W2 push and clone against the $kind emulator"
          for ((RUN_ID = 1; RUN_ID <= CLOUD_REPS; RUN_ID++)); do
            emu_start "$kind" || break   # a fresh server each rep, like S3
            local tools=gitdata
            [[ $kind == lfs ]] && have lfs && [[ " $TOOLS " == *" lfs "* ]] && tools+=" lfs"
            for t in $tools; do w1 "$t" "$kind"; tree_wl W2 "$W2_TREE" "$t" "$kind"; done
            emu_stop
          done
        done ;;
      PIPE)
        say "== PIPE: git data repro and dvc repro, $PIPE_STAGES-stage foreach"
        pipe_steps ;;
      *) die "unknown workload $wl (W1 W2 W3 W5 W6 S3 CLOUD PIPE)" ;;
    esac
    release_data "$wl"
  done
  meta "load at end" "$(cut -d' ' -f1-3 /proc/loadavg)"
  meta duration "$(((SECONDS - t0) / 60)) min $(((SECONDS - t0) % 60)) s"
  rm -rf "$RUN" "$FLOOR" "$REMOTE_ROOT"
  ((KEEP_DATA)) || rm -rf "$SRC"
  report
}

main

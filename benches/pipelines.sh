# shellcheck shell=bash
# benches/pipelines.sh — workload PIPE of benches/compare.sh: `git data repro` against
# `dvc repro` on the same pipelines (issue 25). Sourced by compare.sh (and by every timed
# step, like lib.sh); it can also run alone for a quick look:
#
#   benches/pipelines.sh [DIR]      # builds the fixtures in DIR (default /tmp/gd-pipe) and
#                                   # prints median wall times of both tools (no report)
#
# Steps (the same fixture for both tools, each in its own fresh repository):
#   no-op 4 stages        prepare -> featurize -> train -> evaluate (shell commands, a tracked
#                         CSV of PIPE_ROWS (1,000,000) [20,000] rows (11 MB), params.yaml, a
#                         directory output, metrics.json with cache: false),
#                         timed after a first run and one warm-up no-op
#   no-op N stages        a `foreach` of PIPE_STAGES (200) [10] copy stages; the per-stage
#                         cost is (tN - t4) / (N - 4)
#   first run N stages    the same foreach from nothing (its commands are a `cp` each)
#   2 x sleep 1, -j 2     two independent 1 s stages; git-data with -j 2, DVC sequential
#                         (it has no -j)
#   metrics show / log    only when `git data metrics --help` works in the build (another
#                         branch adds it): `metrics show` over 54 commits and `metrics log`
#                         over 1,000 commits, against `dvc metrics show -A`; else a note
#
# Records go to runs.tsv like every workload (wl = PIPE); report.py makes the "Pipelines"
# table from them, with the issue's targets.

# pipe4_fixture DIR: the 4-stage pipeline's files (not a repository yet).
pipe4_fixture() {
  local d=$1
  mkdir -p "$d"
  python3 -c 'import random, sys
r = random.Random(7)
with open(sys.argv[1], "w") as f:
    f.write("x,y\n")
    for i in range(int(sys.argv[2])):
        f.write(f"{r.random():.6f},{r.randint(0, 1)}\n")' "$d/data.csv" "${PIPE_ROWS:-1000000}"
  cat > "$d/params.yaml" << 'EOF'
prepare:
  rows: 900000  # rows kept
featurize:
  parts: 4
train:
  lr: 0.1
  epochs: 3
EOF
  cat > "$d/dvc.yaml" << 'EOF'
stages:
  prepare:
    cmd: head -n ${prepare.rows} data.csv > prepared.csv
    deps: [data.csv]
    params: [prepare.rows]
    outs: [prepared.csv]
  featurize:
    cmd: mkdir -p features && split -n l/${featurize.parts} prepared.csv features/part.
    deps: [prepared.csv]
    params: [featurize.parts]
    outs: [features]
  train:
    cmd: cat features/* | sha256sum > model.bin && echo lr=${train.lr} >> model.bin
    deps: [features]
    params: [train.lr, train.epochs]
    outs: [model.bin]
  evaluate:
    cmd: wc -c < model.bin | sed 's/^/{"size":/; s/$/}/' > metrics.json
    deps: [model.bin, features]
    metrics:
    - metrics.json:
        cache: false
EOF
}

# pipeN_fixture DIR N: a foreach of N stages, each copying its own input file.
pipeN_fixture() {
  local d=$1 n=$2 i
  mkdir -p "$d/in"
  for ((i = 0; i < n; i++)); do printf 'item %d\n' "$i" > "$d/in/$i.txt"; done
  {
    echo "stages:"
    echo "  copy:"
    printf '    foreach: ['
    for ((i = 0; i < n; i++)); do printf '%s%d' "$( ((i)) && echo ', ')" "$i"; done
    echo ']'
    echo "    do:"
    echo '      cmd: mkdir -p out && cp in/${item}.txt out/${item}.txt'
    echo '      deps:'
    echo '      - in/${item}.txt'
    echo '      outs:'
    echo '      - out/${item}.txt'
  } > "$d/dvc.yaml"
}

# pipe_sleep_fixture DIR: two independent stages of one second each.
pipe_sleep_fixture() {
  mkdir -p "$1"
  cat > "$1/dvc.yaml" << 'EOF'
stages:
  a:
    cmd: sleep 1 && echo a > a.txt
    outs: [a.txt]
  b:
    cmd: sleep 1 && echo b > b.txt
    outs: [b.txt]
EOF
}

# pipe_repo TOOL DIR FIXTURE [ARGS]: a fresh repository at DIR holding the fixture, set up
# for TOOL (gitdata: `git data install`; dvc: `dvc init`), everything committed.
pipe_repo() {
  local tool=$1 dir=$2 fixture=$3; shift 3
  rm -rf "$dir" && git init -q "$dir"
  "$fixture" "$dir" "$@"
  (
    cd "$dir" || exit 1
    case $tool in
      gitdata) git data install > /dev/null && git data track data.csv > /dev/null 2>&1 || true ;;
      dvc) "$DVC" init -q && "$DVC" config core.analytics false ;;
    esac
    git add -A && git commit -q -m fixture
  )
}

# pipe_cmd TOOL DIR [ARGS]: sets CMD, the tool's repro in DIR.
pipe_cmd() {
  local tool=$1 dir=$2; shift 2
  case $tool in
    gitdata) CMD=(sh -c 'cd "$1" && shift && exec git data repro -q "$@"' sh "$dir" "$@") ;;
    dvc) CMD=(sh -c 'cd "$1" && exec "$DVC" repro -q' sh "$dir") ;;
  esac
}

# pipe_floor DIR N: the N foreach commands alone, one `sh -c` each (the floor of a first run).
pipe_floor() {
  # shellcheck disable=SC2016
  CMD=(sh -c 'cd "$1" && rm -rf out && i=0 && while [ "$i" -lt "$2" ]; do
    sh -c "mkdir -p out && cp in/$i.txt out/$i.txt" || exit 1; i=$((i + 1)); done' sh "$1" "$2")
}

# pipe_metrics_repo TOOL DIR COMMITS TAGGED: a repository whose metrics.json (a `cache: false`
# metric of dvc.yaml) changes in each of COMMITS commits; TAGGED of them tagged v1, v2, …
pipe_metrics_repo() {
  local tool=$1 dir=$2 commits=$3 tagged=$4 i
  pipe_repo "$tool" "$dir" pipe4_fixture
  (
    cd "$dir" || exit 1
    for ((i = 1; i <= commits; i++)); do
      printf '{"auc": 0.%04d, "loss": %d}\n' "$i" $((commits - i)) > metrics.json
      git add metrics.json && git commit -q -m "metrics $i"
      ((i > commits - tagged)) && git tag "v$((i - commits + tagged))"
    done
  )
}

# pipe_steps: the whole PIPE workload (see the top of this file).
pipe_steps() {
  local n=${PIPE_STAGES:-200} tool d=$RUN/pipe
  PIPE_LOG_COMMITS=${PIPE_LOG_COMMITS:-1000}
  mkdir -p "$d"
  local tools=gitdata
  if have dvc; then tools+=" dvc"; else note "PIPE: dvc is not installed: git-data alone"; fi
  for tool in $tools; do
    pipe_repo "$tool" "$d/$tool-4" pipe4_fixture
    pipe_cmd "$tool" "$d/$tool-4"
    untimed "${CMD[@]}"   # the first run
    measure PIPE "no-op, 4 stages" "$tool" -w 1 -n "$RT_RUNS" -- "${CMD[@]}"
    for ((RUN_ID = 1; RUN_ID <= REPS; RUN_ID++)); do
      pipe_repo "$tool" "$d/$tool-n" pipeN_fixture "$n"
      pipe_cmd "$tool" "$d/$tool-n"
      measure PIPE "first run, $n stages" "$tool" -- "${CMD[@]}"
      if ((RUN_ID == 1)); then
        measure PIPE "no-op, $n stages" "$tool" -w 1 -n "$RT_RUNS" -- "${CMD[@]}"
      fi
      pipe_repo "$tool" "$d/$tool-sleep" pipe_sleep_fixture
      pipe_cmd "$tool" "$d/$tool-sleep" -j 2
      measure PIPE "2 x sleep 1" "$tool" -- "${CMD[@]}"
    done
    RUN_ID=1
  done
  pipe_floor "$d/gitdata-n" "$n"
  measure PIPE "$n commands by sh -c" floor -w 1 -n "$RT_RUNS" -- "${CMD[@]}"
  if ! git data metrics --help > /dev/null 2>&1; then
    note "PIPE: this git-data has no \`metrics\` command: metrics show / log not measured"
    return 0
  fi
  for tool in $tools; do
    pipe_metrics_repo "$tool" "$d/$tool-m54" 54 54
    case $tool in
      gitdata) CMD=(git -C "$d/$tool-m54" data metrics show --all-tags) ;;
      dvc) CMD=("$DVC" --cd "$d/$tool-m54" metrics show -T) ;;
    esac
    measure PIPE "metrics show, 54 commits" "$tool" -w 1 -n "$RT_RUNS" -- "${CMD[@]}"
  done
  pipe_metrics_repo gitdata "$d/gitdata-m1000" "$PIPE_LOG_COMMITS" 0
  measure PIPE "metrics log, $PIPE_LOG_COMMITS commits" gitdata -w 1 -n "$RT_RUNS" -- \
    git -C "$d/gitdata-m1000" data metrics log
  rm -rf "$d"
}

# Alone: quick figures without compare.sh's report.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  # shellcheck source-path=SCRIPTDIR source=lib.sh
  source "$BENCH/lib.sh"
  SCRATCH=${1:-/tmp/gd-pipe} RT_RUNS=${RT_RUNS:-5} REPS=${REPS:-1} RUN_ID=1
  RUN=$SCRATCH/run OUT=$SCRATCH/out LOG=$SCRATCH/out/log.txt SELF=$BENCH/compare.sh
  DVC=${DVC:-$(command -v dvc || echo dvc)}
  export OUT LOG DVC DVC_NO_ANALYTICS=1
  have() { [[ $1 != dvc ]] || "$DVC" --version > /dev/null 2>&1; }
  untimed() { "$@" >> "$LOG" 2>&1 || die "untimed step failed: $*"; }
  rm -rf "$SCRATCH" && mkdir -p "$RUN" "$OUT" && : > "$OUT/runs.tsv" && : > "$OUT/notes.txt"
  pipe_steps
fi

# shellcheck shell=bash
# benches/pipelines.sh — the PIPE workload of benches/compare.sh: `git data repro` against
# `dvc repro` on the same generated dvc.yaml projects (issue 25's targets). Sourced by
# compare.sh (and so by every `compare.sh _call` step); it uses lib.sh's measure/note/meta and
# compare.sh's new_rep/untimed/end_rep. Nothing here calls anything outside benches/.
#
# Steps (each tool gets its own repository with the same files; DVC: `dvc init`, git-data:
# `git data install`, as lib.sh's adapters set them up):
#   chain    no-op repro of a 4-stage chain (prepare -> featurize -> train -> evaluate, `cp`
#            commands, a param, a `cache: false` metrics output), after a first run:
#            1 warm-up (none under --smoke) + RT_RUNS runs
#   foreach  a PIPE_STAGES-stage `foreach` (stage i copies in/i.txt to out/i.txt): the first
#            run (REPS fresh repositories) and the no-op repro after it (1 warm-up + RT_RUNS).
#            Floor: the same PIPE_STAGES commands run alone, each through `sh -c` as both
#            tools run them. Derived in the report: per additional no-op stage =
#            (no-op foreach - no-op chain) / (PIPE_STAGES - 4); first-run overhead per stage =
#            (first run - floor) / PIPE_STAGES
#   jobs     two independent stages of `sleep 1`: `git data repro -f -j 2` against `dvc repro
#            -f` (DVC has no -j; it runs them one after the other); both --no-run-cache
#   metrics  `metrics show` over PIPE_COMMITS commits (each changes metrics.json, each
#            tagged): `dvc metrics show -A` against `git data metrics show --all-tags`; and
#            `git data metrics log` over PIPE_LOG_COMMITS commits, beside `dvc metrics show -A`
#            over them only when the 54-commit figure says it takes under ~60 s.
#            git-data's steps run only when `git data metrics --help` works (else a note)
#   runcache a stage with a `cache: false` metrics output run at lr 0.1 and 0.2, committed and
#            pushed (git-data: `git push` to a bare origin + directory data remote; DVC:
#            `dvc push --run-cache` to a directory remote), then per rep a fresh clone, lr set
#            back to 0.1 and the repro timed (DVC: `dvc pull --run-cache && dvc repro`, how a
#            DVC user gets a colleague's run cache). pipe.tsv records whether the command ran
#            (a marker file the command appends to); metrics.json and model.bin must be the
#            bytes of the lr 0.1 run.
#
# Parameters (defaults; --smoke in brackets): PIPE_STEPS ("chain foreach jobs metrics
# runcache") ["chain foreach"], PIPE_STAGES (200) [20], PIPE_COMMITS (54),
# PIPE_LOG_COMMITS (1000), PIPE_TOOLS ("gitdata dvc").
# Records: runs.tsv (workload PIPE) and pipe.tsv (wl key tool value: what is not a time).

pipe_params() { # SMOKE: the defaults, after compare.sh's own
  if (($1)); then : "${PIPE_STEPS:=chain foreach}" "${PIPE_STAGES:=20}"; fi
  PIPE_STEPS=${PIPE_STEPS:-chain foreach jobs metrics runcache}
  PIPE_STAGES=${PIPE_STAGES:-200} PIPE_COMMITS=${PIPE_COMMITS:-54}
  PIPE_LOG_COMMITS=${PIPE_LOG_COMMITS:-1000} PIPE_TOOLS=${PIPE_TOOLS:-gitdata dvc}
}

# Warm-up runs of a repeatable step: 1, none under --smoke (where DVC's ~1 s starts dominate)
pipe_warm() { if ((${smoke:-0})); then echo 0; else echo 1; fi; }
pipe_record() { printf 'PIPE\t%s\t%s\t%s\n' "$1" "$2" "$3" >> "$OUT/pipe.tsv"; } # KEY TOOL VALUE

# The repro command of TOOL in REPO, with extra arguments -> CMD
pipe_repro_cmd() { # TOOL REPO [ARGS…]
  local tool=$1 repo=$2; shift 2
  case $tool in
    gitdata) CMD=(git -C "$repo" data repro "$@") ;;
    dvc) CMD=("$DVC" --cd "$repo" repro "$@") ;;
  esac
}

# A fresh repository for TOOL (new_rep: git init + the tool's set-up + a directory data remote),
# with the DVC analytics off in it too.
pipe_rep() { # NAME TOOL
  new_rep "PIPE-$1" "$2"
  if [[ $2 == dvc ]]; then untimed pipe_dvc_quiet "$REPO"; fi
}
pipe_dvc_quiet() { cd "$1" && "$DVC" config core.analytics false && git add .dvc/config && git commit -q -m "dvc: no analytics"; }

# ------------------------------------------------------------------------------ fixtures
pipe_chain_files() { # DIR: the 4-stage chain; data.txt is already the metrics JSON, copied along
  cd "$1" || exit
  printf '{"acc": 0.9, "loss": 0.1}\n' > data.txt
  printf 'train:\n  lr: 0.1\n' > params.yaml
  cat > dvc.yaml << 'EOF'
stages:
  prepare:
    cmd: cp data.txt prepared.txt
    deps: [data.txt]
    outs: [prepared.txt]
  featurize:
    cmd: cp prepared.txt features.txt
    deps: [prepared.txt]
    outs: [features.txt]
  train:
    cmd: cp features.txt model.txt
    deps: [features.txt]
    params: [train.lr]
    outs: [model.txt]
  evaluate:
    cmd: cp model.txt metrics.json
    deps: [model.txt]
    metrics:
    - metrics.json:
        cache: false
EOF
  git add data.txt params.yaml dvc.yaml && git commit -q -m "pipeline: 4 stages"
}

pipe_foreach_files() { # DIR N: stage copy@i copies in/i.txt to out/i.txt
  cd "$1" || exit
  local n=$2 i items
  mkdir -p in
  for ((i = 0; i < n; i++)); do echo "input $i" > "in/$i.txt"; done
  items=$(seq -s ', ' 0 $((n - 1)))
  cat > dvc.yaml << EOF
stages:
  copy:
    foreach: [$items]
    do:
      cmd: cp in/\${item}.txt out/\${item}.txt
      deps:
      - in/\${item}.txt
      outs:
      - out/\${item}.txt
EOF
  mkdir -p out
  git add in dvc.yaml && git commit -q -m "pipeline: $n-stage foreach"
}

pipe_jobs_files() { # DIR: two independent one-second stages
  cd "$1" || exit
  echo a > seed-a.txt && echo b > seed-b.txt
  cat > dvc.yaml << 'EOF'
stages:
  a:
    cmd: sleep 1 && cp seed-a.txt a.txt
    deps: [seed-a.txt]
    outs: [a.txt]
  b:
    cmd: sleep 1 && cp seed-b.txt b.txt
    deps: [seed-b.txt]
    outs: [b.txt]
EOF
  git add seed-a.txt seed-b.txt dvc.yaml && git commit -q -m "pipeline: two 1 s stages"
}

# One repository both tools read (DVC and git-data set up in it): COMMITS commits, each writing a
# new metrics.json that dvc.yaml declares (`cache: false`); the first one made by git, the
# others through git fast-import; with TAG=1 each commit is tagged m0000, m0001, …
pipe_metrics_repo() { # DIR COMMITS TAG
  local dir=$1 n=$2 tag=$3
  git init -q -b main "$dir" && cd "$dir" || exit
  git data install > /dev/null
  if "$DVC" --version > /dev/null 2>&1; then "$DVC" init -q && "$DVC" config core.analytics false; fi
  mkdir -p .dvc && touch .dvcignore   # (without DVC: the same commit, for git-data alone)
  printf 'train:\n  lr: 0.1\n' > params.yaml
  cat > dvc.yaml << 'EOF'
stages:
  train:
    cmd: python3 train.py
    params: [train.lr]
    metrics:
    - metrics.json:
        cache: false
EOF
  printf '{"acc": %.4f, "loss": %.4f, "step": %d}\n' 0.5 1.0 0 > metrics.json
  git add .dvc .dvcignore dvc.yaml params.yaml metrics.json && git commit -q -m "pipeline, run 0"
  if ((tag)); then git tag m0000; fi
  python3 - "$n" "$tag" << 'EOF' | git fast-import --quiet
import sys
n, tag = int(sys.argv[1]), sys.argv[2] == "1"
w = sys.stdout.write
for i in range(1, n):
    body = '{"acc": %.4f, "loss": %.4f, "step": %d}\n' % (0.5 + 0.4 * i / n, 1.0 - 0.9 * i / n, i)
    msg = "run %d\n" % i
    w("commit refs/heads/main\nmark :%d\n" % i)
    w("committer bench <bench@example.invalid> %d +0000\n" % (1700000000 + 60 * i))
    w("data %d\n%s" % (len(msg), msg))
    if i == 1:
        w("from refs/heads/main^0\n")
    w("M 100644 inline metrics.json\ndata %d\n%s\n" % (len(body), body))
    if tag:
        w("reset refs/tags/m%04d\nfrom :%d\n\n" % (i, i))
EOF
  git reset -q --hard main
}

# The run-cache project: train.sh writes model.bin and metrics.json from the param, and
# appends to ran.marker (ignored by git) each time it runs.
pipe_runcache_files() { # DIR TOOL
  cd "$1" || exit
  printf 'lr: 0.1\n' > params.yaml
  echo "some training data" > data.txt
  cat > train.sh << 'EOF'
lr=$(sed -n 's/^lr: //p' params.yaml)
cat data.txt > model.bin && echo "weights for lr $lr" >> model.bin
printf '{"lr": %s, "acc": 0.9}\n' "$lr" > metrics.json
echo ran >> ran.marker
EOF
  cat > dvc.yaml << 'EOF'
stages:
  train:
    cmd: sh train.sh
    deps: [train.sh, data.txt]
    params: [lr]
    outs: [model.bin]
    metrics:
    - metrics.json:
        cache: false
EOF
  echo /ran.marker > .gitignore
  git add .gitignore params.yaml data.txt train.sh dvc.yaml && git commit -q -m "pipeline: train"
  local lr
  for lr in 0.1 0.2; do
    printf 'lr: %s\n' "$lr" > params.yaml
    if [[ $2 == dvc ]]; then "$DVC" repro -q; else git data repro; fi
    if [[ $lr == 0.1 ]]; then cp metrics.json ../metrics-0.1.json && cp model.bin ../model-0.1.bin; fi
    git add -A && git commit -q -m "train at lr $lr"
  done
  if [[ $2 == dvc ]]; then "$DVC" push -q --run-cache; fi
  git push -q origin main
}

# ------------------------------------------------------------------------------ checks
PIPE_STAMP=""
pipe_stamp() { PIPE_STAMP=$RUN/pipe.stamp; touch "$PIPE_STAMP"; sleep 0.01; }
pipe_nothing_ran() { # a no-op repro wrote no file of the work tree
  local changed
  changed=$(find "$REPO" \( -name .git -o -name .dvc \) -prune -o -type f -newer "$PIPE_STAMP" -print | head -3)
  [[ -z $changed ]] || die "PIPE: a no-op repro of $TOOL wrote $changed"
}
pipe_check_outs() { # N: every out/i.txt is its input
  local i
  for ((i = 0; i < $1; i++)); do
    cmp -s "$REPO/in/$i.txt" "$REPO/out/$i.txt" || die "PIPE $TOOL: out/$i.txt is not in/$i.txt"
  done
}

# ------------------------------------------------------------------------------ steps
pipe_chain() { # TOOL
  TOOL=$1
  pipe_rep chain "$TOOL"
  untimed pipe_chain_files "$REPO"
  pipe_repro_cmd "$TOOL" "$REPO"
  untimed "${CMD[@]}"
  cmp -s "$REPO/data.txt" "$REPO/metrics.json" || die "PIPE $TOOL: the chain did not write metrics.json"
  measure PIPE "no-op repro, 4 stages" "$TOOL" -w "$(pipe_warm)" -n "$RT_RUNS" --prep pipe_stamp --check pipe_nothing_ran -- "${CMD[@]}"
  end_rep
}

pipe_floor_foreach() { # DIR N: the N commands alone, each through sh -c
  local i
  cd "$1" || exit
  for ((i = 0; i < $2; i++)); do sh -c "cp in/$i.txt floor-out/$i.txt"; done
}

pipe_foreach() { # TOOL
  TOOL=$1
  pipe_rep foreach "$TOOL"
  untimed pipe_foreach_files "$REPO" "$PIPE_STAGES"
  if [[ $TOOL == "${PIPE_TOOLS%% *}" ]]; then   # the floor, once per rep, in the first tool's repository
    mkdir -p "$REPO/floor-out"
    measure PIPE "foreach commands alone" floor -q -- "$SELF" _call pipe_floor_foreach "$REPO" "$PIPE_STAGES"
    rm -rf "$REPO/floor-out"
  fi
  pipe_repro_cmd "$TOOL" "$REPO"
  measure PIPE "first run, foreach" "$TOOL" -- "${CMD[@]}"
  pipe_check_outs "$PIPE_STAGES"
  if ((RUN_ID == 1)); then
    measure PIPE "no-op repro, foreach" "$TOOL" -w "$(pipe_warm)" -n "$RT_RUNS" --prep pipe_stamp --check pipe_nothing_ran -- "${CMD[@]}"
  fi
  end_rep
}

pipe_jobs() { # TOOL
  TOOL=$1
  pipe_rep jobs "$TOOL"
  untimed pipe_jobs_files "$REPO"
  case $TOOL in
    gitdata) pipe_repro_cmd "$TOOL" "$REPO" -f -j 2 --no-run-cache ;;
    dvc) pipe_repro_cmd "$TOOL" "$REPO" -f --no-run-cache ;;
  esac
  measure PIPE "two 1 s stages" "$TOOL" -w "$(pipe_warm)" -n "$RT_RUNS" -- "${CMD[@]}"
  [[ -f $REPO/a.txt && -f $REPO/b.txt ]] || die "PIPE $TOOL: the two stages did not write a.txt and b.txt"
  end_rep
}

pipe_metrics() {
  local d=$RUN/PIPE-metrics gd=0 t54 est
  rm -rf "$d" && mkdir -p "$d"
  if git data metrics --help > /dev/null 2>&1; then gd=1; else
    note "PIPE: \`git data metrics\` is not in this build (git data metrics --help fails): git-data's metrics steps skipped"
  fi
  untimed pipe_metrics_repo "$d/m$PIPE_COMMITS" "$PIPE_COMMITS" 1
  local m=$d/m$PIPE_COMMITS
  if [[ " $PIPE_TOOLS " == *" dvc "* ]]; then
    measure PIPE "metrics show, $PIPE_COMMITS commits" dvc -w "$(pipe_warm)" -n "$RT_RUNS" -- "$DVC" --cd "$m" metrics show -A
  fi
  # the command exists but fails on this history: said in the report, and the run goes on
  if ((gd)) && ! git -C "$m" data metrics show --all-tags >> "$LOG" 2>&1; then
    note "PIPE: \`git data metrics show --all-tags\` failed on the $PIPE_COMMITS-commit history (see the log): git-data's metrics steps skipped"
    gd=0
  fi
  if ((gd)); then
    measure PIPE "metrics show, $PIPE_COMMITS commits" gitdata -w "$(pipe_warm)" -n "$RT_RUNS" -- git -C "$m" data metrics show --all-tags
  fi
  if ! ((gd)) && [[ " $PIPE_TOOLS " != *" dvc "* ]]; then rm -rf "$d"; return 0; fi
  untimed pipe_metrics_repo "$d/m$PIPE_LOG_COMMITS" "$PIPE_LOG_COMMITS" 0
  m=$d/m$PIPE_LOG_COMMITS
  if ((gd)) && ! git -C "$m" data metrics log >> "$LOG" 2>&1; then
    note "PIPE: \`git data metrics log\` failed on the $PIPE_LOG_COMMITS-commit history (see the log): not measured"
    gd=0
  fi
  if ((gd)); then
    measure PIPE "metrics log, $PIPE_LOG_COMMITS commits" gitdata -w "$(pipe_warm)" -n "$RT_RUNS" -- git -C "$m" data metrics log
  fi
  if [[ " $PIPE_TOOLS " == *" dvc "* ]]; then
    t54=$(awk -F'\t' -v s="metrics show, $PIPE_COMMITS commits" '$1 == "PIPE" && $2 == s && $3 == "dvc" {print $5}' "$OUT/runs.tsv" | sort -g | head -1)
    est=$(awk -v t="$t54" -v a="$PIPE_COMMITS" -v b="$PIPE_LOG_COMMITS" 'BEGIN {printf "%.0f", t * b / a}')
    if ((est <= 60)); then
      measure PIPE "metrics show, $PIPE_LOG_COMMITS commits" dvc -- "$DVC" --cd "$m" metrics show -A
    else
      note "PIPE: dvc metrics show -A over $PIPE_LOG_COMMITS commits not run (~$est s by the $PIPE_COMMITS-commit figure, over 60 s): n/a"
    fi
  fi
  rm -rf "$d"
}

pipe_clone() { # (prep) a fresh clone of the run-cache project, lr set back to 0.1
  rm -rf "$D/clone"
  git clone -q "$GIT_URL" "$D/clone"
  [[ ! -e $D/clone/ran.marker ]] || die "PIPE $TOOL: the clone has a marker"
  printf 'lr: 0.1\n' > "$D/clone/params.yaml"
}
pipe_clone_ran() { # (check) did the command run? are metrics.json and model.bin the lr 0.1 run's?
  local ran=no same=no
  [[ -e $D/clone/ran.marker ]] && ran=yes
  cmp -s "$D/clone/metrics.json" "$D/metrics-0.1.json" && cmp -s "$D/clone/model.bin" "$D/model-0.1.bin" && same=yes
  [[ $same == yes ]] || die "PIPE $TOOL: metrics.json or model.bin after the restore is not the lr 0.1 run's"
  pipe_record "runcache ran" "$TOOL" "$ran"
  pipe_record "runcache outputs identical" "$TOOL" "$same"
}

pipe_runcache() { # TOOL
  TOOL=$1
  pipe_rep runcache "$TOOL"
  untimed pipe_runcache_files "$REPO" "$TOOL"
  case $TOOL in
    gitdata) CMD=(git -C "$D/clone" data repro) ;;
    # shellcheck disable=SC2016
    dvc) CMD=(sh -c 'cd "$1" && "$DVC" pull -q --run-cache && exec "$DVC" repro' sh "$D/clone") ;;
  esac
  measure PIPE "run-cache restore in a fresh clone" "$TOOL" -n "$REPS" --prep pipe_clone --check pipe_clone_ran -- "${CMD[@]}"
  end_rep
}

pipe_workload() {
  local t step
  say "== PIPE: repro against DVC ($PIPE_STEPS; $PIPE_STAGES-stage foreach)"
  for step in PIPE_STEPS PIPE_STAGES PIPE_COMMITS PIPE_LOG_COMMITS PIPE_TOOLS; do meta "param $step" "${!step}"; done
  : >> "$OUT/pipe.tsv"
  for step in $PIPE_STEPS; do
    case $step in
      chain) RUN_ID=1; for t in $PIPE_TOOLS; do pipe_chain "$t"; done ;;
      foreach) for ((RUN_ID = 1; RUN_ID <= REPS; RUN_ID++)); do for t in $PIPE_TOOLS; do pipe_foreach "$t"; done; done ;;
      jobs) RUN_ID=1; for t in $PIPE_TOOLS; do pipe_jobs "$t"; done ;;
      metrics) RUN_ID=1; pipe_metrics ;;
      runcache) RUN_ID=1; for t in $PIPE_TOOLS; do pipe_runcache "$t"; done ;;
      *) die "PIPE: unknown step $step (chain foreach jobs metrics runcache)" ;;
    esac
  done
  RUN_ID=1
}

# shellcheck shell=bash
# benches/lib.sh — what benches/compare.sh is made of: generated data, the step timer, size
# records, and one adapter per tool. Sourced by compare.sh, and again by every timed step
# (`compare.sh _call FN ARGS…` runs one adapter function in a fresh process, so that
# /usr/bin/time sees the whole step as one process tree).
#
# Records (tab-separated, appended under $OUT; report.py turns them into the tables):
#   runs.tsv   wl step tool run wall_s user_s sys_s max_rss_kib   one line per timed run
#   sizes.tsv  wl what tool run apparent_bytes allocated_bytes     du of a set of paths
#   meta.tsv   key value                                           machine, versions, parameters
#   notes.txt  free text (links, warnings, skipped workloads)
#   log.txt    everything the tools printed, and /usr/bin/time's view of each step

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
note() { printf '%s\n' "$*" >> "$OUT/notes.txt"; say "note: $*"; }
meta() { printf '%s\t%s\n' "$1" "$(tr '\n\t' '  ' <<< "$2" | sed 's/ *$//')" >> "$OUT/meta.tsv"; }

# ------------------------------------------------------------------------------ data
# Deterministic, incompressible bytes: AES-128-CTR of zeros, keyed by the seed. openssl is
# stopped by SIGPIPE once head has enough, hence the `|| true`.
gen_stream() { # SEED BYTES -> stdout
  { openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$1")" \
      -iv 00000000000000000000000000000000 -in /dev/zero 2> /dev/null || true; } | head -c "$2"
}

# gen_file PATH SEED MIB: writes PATH and PATH.sha256 (the hash the restored copies must have).
gen_file() {
  local path=$1 seed=$2 mib=$3
  [[ -s $path && -s $path.sha256 ]] && return 0
  say "generating $(basename "$path") ($mib MiB)"
  mkdir -p "$(dirname "$path")"
  gen_stream "$seed" $((mib << 20)) | tee "$path.tmp" | sha256sum | cut -d' ' -f1 > "$path.sha256.tmp"
  mv "$path.tmp" "$path" && mv "$path.sha256.tmp" "$path.sha256"
}

# gen_tree DIR COUNT MIN_KIB MAX_KIB SEED: COUNT files of uniform random size in [MIN, MAX] KiB,
# 100 per subdirectory (DIR/data/d000/f00000.bin …), content cut from one openssl stream;
# DIR/manifest holds their sha256 (paths relative to DIR).
gen_tree() {
  local dir=$1 count=$2 lo=$3 hi=$4 seed=$5 total
  [[ -s $dir/manifest ]] && return 0
  say "generating $count files of $lo-$hi KiB"
  rm -rf "$dir" && mkdir -p "$dir.tmp"
  total=$(python3 -c 'import random, sys
n, lo, hi, seed = map(int, sys.argv[1:])
r = random.Random(seed)
print(sum(r.randint(lo * 1024, hi * 1024) for _ in range(n)))' "$count" "$lo" "$hi" "$seed")
  gen_stream "$seed" "$total" | python3 -c 'import os, random, sys
d, n, lo, hi, seed = sys.argv[1], *map(int, sys.argv[2:])
r = random.Random(seed)
src = sys.stdin.buffer
for i in range(n):
    sub = os.path.join(d, "data", f"d{i // 100:03d}")
    if i % 100 == 0:
        os.makedirs(sub)
    size = r.randint(lo * 1024, hi * 1024)
    chunk = src.read(size)
    assert len(chunk) == size, "short read from the generator"
    with open(os.path.join(sub, f"f{i:06d}.bin"), "wb") as f:
        f.write(chunk)' "$dir.tmp" "$count" "$lo" "$hi" "$seed"
  (cd "$dir.tmp" && find data -type f -print0 | sort -z | xargs -0 sha256sum > manifest)
  mv "$dir.tmp" "$dir"
}

# Restored data must be the data: every workload checks what a clone or checkout wrote.
verify_file() { # FILE EXPECTED_SHA256_FILE LABEL
  local got
  [[ -f $1 && ! -L $1 ]] || die "$3: $1 is missing"
  got=$(sha256sum < "$1" | cut -d' ' -f1)
  [[ $got == "$(cat "$2")" ]] || die "$3: $1 has the wrong content (sha256 $got)"
}
verify_tree() { # DIR MANIFEST LABEL: same files, same bytes, nothing else under DIR/data
  local n
  (cd "$1" && sha256sum --quiet --strict -c "$2" > /dev/null 2>&1) || die "$3: files under $1 differ from the source (sha256sum -c)"
  n=$(find "$1/data" -type f | wc -l)
  [[ $n == "$(wc -l < "$2")" ]] || die "$3: $1/data has $n files, expected $(wc -l < "$2")"
}
assert_clean() { # REPO LABEL: `git status` shows nothing
  local s
  s=$(git -C "$1" status --porcelain)
  [[ -z $s ]] || die "$2: git status is not clean in $1: $(head -3 <<< "$s" | tr '\n' ' ')"
}

# ------------------------------------------------------------------------------ timing
# measure WL STEP TOOL [-n RUNS] [-w WARMUPS] [--alt "A B"] [--prep FN] [--check FN] [-q] -- CMD…
#
# Runs CMD (a program, not a shell function: use `"$SELF" _call FN …` for those) WARMUPS + RUNS
# times under /usr/bin/time and records the RUNS timed ones. Before each run: FN_prep (untimed),
# then `sync`, so writeback of earlier steps does not land in this one. After each run: FN_check
# (untimed). With --alt, the literal `{}` in CMD is replaced by A, B, A, … in turn, and the same
# value is passed to the prep and check functions (a version switch back and forth).
# Wall time is the shell's clock around the whole process tree; peak RSS is the largest single
# process of the tree (getrusage's ru_maxrss for children). -q: no summary line.
measure() {
  local wl=$1 step=$2 tool=$3; shift 3
  local runs=1 warm=0 prep="" check="" alts=("") quiet=0
  while [[ $# -gt 0 && $1 != -- ]]; do
    case $1 in
      -n) runs=$2; shift 2 ;;
      -w) warm=$2; shift 2 ;;
      --alt) read -ra alts <<< "$2"; shift 2 ;;
      --prep) prep=$2; shift 2 ;;
      --check) check=$2; shift 2 ;;
      -q) quiet=1; shift ;;
      *) die "measure: unknown option $1" ;;
    esac
  done
  [[ ${1:-} == -- ]] || die "measure: missing -- before the command"
  shift
  local i val t0 t1 rc tf=$OUT/time.txt cmd walls=() rss=0
  for ((i = 0; i < warm + runs; i++)); do
    val=${alts[i % ${#alts[@]}]}
    if ((${#alts[@]} > 1)); then cmd=("${@//\{\}/$val}"); else cmd=("$@"); fi
    if [[ -n $prep ]]; then "$prep" "$val" >> "$LOG" 2>&1; fi
    sync
    printf '== %s | %s | %s | run %d%s: %s\n' "$wl" "$step" "$tool" $((i - warm + 1)) \
      "$( ((i < warm)) && echo ' (warm-up)')" "${cmd[*]}" >> "$LOG"
    rc=0
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%U %S %M' -o "$tf" "${cmd[@]}" >> "$LOG" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    if ((rc != 0)); then
      tail -25 "$LOG" >&2
      die "$wl / $step / $tool failed (exit $rc); the whole log is $LOG"
    fi
    if [[ -n $check ]]; then "$check" "$val"; fi
    ((i < warm)) && continue
    local line
    line=$(tail -1 "$tf" | awk -v t0="$t0" -v t1="$t1" '{printf "%.4f\t%.2f\t%.2f\t%d", t1 - t0, $1, $2, $3}')
    printf '%s\t%s\t%s\t%d\t%s\n' "$wl" "$step" "$tool" "$RUN_ID" "$line" >> "$OUT/runs.tsv"
    walls+=("$(cut -f1 <<< "$line")")
    local r; r=$(cut -f4 <<< "$line"); ((r > rss)) && rss=$r
  done
  ((quiet)) && return 0
  printf '%s\n' "${walls[@]}" | sort -g | awk -v wl="$wl" -v step="$step" -v tool="$tool" -v rss="$rss" '
    {w[NR] = $1} END {
      med = NR % 2 ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2
      spread = NR > 1 ? sprintf(" (%.3f-%.3f, n=%d)", w[1], w[NR], NR) : ""
      printf "    %-6s %-30s %-14s %8.3f s%s  peak %.0f MiB\n", wl, step, tool, med, spread, rss / 1024 }' >&2
}

# size WL WHAT TOOL PATH…: apparent and allocated bytes of PATHs (one du: hard links once).
size() {
  local wl=$1 what=$2 tool=$3; shift 3
  local app alloc
  app=$(du -scb "$@" | tail -1 | cut -f1)
  alloc=$(du -sc -B1 "$@" | tail -1 | cut -f1)
  record_size "$wl" "$what" "$tool" "$app" "$alloc"
}
record_size() { # WL WHAT TOOL APPARENT ALLOCATED
  printf '%s\t%s\t%s\t%d\t%s\t%s\n' "$1" "$2" "$3" "$RUN_ID" "$4" "$5" >> "$OUT/sizes.tsv"
  awk -v wl="$1" -v what="$2" -v tool="$3" -v a="$4" -v b="$5" \
    'BEGIN {printf "    %-6s %-30s %-14s %8.1f MiB (allocated %.1f MiB)\n", wl, what, tool, a / 1048576, b / 1048576}' >&2
}

# Bytes a remote holds: the bare git repository plus the data store (a directory, or the
# objects under an S3 prefix). "apparent" is the sum of file sizes (the bytes written),
# "allocated" what the directories take on disk.
remote_bytes() { # DIR [s3://BUCKET/PREFIX] [EMULATOR_DIR BYTES_BEFORE] -> "apparent allocated"
  local dir=$1 url=${2:-} app alloc s3=0
  app=$(find "$dir" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  alloc=$(du -s -B1 "$dir" | cut -f1)
  [[ $url == s3://* ]] && s3=$(s3_prefix_bytes "$url")
  # an emulator's storage: what the push added to it (allocated bytes, for both columns)
  [[ -n ${3:-} ]] && s3=$(($(du -s -B1 "$3" | cut -f1) - ${4:-0}))
  echo "$((app + s3)) $((alloc + s3))"
}
s3_prefix_bytes() { # s3://BUCKET/PREFIX -> total size of the objects under it
  python3 - "$1" <<'EOF'
import os, sys
import botocore.config, botocore.session
bucket, _, prefix = sys.argv[1][len("s3://"):].partition("/")
s3 = botocore.session.get_session().create_client(
    "s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
    aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    config=botocore.config.Config(s3={"addressing_style": "path"}))
total = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
    total += sum(o["Size"] for o in page.get("Contents", []))
print(total)
EOF
}

# ------------------------------------------------------------------------------ tool adapters
# Every workload drives a tool only through these functions (TOOL is one of gitdata,
# gitdata-hl, gitdata-copy, lfs, dvc, dvc-hl, git; `base_of` maps a variant to its adapter):
#
#   T_setup REPO GIT_URL DATA_URL   git init, tool set-up, remotes, one commit (untimed).
#                                   DATA_URL: a directory, or s3://bucket/prefix (S3_ENDPOINT).
#   T_add REPO PATH…                track PATHs as data, add them (`git add`, `git data add`,
#                                   `dvc add`), commit (the timed "add")
#   T_push REPO                     push main and tags, with the data they need
#   T_clone GIT_URL DEST            fresh clone with the data written into the work tree
#   T_status REPO                   the tool's own "anything changed?" (optional)
#   switch_cmd TOOL REPO            sets CMD: the command that switches REPO to revision {}
#
# Variants set one option in T_setup: gitdata-hl = `git config data.linkMode hardlink`,
# gitdata-copy = data.linkMode copy, dvc-hl = `dvc config cache.type hardlink`.

base_of() { case $1 in gitdata*) echo gitdata ;; dvc*) echo dvc ;; *) echo "$1" ;; esac; }

# A path given to `add` is tracked as itself (a file) or as everything below it (a directory).
patterns() { local p; for p in "$@"; do if [[ -d $p ]]; then echo "$p/**"; else echo "$p"; fi; done; }

# --- git-data: filter process + hooks; the remote is recorded in the committed .gitdata.yaml
gitdata_setup() { # REPO GIT_URL DATA_URL [VARIANT]
  git init -q "$1" && cd "$1" || exit
  git data install > /dev/null                       # hooks (the filter is in the global config)
  git remote add origin "$2"
  case $3 in
    s3://*) git data remote add store "$3" --endpoint "$S3_ENDPOINT" --path-style --region us-east-1 > /dev/null ;;
    gs://*) git data remote add store "$3" --endpoint "$GIT_DATA_TEST_GCS_ENDPOINT" > /dev/null ;;
    az://*) git data remote add store "$3" --endpoint "$GIT_DATA_TEST_AZURE_ENDPOINT" > /dev/null ;;
    *) git data remote add store "$3" > /dev/null ;;   # a directory, or lfs+http://… (credential helper)
  esac
  case ${4:-gitdata} in
    gitdata-hl) git config data.linkMode hardlink ;;
    gitdata-copy) git config data.linkMode copy ;;
  esac
  git add .gitdata.yaml && if [[ -f .lfsconfig ]]; then git add .lfsconfig; fi   # (lfs+https://)
  git commit -q -m "git-data remote"
}
# track_add TOOL REPO PATH…: `git TOOL track` the paths' patterns, `git add`, commit.
track_add() {
  local tool=$1 repo=$2; shift 2; cd "$repo" || exit
  local pats; mapfile -t pats < <(patterns "$@")
  git "$tool" track "${pats[@]}" > /dev/null
  git add .gitattributes "$@"
  git commit -q -m "data: $*"
}
gitdata_add() { # `git data add`: data files hashed and stored on every core, not through git's filter
  local repo=$1; shift; cd "$repo" || exit
  local pats; mapfile -t pats < <(patterns "$@")
  git data track "${pats[@]}" > /dev/null
  git data add -q .gitattributes "$@"
  git commit -q -m "data: $*"
}
gitdata_push() { cd "$1" && git push -q origin main --tags; }   # the pre-push hook uploads
gitdata_clone() { # smudge + post-checkout restore
  if [[ ${DATA_URL:-} == lfs+* ]]; then
    # files say filter=lfs: git-lfs (installed globally here) stays out of it, and `git data
    # install` in the new clone serves the name and writes the data, as the README says
    git -c filter.lfs.process= -c filter.lfs.smudge=cat -c filter.lfs.required=false clone -q "$1" "$2"
    git -C "$2" data install -q > /dev/null
  else
    git clone -q "$1" "$2"
  fi
}
gitdata_status() { git -C "$1" data status --no-progress > /dev/null; }

# --- git-lfs: filter process + pre-push hook; file:// remotes use its standalone transfer
lfs_setup() {
  git init -q "$1" && cd "$1" || exit
  git lfs install --local > /dev/null                 # hooks (+ filter, also set globally)
  git remote add origin "$2"
  # a Git LFS server (CLOUD): in the committed .lfsconfig, as a team would; else file:// beside git
  if [[ $3 == lfs+* ]]; then git config -f .lfsconfig lfs.url "${3#lfs+}" && git add .lfsconfig; fi
  git commit -q --allow-empty -m "init"
}
lfs_add() { track_add lfs "$@"; }
lfs_push() { cd "$1" && git push -q origin main --tags; }
lfs_clone() { git clone -q "$1" "$2"; }
lfs_status() { git -C "$1" lfs status > /dev/null; }

# --- DVC: `dvc add` writes PATH.dvc and .gitignore; push/pull are separate commands
dvc_setup() { # REPO GIT_URL DATA_URL [VARIANT]
  git init -q "$1" && cd "$1" || exit
  "$DVC" init -q
  "$DVC" remote add -q -d store "$3"
  [[ $3 == s3://* ]] && "$DVC" remote modify store endpointurl "$S3_ENDPOINT"
  [[ ${4:-dvc} == dvc-hl ]] && "$DVC" config cache.type hardlink
  git remote add origin "$2"
  git add .dvc .dvcignore && git commit -q -m "dvc init"
}
dvc_add() {
  local repo=$1 p f=(); shift; cd "$repo" || exit
  "$DVC" add "$@"
  for p in "$@"; do f+=("$p.dvc" "$(dirname "$p")/.gitignore"); done
  git add "${f[@]}"
  git commit -q -m "data: $*"
}
dvc_push() { cd "$1" && "$DVC" push && git push -q origin main --tags; }
dvc_clone() { git clone -q "$1" "$2" && cd "$2" && "$DVC" pull; }
dvc_status() { "$DVC" --cd "$1" status -q; }

# --- plain git: the same files committed to git itself (a floor for status, a reference elsewhere)
git_setup() {
  git init -q "$1" && cd "$1" || exit
  git remote add origin "$2"
  git commit -q --allow-empty -m "init"
}
git_add() { local repo=$1; shift; cd "$repo" && git add "$@" && git commit -q -m "data: $*"; }
git_push() { cd "$1" && git push -q origin main --tags; }
git_clone() { git clone -q "$1" "$2"; }

# shellcheck disable=SC2016,SC2034  # $1/$2 belong to sh; CMD is read by compare.sh
switch_cmd() { # TOOL REPO -> CMD (with {} for the revision): no wrapper where none is needed
  case $(base_of "$1") in
    dvc) CMD=(sh -c 'cd "$1" && git checkout -q "$2" && exec "$DVC" checkout' sh "$2" "{}") ;;
    *) CMD=(git -C "$2" checkout -q "{}") ;;
  esac
}

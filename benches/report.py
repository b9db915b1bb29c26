#!/usr/bin/env python3
"""Turns the records of one benches/compare.sh run into docs/benchmarks.md (on stdout).

usage: report.py OUT_DIR   (runs.tsv, sizes.tsv, meta.tsv, notes.txt; see benches/lib.sh)

Times are medians over the timed runs of a step; peak memory is the largest over them;
sizes are medians over reps. Ratios are git-data's time divided by the other's: below 1,
git-data is faster.
"""
import csv
import os
import math
import statistics
import sys
from collections import OrderedDict, defaultdict

OUT = sys.argv[1]
MIB = 1 << 20


def rows(name):
    path = os.path.join(OUT, name)
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [r for r in csv.reader(f, delimiter="\t") if r]


meta = OrderedDict((r[0], r[1] if len(r) > 1 else "") for r in rows("meta.tsv"))
notes = [l.rstrip("\n") for l in open(os.path.join(OUT, "notes.txt"))] if os.path.exists(os.path.join(OUT, "notes.txt")) else []
reflink = meta.get("reflink") == "yes"

# tool id -> (column, mode); a mode other than "" makes its own rows (W3's link modes)
TOOLS = {
    "gitdata": ("git-data", ""), "gitdata-hl": ("git-data", "hardlink"),
    "gitdata-copy": ("git-data", "copy"), "lfs": ("git-lfs", ""), "dvc": ("DVC", ""),
    "dvc-hl": ("DVC", "hardlink"), "git": ("plain git", ""),
}
COLUMNS = ["git-data", "git-lfs", "DVC", "plain git"]
ANCHORS = ["git-lfs", "DVC"]
WORKLOADS = OrderedDict([
    ("W1", "one {BIG_MIB} MiB file"),
    ("W2", "{W2_FILES} files of {W2_MIN_KIB}-{W2_MAX_KIB} KiB"),
    ("W3", "a {MODEL_MIB} MiB model, tags v1.0 and v2.0"),
    ("W5", "{W5_FILES} files of {W5_MIN_KIB}-{W5_MAX_KIB} KiB"),
    ("W6", "one {W6_MIB} MiB file"),
    ("W1-S3", "W1 against S3 (SeaweedFS on 127.0.0.1)"),
    ("W2-S3", "W2 against S3 (SeaweedFS on 127.0.0.1)"),
    ("W1-GCS", "W1 against Google Cloud Storage (fake-gcs-server on 127.0.0.1)"),
    ("W2-GCS", "W2 against Google Cloud Storage (fake-gcs-server on 127.0.0.1)"),
    ("W1-AZ", "W1 against Azure Blob Storage (Azurite on 127.0.0.1)"),
    ("W2-AZ", "W2 against Azure Blob Storage (Azurite on 127.0.0.1)"),
    ("W1-LFS", "W1 against a Git LFS server (giftless on 127.0.0.1)"),
    ("W2-LFS", "W2 against a Git LFS server (giftless on 127.0.0.1)"),
])
# the remote kinds beside S3, by workload suffix (CLOUD)
KINDS = [("S3", "S3 (SeaweedFS)"), ("GCS", "GCS (fake-gcs-server)"), ("AZ", "Azure (Azurite)"),
         ("LFS", "Git LFS (giftless)")]
# (workload, step, mode) -> the physical floor (a "floor" step of that workload, or (tool, step))
FLOORS = {
    ("W1", "add+commit", ""): "openssl dgst -sha256",
    ("W1", "push", ""): "cp + fsync to the remote",
    ("W1", "clone", ""): "cp",
    ("W3", "switch v1.0 <-> v2.0", ""): "ln" if reflink else "cp",
    ("W3", "switch v1.0 <-> v2.0", "copy"): "cp",
    ("W3", "switch v1.0 <-> v2.0", "hardlink"): "ln",
    ("W6", "add+commit", ""): "openssl dgst -sha256",
    ("W6", "checkout", ""): "cp",
}
for w in ("W2", "W5"):
    FLOORS.update({
        (w, "add+commit", ""): "cp -a",
        (w, "push", ""): "cp -a",
        (w, "clone", ""): "cp -a",
        (w, "git status (no change)", ""): ("git", "git status (no change)"),
    })
STEP_LABEL = {
    "tool status (no change)": "own status (git data / git lfs / dvc status)",
    "tool status after switch": "own status after switch",
    "clone": "clone (with data)",
}

# ---------------------------------------------------------------------------- aggregate
walls, rss, cpu = defaultdict(list), defaultdict(int), defaultdict(list)
order = defaultdict(list)  # workload -> (step, mode) in first-seen order
for wl, step, tool, _run, wall, user, sys_, kib in rows("runs.tsv"):
    walls[wl, step, tool].append(float(wall))
    cpu[wl, step, tool].append(float(user) + float(sys_))
    rss[wl, step, tool] = max(rss[wl, step, tool], int(kib))
    if tool != "floor":
        key = (step, TOOLS.get(tool, (tool, ""))[1])
        if key not in order[wl]:
            order[wl].append(key)
sizes, size_order = defaultdict(list), defaultdict(list)
for wl, what, tool, _run, app, alloc in rows("sizes.tsv"):
    sizes[wl, what, tool].append((int(app), int(alloc)))
    if what not in size_order[wl]:
        size_order[wl].append(what)


def tool_id(column, mode):
    for tid, (col, m) in TOOLS.items():
        if col == column and m == mode:
            return tid
    return None


def t(wl, step, tool):
    w = walls.get((wl, step, tool))
    return statistics.median(w) if w else None


def floor_of(wl, step, mode):
    f = FLOORS.get((wl, step, mode))
    if f is None:
        return None, None
    if isinstance(f, tuple):
        return f"{f[1].replace(' (no change)', '')}, plain git", t(wl, f[1], f[0])
    return f, t(wl, f, "floor")


def secs(x):
    if x is None:
        return "–"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "–"


def mib(b):
    return f"{b / MIB:,.1f}" if b < 100 * MIB else f"{b / MIB:,.0f}"


def params(s):
    return s.format(**{k[len("param "):]: v for k, v in meta.items() if k.startswith("param ")})


def na_cell(wl, column):
    no_lfs = wl.endswith(("-S3", "-GCS", "-AZ"))
    return "n/a" if no_lfs and column == "git-lfs" else "–"


def mode_label(mode):
    if mode == "":
        return ""
    return f" [data.linkMode / cache.type = {mode}]"


out = []
p = out.append
p("# Benchmarks: git-data, git-lfs and DVC")
p("")
p("Generated by `benches/compare.sh`; do not edit by hand: run the script again (see")
p("`benches/compare.sh --help`). Every number below comes from the one run described here.")
p("Pipelines (`git data repro` against `dvc repro`, workload PIPE) are measured apart:")
p("[benchmarks-pipelines.md](benchmarks-pipelines.md).")
p("")
if meta.get("smoke") == "1":
    p("**Smoke run**: tiny sizes and one rep. The numbers only show that the harness works; "
      "the targets are not meaningful at these sizes.")
    p("")
p("## Run")
p("")
p(f"- command: `{meta.get('command', '?')}`")
for k in ("date", "duration", "cpu", "memory", "kernel", "filesystem", "warm", "load at start", "load at end"):
    if k in meta:
        p(f"- {k}: {meta[k]}")
p("- tools: " + ", ".join(f"{k} {meta[k]}" for k in ("git-data", "git", "git-lfs", "dvc", "openssl", "coreutils") if k in meta))
reps = {k: meta.get(f"param {k}", "?") for k in ("REPS", "RT_RUNS", "W5_REPS", "W6_REPS", "S3_REPS")}
p(f"- runs: one-shot steps (add, push, clone) {reps['REPS']} times from scratch (W5: {reps['W5_REPS']}, "
  f"W6: {reps['W6_REPS']}, S3: {reps['S3_REPS']}); repeatable steps (status, switch, floors) "
  f"1 warm-up + {reps['RT_RUNS']} runs, except W2's and W5's no-change status: the first rep's "
  f"repositories kept until every tool had its rep, then each tool's `git status` and own status in "
  f"turn, 1 warm-up round + {2 * int(reps['RT_RUNS']) + 1 if reps['RT_RUNS'].isdigit() else '?'} rounds. "
  f"Times are medians.")
p("")
p("How it measures: each step is one process tree under `/usr/bin/time` after `sync`, page cache")
p("warm; wall time from the shell's clock; peak memory is the largest single process of the")
p("tree. Disk is `du` (allocated, hard links counted once) of the whole repository: work tree,")
p("`.git` and the tool's cache. Remote is the bytes the remote holds after the push (bare git")
p("repository + data store). Every clone and checkout is checked against the data's sha256, and")
p("`git status` must be clean after each add, clone and switch. Remotes (bare git repository +")
p(f"data directory) live in {meta.get('remotes', '?')}, another file system than the repositories,")
p("as a real remote would: on the same one, git-lfs's `file://` transfer hard-links objects")
p("instead of copying them. DVC uses its default `cache.type` unless a row says otherwise.")
p("W1's `cp` floor is timed once per tool and rep, just before that tool's clone, so that it")
p("finds the disk as the clone does (after the add's writes went out); on an idle disk the same")
p("copy can be several times faster.")
p("")

# ---------------------------------------------------------------------------- targets
TARGETS = []


def target(name, value, limit, ok, detail):
    TARGETS.append((name, value, limit, ok, detail))


def check_ratio(name, wl, step, tool, fl, limit, also=None):
    a, b = t(wl, step, tool), (t(wl, fl, "floor") if fl else None)
    if a is None or b is None:
        target(name, "–", f"≤ {limit}×", None, "not measured")
        return
    r = a / b
    how = f"{secs(a)} s vs {fl} {secs(b)} s"
    c = t(wl, also, "floor") if also else None
    if c:
        how += f" ({a / c:.2f}× of `{also}` {secs(c)} s)"
    target(name, f"{r:.2f}×", f"≤ {limit}×", r <= limit, how)


check_ratio("W1 add within 1.4× of `openssl dgst -sha256`", "W1", "add+commit", "gitdata", "openssl dgst -sha256", 1.4)
check_ratio("W1 clone+restore within 2.5× of `cp`", "W1", "clone", "gitdata", "cp", 2.5)
r = rss.get(("W1", "clone", "gitdata"))
target("W1 clone+restore peak RSS < 100 MiB", f"{r / 1024:.0f} MiB" if r else "–", "< 100 MiB",
       (r / 1024 < 100) if r else None, "largest process of the clone")
gd = t("W2", "add+commit", "gitdata")
anchors = [(c, t("W2", "add+commit", tool_id(c, ""))) for c in ANCHORS]
anchors = [(c, v) for c, v in anchors if v is not None]
if gd and anchors:
    c, best = min(anchors, key=lambda x: x[1])
    cpa = t("W2", "cp -a", "floor")
    null = t("W2", "git add+commit, null filter", "floor")
    floor = f"; `cp -a` of the tree {secs(cpa)} s" if cpa else ""
    floor += (f"; `git add` through a filter that does nothing (benches/null-filter.c) "
              f"{secs(null)} s") if null else ""
    target("W2 add ≥ 4× faster than the faster anchor", f"{best / gd:.2f}× faster", "≥ 4×", best / gd >= 4,
           f"git-data {secs(gd)} s vs {c} {secs(best)} s{floor}")
else:
    target("W2 add ≥ 4× faster than the faster anchor", "–", "≥ 4×", None, "not measured")
a, b = t("W2", "git status (no change)", "gitdata"), t("W2", "git status (no change)", "git")


def slower_rounds(wl, step, tool, other):
    """Rounds (the tools in turn) in which `tool` took longer than `other`, the number of
    rounds, and the one-sided sign test's p for "tool is slower" (ties dropped)."""
    x, y = walls.get((wl, step, tool), []), walls.get((wl, step, other), [])
    pairs = list(zip(x, y))
    slower, faster = sum(p > q for p, q in pairs), sum(p < q for p, q in pairs)
    n = slower + faster
    p = sum(math.comb(n, k) for k in range(slower, n + 1)) / 2 ** n if n else 1.0
    return slower, len(pairs), p


if a and b:
    slower, rounds, p_slower = slower_rounds("W2", "git status (no change)", "gitdata", "git")
    # "No slower": the median is not above plain git's, or the rounds (the two run one after
    # the other) do not show git-data slower (one-sided sign test, p >= 0.05).
    target("W2 no-change `git status` no slower than plain git", ratio(a, b), "≤ 1.00×",
           a <= b or p_slower >= 0.05,
           f"{secs(a)} s vs plain git {secs(b)} s; slower in {slower} of {rounds} rounds run in turn "
           f"(sign test p = {p_slower:.2f}; met unless below 0.05)")
else:
    target("W2 no-change `git status` no slower than plain git", "–", "≤ 1.00×", None, "not measured")
copy_tool = "gitdata-copy" if reflink else "gitdata"
check_ratio("W3 switch within 1.5× of `cp` when copying", "W3", "switch v1.0 <-> v2.0", copy_tool, "cp", 1.5,
            also="rm + cp")
for tid, label in (("gitdata-hl", "hardlink"), ("gitdata", "reflink")):
    name = f"W3 switch < 0.05 s with {label}"
    if label == "reflink" and not reflink:
        target(name, "–", "< 0.05 s", None, "n/a: the file system has no reflink")
        continue
    v = t("W3", "switch v1.0 <-> v2.0", tid)
    target(name, f"{secs(v)} s" if v is not None else "–", "< 0.05 s", (v < 0.05) if v is not None else None,
           f"median of {len(walls.get(('W3', 'switch v1.0 <-> v2.0', tid), []))} switches")
for tid in ("gitdata", "gitdata-hl"):
    v = t("W3", "git status after switch", tid)
    mode = TOOLS[tid][1] or ("reflink" if reflink else "copy")
    target(f"W3 first `git status` after a switch < 0.05 s ({mode})", f"{secs(v)} s" if v is not None else "–",
           "< 0.05 s", (v < 0.05) if v is not None else None, "median")
model = int(meta.get("param MODEL_MIB", "0")) * MIB
for tid in ("gitdata-hl",) + (("gitdata",) if reflink else ()):
    s = sizes.get(("W3", "two versions (tree + .git)", tid))
    mode = TOOLS[tid][1] or "reflink"
    name = f"W3 disk for two versions = {mib(2 * model)} MiB ({mode})"
    if not s:
        target(name, "–", "≤ 2 × model (+2%)", None, "not measured")
        continue
    v = statistics.median(x[1] for x in s)
    target(name, f"{mib(v)} MiB", f"≤ {mib(2 * model * 1.02)} MiB", v <= 2 * model * 1.02,
           "du of work tree + .git, hard links once")
r = rss.get(("W6", "checkout", "gitdata"))
target("W6 checkout peak RSS < 100 MiB", f"{r / 1024:.0f} MiB" if r else "–", "< 100 MiB",
       (r / 1024 < 100) if r else None, f"{params('{W6_MIB}')} MiB file")

if any(ok is not None for *_, ok, _detail in TARGETS):   # a PIPE-only run has none of these
    p("## Targets")
    p("")
    p("| target | measured | limit | | how |")
    p("|---|---|---|---|---|")
    for name, value, limit, ok, detail in TARGETS:
        verdict = "n/a" if ok is None else ("met" if ok else "**not met**")
        p(f"| {name} | {value} | {limit} | {verdict} | {detail} |")
    p("")

# ---------------------------------------------------------------------------- time + memory
present = [c for c in COLUMNS if any(TOOLS.get(k[2], ("", ""))[0] == c for k in walls)]


def columns_of(wl):
    """The tool columns that have a measurement in workload wl."""
    return [c for c in present if any(tool_id(c, m) and (wl, s, tool_id(c, m)) in walls for s, m in order[wl])]


def measured():
    """(workload, title, tool columns) for each workload with measurements, in report order."""
    return [(wl, title, columns_of(wl)) for wl, title in WORKLOADS.items() if order.get(wl)]


# ---------------------------------------------------------------------------- pipelines (PIPE)
def pipelines():
    """The "Pipelines" table: `git data repro` against `dvc repro` (benches/pipelines.sh)."""
    steps = {k[1] for k in walls if k[0] == "PIPE"}
    if not steps:
        return
    n = int(meta.get("param PIPE_STAGES", "200") or 200)
    big = f"no-op, {n} stages"
    first = f"first run, {n} stages"

    def per_stage(tool):
        a, b = t("PIPE", big, tool), t("PIPE", "no-op, 4 stages", tool)
        return (a - b) / (n - 4) if a is not None and b is not None and n > 4 else None

    def overhead(tool):
        a, f = t("PIPE", first, tool), t("PIPE", f"{n} commands by sh -c", "floor")
        return (a - f) / n if a is not None and f is not None else None

    def ms(x):
        return "–" if x is None else f"{x * 1000:.1f} ms"

    rows_ = [
        ("no-op `repro`, 4 stages", t("PIPE", "no-op, 4 stages", "dvc"),
         t("PIPE", "no-op, 4 stages", "gitdata"), 0.05, secs, "< 0.050 s"),
        (f"each additional no-op stage ({big}: (t{n} − t4) / {n - 4})", per_stage("dvc"),
         per_stage("gitdata"), 0.001, ms, "< 1 ms"),
        (f"first run, {n} stages: time per stage beyond its command", overhead("dvc"),
         overhead("gitdata"), 0.010, ms, "≤ 10 ms"),
        (f"first run, {n} stages (whole)", t("PIPE", first, "dvc"), t("PIPE", first, "gitdata"),
         None, secs, ""),
        ("two independent 1 s stages (git-data `-j 2`; DVC has no -j)",
         t("PIPE", "2 x sleep 1", "dvc"), t("PIPE", "2 x sleep 1", "gitdata"), 1.8, secs, "< 1.8 s"),
        ("`metrics show` over 54 commits (DVC: `metrics show -A`)",
         t("PIPE", "metrics show, 54 commits", "dvc"), t("PIPE", "metrics show, 54 commits", "gitdata"),
         0.2, secs, "< 0.2 s"),
        ("`metrics log` over 1,000 commits (DVC: `metrics show --all-commits`)",
         t("PIPE", "metrics log, 1000 commits", "dvc"), t("PIPE", "metrics log, 1000 commits", "gitdata"),
         1.0, secs, "< 1 s"),
    ]
    p("## Pipelines: `git data repro` and `dvc repro`")
    p("")
    p("The same fixtures in fresh repositories for each tool (benches/pipelines.sh); no-op times")
    p("after a first run and one warm-up no-op. Ratio: git-data's time divided by DVC's.")
    p("")
    p("| step | DVC | git-data | ÷ DVC | issue 25 target | |")
    p("|---|---:|---:|---:|---|---|")
    for name, dvc, gd, limit, fmt, label in rows_:
        if dvc is None and gd is None:
            continue
        verdict = "" if limit is None or gd is None else ("met" if gd < limit or (
            limit in (0.010,) and gd <= limit) else "**not met**")
        p(f"| {name} | {fmt(dvc)} | {fmt(gd)} | {ratio(gd, dvc)} | {label} | {verdict} |")
    p("")


pipelines()

# the investigation of targets not met: benches/analysis.md, kept by hand next to this script
ANALYSIS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
if os.path.exists(ANALYSIS) and any(wl != "PIPE" for wl in order):   # not for a PIPE-only run
    with open(ANALYSIS) as f:
        out.extend(l.rstrip("\n") for l in f)
    p("")

p("## Time")
p("")
p("Seconds (median). Ratio columns: git-data's time divided by the other's (below 1 = git-data faster).")
p("")
for wl, title, cols in measured():
    if wl.endswith(("-S3", "-GCS", "-AZ")) and "git-lfs" not in cols and "git-lfs" in present:
        cols.insert(1, "git-lfs")
    anchors = [c for c in ANCHORS if c in cols]
    p(f"### {wl}: {params(title)}")
    p("")
    heads = ["step"] + cols + ["floor"] + [f"÷ {c}" for c in anchors] + ["÷ floor"]
    p("| " + " | ".join(heads) + " |")
    p("|---|" + "---:|" * len(cols) + "---|" + "---:|" * (len(anchors) + 1))
    for step, mode in order[wl]:
        vals = {c: t(wl, step, tool_id(c, mode)) if tool_id(c, mode) else None for c in cols}
        fname, fv = floor_of(wl, step, mode)
        gdv = vals.get("git-data")
        cells = [secs(vals[c]) if vals[c] is not None else na_cell(wl, c) for c in cols]
        floor_cell = f"{secs(fv)} ({fname})" if fv is not None else "–"
        rats = [ratio(gdv, vals[c]) for c in anchors]
        p("| " + " | ".join([STEP_LABEL.get(step, step) + mode_label(mode)] + cells + [floor_cell] + rats
                            + [ratio(gdv, fv)]) + " |")
    p("")

kinds_seen = [(k, label) for k, label in KINDS if any(order.get(f"{w}-{k}") for w in ("W1", "W2"))]
if len(kinds_seen) > 1:
    p("### Remote kinds: git-data against each server, ÷ S3")
    p("")
    p("Seconds (median) of git-data's push and clone against each server on 127.0.0.1; the")
    p("ratio is that time divided by the same step against S3 (above 1 = slower than S3).")
    p("Emulators are not the clouds: the ratios compare git-data's clients, not the services.")
    p("")
    heads = ["workload", "step"] + [label for _, label in kinds_seen]
    heads += [f"{k} ÷ S3" for k, _ in kinds_seen if k != "S3"]
    p("| " + " | ".join(heads) + " |")
    p("|---|---|" + "---:|" * (len(heads) - 2))
    for w in ("W1", "W2"):
        for step in ("push", "clone"):
            vals = {k: t(f"{w}-{k}", step, "gitdata") for k, _ in kinds_seen}
            rats = [ratio(vals[k], vals.get("S3")) for k, _ in kinds_seen if k != "S3"]
            p(f"| {w} | {STEP_LABEL.get(step, step)} | " + " | ".join(secs(vals[k]) for k, _ in kinds_seen)
              + " | " + " | ".join(rats) + " |")
    p("")

p("## Peak memory")
p("")
p("MiB, the largest single process of the step (the largest over its runs).")
p("")
for wl, _title, cols in measured():
    p(f"**{wl}**")
    p("")
    p("| step | " + " | ".join(cols) + " |")
    p("|---|" + "---:|" * len(cols))
    for step, mode in order[wl]:
        cells = []
        for c in cols:
            k = (wl, step, tool_id(c, mode))
            cells.append(f"{rss[k] / 1024:.0f}" if k in rss else "–")
        p(f"| {STEP_LABEL.get(step, step)}{mode_label(mode)} | " + " | ".join(cells) + " |")
    p("")

# ---------------------------------------------------------------------------- disk and remote
p("## Disk and remote")
p("")
p("MiB (median over reps). Disk: allocated, the whole repository (work tree + `.git` + the tool's")
p("cache), hard links counted once. Remote: bytes held after the push (git + data).")
p("")
data_ref = {
    "W1": int(meta.get("param BIG_MIB", 0)) * MIB,
    "W3": 2 * model,
    "W6": int(meta.get("param W6_MIB", 0)) * MIB,
}
for w in ("W2", "W5"):
    s = sizes.get((w, "data", "floor"))
    if s:
        data_ref[w] = s[0][0]
for k, _ in KINDS:
    data_ref[f"W1-{k}"], data_ref[f"W2-{k}"] = data_ref.get("W1"), data_ref.get("W2")
p("| workload | what | " + " | ".join(present) + " | data |")
p("|---|---|" + "---:|" * (len(present) + 1))
for wl in WORKLOADS:
    for what in size_order.get(wl, []):
        if what == "data":
            continue
        modes = sorted({TOOLS[k[2]][1] for k in sizes if k[0] == wl and k[1] == what and k[2] in TOOLS})
        for mode in modes:
            cells = []
            for c in present:
                s = sizes.get((wl, what, tool_id(c, mode)))
                if s:
                    i = 0 if what.startswith("remote") else 1
                    cells.append(mib(statistics.median(x[i] for x in s)))
                else:
                    cells.append(na_cell(wl, c))
            ref = data_ref.get(wl)
            p(f"| {wl} | {what}{mode_label(mode)} | " + " | ".join(cells) + f" | {mib(ref) if ref else '–'} |")
p("")

# ---------------------------------------------------------------------------- everything
p("## All measurements")
p("")
p("| workload | step | tool | n | median s | min-max s | cpu s (median) | peak MiB |")
p("|---|---|---|---:|---:|---|---:|---:|")
for (wl, step, tool), w in walls.items():
    p(f"| {wl} | {step} | {tool} | {len(w)} | {secs(statistics.median(w))} | {secs(min(w))}-{secs(max(w))} | "
      f"{statistics.median(cpu[wl, step, tool]):.2f} | {rss[wl, step, tool] / 1024:.0f} |")
p("")
if notes:
    p("## Notes")
    p("")
    for n in notes:
        p(f"- {n}")
    p("")
print("\n".join(out))

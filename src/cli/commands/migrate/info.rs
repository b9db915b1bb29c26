//! `git data migrate info`: what `migrate import` would move, by extension and by size, the
//! largest files, and the lines it would write to `.gitattributes`. Reads history only
//! (object headers, and the content of blobs small enough to be pointers); changes nothing.

use super::plural;
use crate::cli::args::MigrateSelectArgs;
use crate::cli::context::Context;
use crate::migrate::refs;
use crate::migrate::rewrite;
use crate::migrate::select::{Selection, Survey, Version};
use crate::units::human;
use anyhow::Result;
use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};
use std::collections::{BTreeMap, HashMap, HashSet};

const MIB: u64 = 1 << 20;
const BUCKETS: [(u64, &str); 5] = [
    (MIB, "under 1 MiB"),
    (10 * MIB, "1 MiB to 10 MiB"),
    (100 * MIB, "10 MiB to 100 MiB"),
    (1024 * MIB, "100 MiB to 1 GiB"),
    (u64::MAX, "1 GiB and more"),
];

#[derive(Default)]
struct Row {
    files: usize,
    objects: HashMap<ObjectId, u64>,
}

impl Row {
    fn bytes(&self) -> u64 {
        self.objects.values().sum()
    }
}

/// The extension of a path's file name, as `*.ext` (lowercase), or `(none)`.
fn extension(path: &BString) -> String {
    let name = path.rsplit_str("/").next().unwrap_or_default();
    match name.rfind_byte(b'.') {
        Some(i) if i > 0 => format!("*.{}", name[i + 1..].to_str_lossy().to_lowercase()),
        _ => "(none)".to_string(),
    }
}

pub(crate) fn run(ctx: &Context, args: &MigrateSelectArgs) -> Result<i32> {
    let sel =
        Selection::parse(args.above.as_deref(), &args.include, &args.exclude, ctx.work_tree()?)?;
    let scope = refs::resolve(&ctx.repo, args.everything, &args.refs, true)?;
    let commits = rewrite::list_commits(&scope.tips, &scope.hidden)?;
    let survey = Survey::walk(&ctx.repo, &commits, true)?;
    let (paths, blobs): (HashSet<BString>, HashSet<ObjectId>) = if sel.is_set() {
        survey.select(&sel)
    } else {
        let all = Selection { above: Some(0), include: Vec::new(), exclude: Vec::new() };
        survey.select(&all)
    };
    let names: Vec<&str> = scope.refs.keys().map(String::as_str).collect();
    println!("Scope: {} ({})", names.join(", "), plural(commits.len(), "commit"));
    if let Some(note) = scope.pushed_note() {
        println!("       ({note})");
    }
    let pointers = survey.files.values().flatten().filter(|v| v.pointer).count();
    if pointers > 0 {
        println!("Already pointers (git-data or git-lfs): {}", plural(pointers, "file version"));
    }
    let mut by_ext: BTreeMap<String, Row> = BTreeMap::new();
    let mut by_size: Vec<Row> = BUCKETS.iter().map(|_| Row::default()).collect();
    let mut total = Row::default();
    let mut largest: Vec<(u64, &BString, usize)> = Vec::new();
    for (path, versions) in survey.files.iter().filter(|(p, _)| paths.contains(*p)) {
        let moved: Vec<&Version> = versions.iter().filter(|v| blobs.contains(&v.blob)).collect();
        if moved.is_empty() {
            continue;
        }
        let row = by_ext.entry(extension(path)).or_default();
        row.files += 1;
        total.files += 1;
        for v in &moved {
            row.objects.insert(v.blob, v.size);
            total.objects.insert(v.blob, v.size);
            let bucket = BUCKETS.iter().position(|(limit, _)| v.size < *limit).unwrap_or(4);
            by_size[bucket].files += 1;
            by_size[bucket].objects.insert(v.blob, v.size);
        }
        let max = moved.iter().map(|v| v.size).max().unwrap_or(0);
        largest.push((max, path, moved.len()));
    }
    let what = if sel.is_set() {
        "would move"
    } else {
        "holds (every file; select with --above or --include)"
    };
    println!(
        "migrate import {what}: {} in {}, {}",
        plural(total.files, "path"),
        plural(total.objects.len(), "distinct object"),
        human(total.bytes())
    );
    if total.files == 0 {
        return Ok(0);
    }
    let mut rows: Vec<(&String, &Row)> = by_ext.iter().collect();
    rows.sort_by(|a, b| b.1.bytes().cmp(&a.1.bytes()).then(a.0.cmp(b.0)));
    println!("\nBy extension:            paths    objects        size");
    for (ext, row) in rows.iter().take(15) {
        println!(
            "  {ext:<20} {:>8} {:>10} {:>11}",
            row.files,
            row.objects.len(),
            human(row.bytes())
        );
    }
    if rows.len() > 15 {
        println!("  ... and {} more extensions", rows.len() - 15);
    }
    println!("\nBy size:                          objects        size");
    for ((_, label), row) in BUCKETS.iter().zip(&by_size).filter(|(_, r)| r.files > 0) {
        println!("  {label:<30} {:>10} {:>11}", row.objects.len(), human(row.bytes()));
    }
    largest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    println!("\nLargest files:");
    for (size, path, versions) in largest.iter().take(10) {
        println!("  {:>11}  {path}  ({})", human(*size), plural(*versions, "version"));
    }
    if sel.is_set() {
        println!("\nmigrate import would append to .gitattributes:");
        let lines = sel.attribute_lines(&paths);
        for l in lines.iter().take(20) {
            println!("  {l}");
        }
        if lines.len() > 20 {
            println!("  ... and {} more", lines.len() - 20);
        }
    }
    Ok(0)
}

//! `git data metrics|params show|diff|log`: reads the values at the revisions asked
//! ([`crate::pipeline::metrics`]) and prints them as an aligned table, JSON or markdown, with
//! notes (files that do not parse, objects not in the cache) on stderr.
//!
//! Invariants: every revision is resolved before anything is read, so an unknown one is an
//! error (exit 1) naming it; one `git log` for a range; one `git cat-file --batch` in all.

use crate::cli::args::{FormatArgs, LogArgs, ShowArgs, ValuesCommand, ValuesDiffArgs};
use crate::cli::context::Context;
use crate::git::{git_command, run_git};
use crate::hint::hinted;
use crate::pipeline::metrics::collect::{FileVals, Kind, Reader, Snapshot, short};
use crate::pipeline::metrics::table::{self, Row};
use anyhow::Result;
use serde_json::{Map, Value as Json};

const WORKSPACE: &str = "workspace";

pub(crate) fn run(ctx: &Context, kind: Kind, cmd: &ValuesCommand) -> Result<i32> {
    let root = ctx.work_tree()?.canonicalize()?;
    let cwd = std::env::current_dir()?.canonicalize()?;
    let dir = cwd.strip_prefix(&root).map(|r| r.to_string_lossy().into_owned()).unwrap_or_default();
    let mut reader = Reader::new(&ctx.repo, root, dir, &ctx.store, kind)?;
    let mut notes = Vec::new();
    let code = match cmd {
        ValuesCommand::Show(a) => show(ctx, &mut reader, &mut notes, a)?,
        ValuesCommand::Diff(a) => diff(ctx, &mut reader, &mut notes, a)?,
        ValuesCommand::Log(a) => log(&mut reader, &mut notes, a)?,
    };
    for n in &notes {
        eprintln!("note: {n}");
    }
    Ok(code)
}

/// A revision's commit id, or an error naming it.
fn resolve(ctx: &Context, rev: &str) -> Result<String> {
    ctx.repo.resolve_commit(rev).map(|c| c.to_string()).map_err(|_| {
        hinted(
            format!("unknown revision `{rev}`"),
            "name a commit, branch or tag (`git log --oneline`, `git tag` list them)",
        )
    })
}

/// Reads each (label, commit) into a snapshot, then adds one note for objects not local.
fn read_all(
    reader: &mut Reader<'_>,
    notes: &mut Vec<String>,
    revs: &[(String, Option<String>)],
) -> Result<Vec<Snapshot>> {
    let mut snaps = Vec::with_capacity(revs.len());
    let mut absent = Vec::new();
    for (label, commit) in revs {
        let snap = reader.read(commit.as_deref(), label, notes)?;
        for (path, vals) in &snap {
            if matches!(vals, FileVals::NotLocal(_)) {
                absent.push((path.clone(), label.clone()));
            }
        }
        snaps.push(snap);
    }
    if !absent.is_empty() {
        let list: Vec<String> = absent.iter().take(5).map(|(p, r)| format!("{p} at {r}")).collect();
        let more = if absent.len() > 5 { ", …" } else { "" };
        let rev =
            absent.iter().map(|(_, r)| r.as_str()).find(|r| *r != WORKSPACE).unwrap_or("HEAD");
        notes.push(format!(
            "not in the local cache, shown as `-`: {}{more}; `git data fetch --rev {rev}` brings them",
            list.join(", ")
        ));
    }
    Ok(snaps)
}

fn show(
    ctx: &Context,
    reader: &mut Reader<'_>,
    notes: &mut Vec<String>,
    a: &ShowArgs,
) -> Result<i32> {
    let mut names = a.revs.clone();
    if a.all_tags {
        let tags = run_git(git_command().args([
            "for-each-ref",
            "--sort=creatordate",
            "--format=%(refname:short)",
            "refs/tags",
        ]))?;
        names.extend(tags.lines().map(str::to_string));
    }
    let revs: Vec<(String, Option<String>)> = if names.is_empty() {
        vec![(WORKSPACE.to_string(), None)]
    } else {
        names.iter().map(|r| Ok((r.clone(), Some(resolve(ctx, r)?)))).collect::<Result<_>>()?
    };
    let snaps = read_all(reader, notes, &revs)?;
    if a.format.json {
        let mut out = Map::new();
        for ((label, _), snap) in revs.iter().zip(&snaps) {
            out.insert(label.clone(), snapshot_json(snap));
        }
        print_json(&Json::Object(out));
        return Ok(0);
    }
    let refs: Vec<&Snapshot> = snaps.iter().collect();
    let mut head = vec!["Path".to_string(), "Key".to_string()];
    head.extend(revs.iter().map(|(l, _)| l.clone()));
    print_table(a.format, head, rows_text(&table::show(&refs)));
    Ok(0)
}

fn diff(
    ctx: &Context,
    reader: &mut Reader<'_>,
    notes: &mut Vec<String>,
    a: &ValuesDiffArgs,
) -> Result<i32> {
    let old = a.a.clone().unwrap_or_else(|| "HEAD".to_string());
    let mut revs = vec![(old.clone(), Some(resolve(ctx, &old)?))];
    revs.push(match &a.b {
        Some(b) => (b.clone(), Some(resolve(ctx, b)?)),
        None => (WORKSPACE.to_string(), None),
    });
    let snaps = read_all(reader, notes, &revs)?;
    let rows = table::diff(&snaps[0], &snaps[1], a.all);
    if a.format.json {
        let mut out = Map::new();
        for r in &rows {
            let file = out.entry(r.path.clone()).or_insert_with(|| Json::Object(Map::new()));
            let mut entry = Map::new();
            entry.insert("old".into(), json_value(r.cells[0].as_deref()));
            entry.insert("new".into(), json_value(r.cells[1].as_deref()));
            if let Some(c) = &r.cells[2] {
                entry.insert("diff".into(), json_value(Some(c)));
            }
            if let Json::Object(file) = file {
                file.insert(r.key.clone(), Json::Object(entry));
            }
        }
        print_json(&Json::Object(out));
        return Ok(0);
    }
    let head = ["Path", "Key", "Old", "New", "Change"].map(String::from).to_vec();
    print_table(a.format, head, rows_text(&rows));
    Ok(0)
}

fn log(reader: &mut Reader<'_>, notes: &mut Vec<String>, a: &LogArgs) -> Result<i32> {
    let range = a.range.clone().unwrap_or_else(|| "HEAD".to_string());
    let listed =
        run_git(git_command().args(["log", "--format=%H%x09%s", &range, "--"])).map_err(|e| {
            hinted(
                format!("cannot list the commits of `{range}`: {e}"),
                "give a revision or a range such as v1..main",
            )
        })?;
    let commits: Vec<(String, String)> = listed
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(c, s)| (c.to_string(), s.to_string()))
        .collect();
    let revs: Vec<(String, Option<String>)> =
        commits.iter().map(|(c, _)| (short(c).to_string(), Some(c.clone()))).collect();
    let snaps = read_all(reader, notes, &revs)?;
    let refs: Vec<&Snapshot> = snaps.iter().collect();
    let all = table::keys(&refs);
    let columns: Vec<(String, String)> = if a.keys.is_empty() {
        all.into_iter().filter(|(_, k)| !k.is_empty()).collect()
    } else {
        a.keys
            .iter()
            .flat_map(|want| {
                let found: Vec<_> = all
                    .iter()
                    .filter(|(p, k)| k == want || format!("{p}:{k}") == *want)
                    .cloned()
                    .collect();
                if found.is_empty() { vec![(String::new(), want.clone())] } else { found }
            })
            .collect()
    };
    let label = |(p, k): &(String, String)| {
        if columns.iter().filter(|(_, k2)| k2 == k).count() > 1 {
            format!("{p}:{k}")
        } else {
            k.clone()
        }
    };
    if a.format.json {
        let rows: Vec<Json> = commits
            .iter()
            .zip(&snaps)
            .map(|((c, s), snap)| {
                let mut values = Map::new();
                for col in &columns {
                    values.insert(
                        label(col),
                        json_value(table::cell(snap, &col.0, &col.1).as_deref()),
                    );
                }
                serde_json::json!({ "commit": c, "subject": s, "values": values })
            })
            .collect();
        print_json(&Json::Array(rows));
        return Ok(0);
    }
    let mut head = vec!["Commit".to_string()];
    head.extend(columns.iter().map(label));
    let rows = commits
        .iter()
        .zip(&snaps)
        .map(|((c, _), snap)| {
            let mut row = vec![short(c).to_string()];
            row.extend(columns.iter().map(|(p, k)| table::cell(snap, p, k).unwrap_or_default()));
            row
        })
        .collect();
    print_table(a.format, head, rows);
    Ok(0)
}

fn rows_text(rows: &[Row]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            let mut line = vec![r.path.clone(), r.key.clone()];
            line.extend(r.cells.iter().map(|c| c.clone().unwrap_or_default()));
            line
        })
        .collect()
}

/// A path → {key → value} map per snapshot; a file not read is `{"error": …}`.
fn snapshot_json(snap: &Snapshot) -> Json {
    let mut out = Map::new();
    for (path, vals) in snap {
        let v = match vals {
            FileVals::Values(flat) => {
                Json::Object(flat.iter().map(|(k, v)| (k.clone(), json_value(Some(v)))).collect())
            }
            FileVals::NotLocal(oid) => {
                serde_json::json!({ "error": "not in the local cache", "oid": oid })
            }
            FileVals::Bad(e) => serde_json::json!({ "error": e }),
        };
        out.insert(path.clone(), v);
    }
    Json::Object(out)
}

/// A cell as JSON: numbers, booleans and null as such, anything else a string.
fn json_value(text: Option<&str>) -> Json {
    let Some(text) = text else { return Json::Null };
    if (table::number(text).is_some() || matches!(text, "true" | "false" | "null"))
        && let Ok(v) = serde_json::from_str::<Json>(text)
    {
        return v;
    }
    Json::String(text.to_string())
}

fn print_json(v: &Json) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// An aligned table (columns padded, two spaces apart) or, with --md, a markdown table.
fn print_table(format: FormatArgs, head: Vec<String>, rows: Vec<Vec<String>>) {
    if format.md {
        // a `|` or a line break in a key or value would end its cell or row
        let cell = |c: &String| c.replace('\\', "\\\\").replace('|', "\\|").replace('\n', "<br>");
        let row = |r: &Vec<String>| r.iter().map(cell).collect::<Vec<_>>().join(" | ");
        println!("| {} |", row(&head));
        println!("|{}|", head.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
        for r in &rows {
            println!("| {} |", row(r));
        }
        return;
    }
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in std::iter::once(&head).chain(&rows) {
        let line: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", line.join("  ").trim_end());
    }
}

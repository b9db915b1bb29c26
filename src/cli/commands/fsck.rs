//! `git data fsck`: re-hash every object in the cache (corrupt ones are quarantined and
//! reported), check the pointers of a revision (or of all history with `--all`): malformed,
//! wrong size, object not in the cache; with `--remote` hash the remote's copy of every object
//! they need, and with `--repair` upload this clone's verified copy over each copy the remote
//! lacks or holds damaged (see `crate::sync::verify`).

use crate::cli::args::FsckArgs;
use crate::cli::context::Context;
use crate::git::scan::{Found, PathFilter, Scanner};
use crate::oid::Oid;
use crate::progress::Progress;
use crate::store::StoreError;
use crate::sync::remote::REPAIR_COMMAND;
use crate::sync::verify::{self, Copy};
use anyhow::Result;
use std::collections::HashMap;

pub(crate) fn run(ctx: &Context, args: &FsckArgs) -> Result<i32> {
    let mut bad = check_cache(ctx)?;
    let (label, pointers) = pointers(ctx, args)?;
    for f in pointers.iter().filter(|f| f.malformed.is_some()) {
        bad += 1;
        println!("malformed pointer: {}: {}", f.path, f.malformed.as_deref().unwrap_or_default());
    }
    let pointers: Vec<_> = pointers.into_iter().filter(|f| f.pointer.is_some()).collect();
    let wrong = crate::policy::wrong_size::find(&ctx.store, &pointers);
    for w in &wrong {
        bad += 1;
        println!("wrong pointer: {}", w.describe(&ctx.repo));
    }
    if let Some(w) = wrong.first() {
        println!("  ({})", w.hint(&ctx.store));
    }
    let mut missing_local = 0;
    for f in &pointers {
        if let Some(p) = f.pointer
            && !ctx.store.holds(&p.oid, p.size)
        {
            missing_local += 1;
            println!("not in cache: {} ({})", f.path, p.oid.short(12));
        }
    }
    println!(
        "{label}: {} tracked file{}, {missing_local} not in the local cache",
        pointers.len(),
        if pointers.len() == 1 { "" } else { "s" }
    );
    if args.remote || args.repair {
        bad += check_remote(ctx, args.repair, &pointers)?;
    }
    Ok(if bad > 0 { 1 } else { 0 })
}

/// Re-hashes every cached object; returns how many are bad.
fn check_cache(ctx: &Context) -> Result<usize> {
    let mut bad = 0usize;
    let objects = ctx.store.list()?;
    let mut checked_bytes = 0u64;
    for oid in &objects {
        match ctx.store.check(oid) {
            Ok(size) => checked_bytes += size,
            Err(e @ StoreError::Corrupt { .. }) => {
                bad += 1;
                println!("corrupt: {e}");
            }
            Err(e) => {
                bad += 1;
                println!("error: {e}");
            }
        }
    }
    println!(
        "cache: {} object{} ({}) checked, {bad} bad",
        objects.len(),
        if objects.len() == 1 { "" } else { "s" },
        crate::units::human(checked_bytes)
    );
    Ok(bad)
}

/// The files to check and how to name them: a revision's tree, or every file version that
/// any commit of any branch or tag introduced.
fn pointers(ctx: &Context, args: &FsckArgs) -> Result<(String, Vec<Found>)> {
    if args.all {
        let found = Scanner::new(&ctx.repo).introduced(&ctx.repo.all_ref_tips(), &[])?;
        return Ok(("all refs".to_string(), found));
    }
    let rev = args.rev.as_deref().unwrap_or("HEAD");
    let found = match ctx.repo.resolve_commit(rev) {
        Ok(commit) => {
            let tree = ctx.repo.tree_of(commit)?;
            Scanner::new(&ctx.repo).tree_files(commit, tree, &PathFilter::default())?
        }
        Err(e) if args.rev.is_some() => return Err(e.into()),
        Err(_) => Vec::new(),
    };
    Ok((rev.to_string(), found))
}

/// Hashes the default remote's copy of every object `pointers` need and, with `repair`,
/// mends the missing and damaged ones; returns how many are still wrong.
fn check_remote(ctx: &Context, repair: bool, pointers: &[Found]) -> Result<usize> {
    let remote = ctx.remote(None)?;
    let transfer = ctx.transfer()?;
    transfer.call(|| remote.check())?;
    // one check per object, of the size it really has when a pointer is wrong about it
    let mut named: HashMap<Oid, &Found> = HashMap::new();
    let mut objects = Vec::new();
    for f in pointers {
        if let Some(p) = f.pointer
            && named.insert(p.oid, f).is_none()
        {
            objects.push((p.oid, ctx.store.wrong_size(&p.oid, p.size).unwrap_or(p.size)));
        }
    }
    let name = remote.name().to_string();
    let total = crate::progress::total_of(objects.iter().map(|o| o.1));
    let progress = Progress::bytes(ctx.progress(), "Verifying", total, objects.len());
    let mut checked = verify::check(&transfer, &remote, &objects, &progress);
    progress.finish();
    checked.sort_by_key(|(oid, ..)| named[oid].path.clone());
    let path = |oid: &Oid| named[oid].path.to_string();
    let mut known = ctx.known(&*remote);
    let mut to_repair = Vec::new();
    let mut problems = 0;
    for (oid, size, copy) in &checked {
        let short = oid.short(12);
        match copy {
            Copy::Intact => {}
            Copy::Missing => println!("not on {name}: {} ({short})", path(oid)),
            Copy::Damaged(what) => println!("damaged on {name}: {} ({short}): {what}", path(oid)),
            Copy::OtherSize(n) => println!(
                "wrong pointer: {} ({short}): the copy on {name} is intact with {n} bytes, the pointer says {size}",
                path(oid)
            ),
            Copy::Unreadable(e) => println!("cannot check {} ({short}): {e}", path(oid)),
        }
        if copy.needs_repair() {
            to_repair.push((*oid, *size));
        } else if *copy != Copy::Intact {
            problems += 1;
        }
    }
    let intact: Vec<Oid> =
        checked.iter().filter(|(.., c)| matches!(c, Copy::Intact)).map(|(o, ..)| *o).collect();
    known.add(intact.iter().copied());
    let bad_copies = to_repair.len();
    let mut repaired = std::collections::HashSet::new();
    if repair && !to_repair.is_empty() {
        let (here, elsewhere): (Vec<(Oid, u64)>, Vec<_>) =
            to_repair.iter().copied().partition(|(o, s)| ctx.store.contains(o, *s));
        let total = crate::progress::total_of(here.iter().map(|o| o.1));
        let progress = Progress::bytes(ctx.progress(), "Repairing", total, here.len());
        let results = verify::repair(&transfer, &remote, &ctx.store, &here, &progress);
        progress.finish();
        for (oid, result) in results {
            match result {
                Ok(()) => {
                    repaired.insert(oid);
                    known.add([oid]);
                    println!("repaired on {name}: {} ({})", path(&oid), oid.short(12));
                }
                Err(e) => println!("cannot repair {} ({}): {e}", path(&oid), oid.short(12)),
            }
        }
        for (oid, _) in &elsewhere {
            println!("cannot repair {} ({}): not in this clone's cache", path(oid), oid.short(12));
        }
    }
    // the record of past uploads must not vouch for what the remote lacks or holds damaged
    let unrepaired: Vec<Oid> =
        to_repair.iter().map(|(o, _)| *o).filter(|o| !repaired.contains(o)).collect();
    known.forget(&unrepaired);
    let (left, repaired) = (unrepaired.len(), repaired.len());
    println!(
        "remote {name}: {} object{} hashed, {bad_copies} missing or damaged{}",
        checked.len(),
        if checked.len() == 1 { "" } else { "s" },
        if repair { format!(", {repaired} repaired") } else { String::new() }
    );
    if left > 0 {
        let here = to_repair.iter().any(|(o, s)| ctx.store.contains(o, *s));
        eprintln!(
            "hint: {}",
            match (repair, here) {
                (false, true) =>
                    format!("`{REPAIR_COMMAND}` uploads this clone's good copies over them"),
                _ => format!(
                    "run `{REPAIR_COMMAND} --all` in a clone that has the data of the files listed"
                ),
            }
        );
    }
    Ok(problems + left)
}

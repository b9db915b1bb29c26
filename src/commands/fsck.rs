//! `git data fsck`: re-hash every object in the cache (corrupt ones are quarantined and
//! reported), check that the pointers of a revision have their objects locally, and with
//! `--remote` that the remote has every one of them with the right size.

use crate::cli::FsckArgs;
use crate::context::Context;
use crate::scan::{PathFilter, Scanner};
use crate::store::StoreError;
use anyhow::Result;

pub fn run(ctx: &Context, args: &FsckArgs) -> Result<i32> {
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
        super::human(checked_bytes)
    );
    let rev = args.rev.as_deref().unwrap_or("HEAD");
    let pointers = match ctx.repo.resolve_commit(rev) {
        Ok(commit) => {
            let tree = ctx.repo.tree_of(commit)?;
            Scanner::new(&ctx.repo).tree_files(commit, tree, &PathFilter::default())?
        }
        Err(e) if args.rev.is_some() => return Err(e.into()),
        Err(_) => Vec::new(),
    };
    for f in pointers.iter().filter(|f| f.malformed.is_some()) {
        bad += 1;
        println!("malformed pointer: {}: {}", f.path, f.malformed.as_deref().unwrap_or_default());
    }
    let pointers: Vec<_> = pointers.into_iter().filter(|f| f.pointer.is_some()).collect();
    let wrong = super::wrong_size::find(&ctx.store, &pointers);
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
        "{rev}: {} tracked file{}, {missing_local} not in the local cache",
        pointers.len(),
        if pointers.len() == 1 { "" } else { "s" }
    );
    let mut missing_remote = 0;
    if args.remote {
        let remote = ctx.remote(None)?;
        let transfer = ctx.transfer()?;
        transfer.block_on(remote.check())?;
        let objects: Vec<_> =
            pointers.iter().filter_map(|f| f.pointer).map(|p| (p.oid, p.size)).collect();
        let lacking = transfer.missing(&remote, &objects)?;
        for (oid, _) in &lacking {
            let path = pointers
                .iter()
                .find(|f| f.pointer.is_some_and(|p| p.oid == *oid))
                .map(|f| f.path.to_string())
                .unwrap_or_default();
            println!("not on {}: {path} ({})", remote.name(), oid.short(12));
        }
        missing_remote = lacking.len();
        println!(
            "remote {}: {missing_remote} object{} missing",
            remote.name(),
            if missing_remote == 1 { "" } else { "s" }
        );
    }
    Ok(if bad > 0 || missing_remote > 0 { 1 } else { 0 })
}

//! `git-data filter-process` (git's long-running filter) and the per-file `clean`/`smudge`
//! fallbacks. Nothing but protocol bytes or file content may reach stdout here.

use crate::cli::args::GlobalArgs;
use crate::cli::context::Context;
use crate::filter::delay::Delay;
use crate::filter::readahead::ReadAhead;
use crate::filter::{self, Filter};
use crate::git::globs::Globs;
use crate::git::hooks;
use crate::materialize;
use anyhow::Result;
use gix::bstr::ByteSlice;
use std::ffi::OsStr;
use std::io::{self, BufWriter};
use std::os::unix::ffi::OsStrExt;

fn make_filter(ctx: &Context) -> Filter<'_> {
    Filter {
        store: &ctx.store,
        journal: ctx.journal(),
        inline_max: ctx.config.inline_max,
        work_tree: ctx.repo.work_tree.clone(),
        stat_cache: Some(ctx.stat_cache()),
        readahead: None,
        delay: None,
        skip_smudge: ctx.config.skip_smudge,
        chosen: chosen(ctx),
    }
}

/// The files checkouts write data for; a bad pattern warns and every file is written (the
/// filter must keep working so a checkout can still fix the setting).
fn chosen(ctx: &Context) -> Globs {
    Globs::parse(&ctx.config.fetch_include, &ctx.config.fetch_exclude).unwrap_or_else(|e| {
        eprintln!("git-data: warning: data.fetchInclude / data.fetchExclude: {e:#}; ignored");
        Globs::default()
    })
}

/// Installs missing hooks in a repository that uses the filter but lacks them (a fresh clone
/// made with the global install): only into git's default hooks directory, only empty slots.
fn auto_install_hooks(ctx: &Context) {
    if ctx.repo.work_tree.is_none() || ctx.repo.config_string("core.hooksPath").is_some() {
        return;
    }
    let dir = ctx.repo.hooks_dir();
    if !hooks::all_current(&dir) {
        let _ = hooks::install(&dir, false);
    }
}

/// Asks for 1 MiB pipe buffers so git and the filter block on each other less.
fn enlarge_pipes() {
    crate::fs::sys::grow_pipe(std::io::stdin(), 1 << 20);
    crate::fs::sys::grow_pipe(std::io::stdout(), 1 << 20);
}

pub(crate) fn process(g: &GlobalArgs) -> Result<i32> {
    let ctx = Context::open_lenient(g)?;
    auto_install_hooks(&ctx);
    enlarge_pipes();
    let mut filter = make_filter(&ctx);
    filter.readahead = ctx.repo.work_tree.clone().map(|work_tree| {
        ReadAhead::new(work_tree, ctx.store.root().to_path_buf(), ctx.stat_cache_path())
    });
    // Missing objects of a checkout are downloaded in one batch while git waits (failures
    // are journaled and reported by the post-checkout hook).
    let fetch = |missing: &[(gix::bstr::BString, crate::pointer::Pointer)]| {
        let _ = materialize::fetch_missing(&ctx.local(), missing);
    };
    if ctx.repo.work_tree.is_some() {
        filter.delay = Some(Delay::new(&fetch));
    }
    let stdin = io::stdin().lock();
    let stdout = BufWriter::with_capacity(256 << 10, io::stdout().lock());
    filter::process::serve(stdin, stdout, &mut filter)?;
    let journal = std::mem::replace(&mut filter.journal, ctx.journal());
    drop(filter);
    finish_session(&ctx, &journal)
}

/// Writes the files this session left as pointers. git closes the filter when its command
/// is done (the index written, any hook run), so the files that no hook wrote — after
/// `reset --hard`, `stash`, `restore`, `cherry-pick`, `rebase`, `sparse-checkout` — are
/// written now, while git waits for the filter to exit. Files that ended processes left
/// in the journal (a killed checkout) are written too.
fn finish_session(ctx: &Context, journal: &crate::store::state::pending::Journal) -> Result<i32> {
    if ctx.repo.work_tree.is_none() {
        return Ok(0);
    }
    let outcome = materialize::journal::consume(&ctx.local(), journal.find_own()?, true)?;
    Ok(crate::cli::ui::report_outcome(ctx, &outcome, "git data pull"))
}

pub(crate) fn clean(g: &GlobalArgs, path: Option<&OsStr>) -> Result<i32> {
    let ctx = Context::open_lenient(g)?;
    let mut filter = make_filter(&ctx);
    let result = filter::clean_stream(
        &mut filter,
        path.map(OsStr::as_bytes).unwrap_or_default().as_bstr(),
        io::stdin().lock(),
        io::stdout().lock(),
    );
    filter.finish();
    result?;
    Ok(0)
}

pub(crate) fn smudge(g: &GlobalArgs, path: Option<&OsStr>) -> Result<i32> {
    let ctx = Context::open_lenient(g)?;
    auto_install_hooks(&ctx);
    let mut filter = make_filter(&ctx);
    filter::smudge_stream(
        &mut filter,
        path.map(OsStr::as_bytes).unwrap_or_default().as_bstr(),
        io::stdin().lock(),
        io::stdout().lock(),
    )?;
    Ok(0)
}

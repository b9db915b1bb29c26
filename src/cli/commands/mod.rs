//! One module per subcommand, and `git/` for what git calls; each parses its contract (argv,
//! stdin) and calls the domain code. `run` is the one dispatch; a command never imports
//! another (shared work lives in the domain folders, shared printing in `cli::ui`).

pub(crate) mod add;
pub(crate) mod check;
pub(crate) mod checkout;
pub(crate) mod diff;
pub(crate) mod docs;
pub(crate) mod env;
pub(crate) mod fetch;
pub(crate) mod fsck;
pub(crate) mod gc;
pub(crate) mod git;
pub(crate) mod init;
pub(crate) mod install;
pub(crate) mod lineage;
pub(crate) mod ls_files;
pub(crate) mod metrics;
pub(crate) mod migrate;
pub(crate) mod prune;
pub(crate) mod push;
pub(crate) mod remote;
pub(crate) mod repro;
pub(crate) mod status;
pub(crate) mod track;

use crate::cli::args::{Cli, Command, MigrateCommand};
use crate::cli::context::Context;
use crate::pipeline::metrics::collect::Kind;
use anyhow::Result;

/// Runs a parsed command line; returns the exit code.
pub(crate) fn run(cli: Cli) -> Result<i32> {
    let g = &cli.global;
    match cli.command {
        Command::Init(a) => init::run(g, &a),
        Command::Install(a) => install::install(g, &a),
        Command::Uninstall(a) => install::uninstall(g, &a),
        Command::Track(a) => track::track(&Context::open(g)?, &a),
        Command::Untrack(a) => track::untrack(&Context::open(g)?, &a),
        Command::Add(a) => add::run(&Context::open(g)?, &a),
        Command::Status(a) => status::run(&Context::open(g)?, &a),
        Command::LsFiles(a) => ls_files::run(&Context::open(g)?, &a),
        Command::Diff(a) => diff::run(&Context::open(g)?, &a),
        Command::Push(a) => push::run(&Context::open(g)?, &a),
        Command::Fetch(a) => fetch::fetch(&Context::open(g)?, &a),
        Command::Pull(a) => fetch::pull(&Context::open(g)?, &a),
        Command::Checkout(a) => checkout::run(&Context::open(g)?, &a),
        Command::Remote(c) => remote::run(&Context::open(g)?, c),
        Command::Fsck(a) => fsck::run(&Context::open(g)?, &a),
        Command::Gc(a) => gc::run(&Context::open(g)?, &a),
        Command::Prune(a) => prune::run(&Context::open(g)?, &a),
        Command::Repro(a) => repro::run(&Context::open(g)?, &a),
        Command::Metrics(c) => metrics::run(&Context::open(g)?, Kind::Metrics, &c),
        Command::Params(c) => metrics::run(&Context::open(g)?, Kind::Params, &c),
        Command::Lineage(a) => lineage::run(&Context::open(g)?, &a),
        Command::Env => env::run(g),
        Command::Check(a) => check::run(&Context::open(g)?, &a),
        Command::Migrate(c) => {
            let ctx = Context::open(g)?;
            match c {
                MigrateCommand::Import(a) => migrate::import(&ctx, &a),
                MigrateCommand::Info(a) => migrate::info(&ctx, &a),
                MigrateCommand::Lfs(a) => migrate::lfs(&ctx, &a),
                MigrateCommand::Dvc(a) => migrate::dvc(&ctx, &a),
            }
        }
        Command::Completions(a) => docs::completions(&a),
        Command::Man(a) => docs::man(g, &a),
        Command::FilterProcess => git::filter_process::process(g),
        Command::Clean { path } => git::filter_process::clean(g, path.as_deref()),
        Command::Smudge { path } => git::filter_process::smudge(g, path.as_deref()),
        Command::Hook { name, args } => git::run_hook(g, &name, &args),
        Command::MergeDriver { base, ours, theirs, path } => {
            git::merge_driver::run(&base, &ours, &theirs, &path)
        }
    }
}

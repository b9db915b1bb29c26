//! One module per subcommand and per git entry point; each parses its contract (argv, stdin)
//! and calls the library. `run` is the one dispatch.

pub mod add;
pub mod check;
pub mod checkout;
pub mod diff;
pub mod env;
pub mod fetch;
pub mod filter_process;
pub mod fsck;
pub mod gc;
pub mod hook;
pub mod install;
pub mod ls_files;
pub mod merge_driver;
pub mod migrate;
pub mod pre_push;
pub mod push;
pub mod remote;
pub mod status;
pub mod track;
pub mod wrong_size;

use crate::cli::args::{Cli, Command, MigrateCommand};
use crate::cli::context::Context;
use anyhow::Result;

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let g = &cli.global;
    match cli.command {
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
        Command::FilterProcess => filter_process::process(g),
        Command::Clean { path } => filter_process::clean(g, path.as_deref()),
        Command::Smudge { path } => filter_process::smudge(g, path.as_deref()),
        Command::Hook { name, args } => hook::run(g, &name, &args),
        Command::MergeDriver { base, ours, theirs, path } => {
            merge_driver::run(&base, &ours, &theirs, &path)
        }
    }
}

pub use crate::units::{checked_total, human, human_total};

/// Prints a line to stdout unless quiet.
pub fn say(ctx_quiet: bool, line: impl AsRef<str>) {
    if !ctx_quiet {
        println!("{}", line.as_ref());
    }
}

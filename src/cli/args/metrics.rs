//! Arguments of `metrics`, `params` (the same three subcommands) and `lineage`.

use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum ValuesCommand {
    /// Show the values in the work tree, or at each of REVS (one column per revision).
    Show(ShowArgs),
    /// Show the values that differ between two revisions, with the numeric change.
    Diff(ValuesDiffArgs),
    /// One row per commit of a `git log` range (newest first), one column per key.
    Log(LogArgs),
}

#[derive(Args, Debug, Clone, Copy)]
pub struct FormatArgs {
    /// Print JSON.
    #[arg(long, conflicts_with = "md")]
    pub json: bool,
    /// Print a markdown table.
    #[arg(long)]
    pub md: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Revisions to read (default: the work tree).
    pub revs: Vec<String>,
    /// Also every tag, oldest first.
    #[arg(long)]
    pub all_tags: bool,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Args, Debug)]
pub struct ValuesDiffArgs {
    /// The old revision (default: HEAD).
    pub a: Option<String>,
    /// The new revision (default: the work tree).
    pub b: Option<String>,
    /// Also show the values that did not change.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Args, Debug)]
pub struct LogArgs {
    /// The commits, as for `git log` (default: HEAD).
    pub range: Option<String>,
    /// Only these keys (repeatable; default: every key).
    #[arg(short = 'k', long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Args, Debug)]
pub struct LineageArgs {
    /// Print JSON (for an experiment tracker).
    #[arg(long)]
    pub json: bool,
    /// Only data files under these paths.
    pub paths: Vec<String>,
}

//! The command line: arguments, the context a command receives, and one module per command
//! and per entry point git calls. Nothing below this folder imports it.

pub mod args;
pub(crate) mod commands;
pub(crate) mod context;
pub mod error;
pub(crate) mod ui;

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: args::Cli) -> anyhow::Result<i32> {
    if cli.command.prints_offline() {
        // A listing piped into `head` should end quietly when the pipe closes. Only for
        // commands that never talk to a remote: elsewhere a socket write to a peer that hung
        // up would kill the process without a word.
        crate::fs::sys::default_sigpipe();
    }
    commands::run(cli)
}

//! The `git-data` binary: parse, dispatch, map errors to exit codes (0 ok, 1 failed, 2 usage).

use clap::Parser;

fn main() {
    let code = match git_data::cli::args::Cli::try_parse() {
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() { 2 } else { 0 }
        }
        Ok(cli) => match run(cli) {
            Ok(code) => code,
            Err(e) => {
                git_data::cli::error::report(&e);
                1
            }
        },
    };
    std::process::exit(code);
}

fn run(cli: git_data::cli::args::Cli) -> anyhow::Result<i32> {
    if cli.command.prints_offline() {
        // A listing piped into `head` should end quietly when the pipe closes. Only for
        // commands that never talk to a remote: elsewhere a socket write to a peer that hung
        // up would kill the process without a word.
        git_data::fs::sys::default_sigpipe();
    }
    git_data::cli::commands::run(cli)
}

//! The `git-data` binary: parse, dispatch, map errors to exit codes (0 ok, 1 failed, 2 usage).

use clap::Parser;

fn main() {
    let code = match git_data::cli::args::Cli::try_parse() {
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() { 2 } else { 0 }
        }
        Ok(cli) => match git_data::cli::run(cli) {
            Ok(code) => code,
            Err(e) => {
                git_data::cli::error::report(&e);
                1
            }
        },
    };
    std::process::exit(code);
}

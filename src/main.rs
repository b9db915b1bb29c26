//! The `git-data` binary: parse, dispatch, map errors to exit codes (0 ok, 1 failed, 2 usage).

use clap::Parser;

fn main() {
    // Die quietly on a closed pipe (`git data ls-files | head`) instead of panicking.
    // SAFETY: resetting a signal disposition at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let code = match git_data::cli::Cli::try_parse() {
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() { 2 } else { 0 }
        }
        Ok(cli) => match git_data::commands::run(cli) {
            Ok(code) => code,
            Err(e) => {
                git_data::report(&e);
                1
            }
        },
    };
    std::process::exit(code);
}

//! `git data push`: uploads the data of the files that commits introduce (see
//! [`crate::sync::push`]).

use crate::cli::args::PushArgs;
use crate::cli::context::Context;
use crate::cli::ui;
use crate::git::scan::{Found, PathFilter, Scanner};
use crate::sync;
use anyhow::Result;

pub(crate) fn run(ctx: &Context, push: &PushArgs) -> Result<i32> {
    let args = &push.transfer;
    ctx.check_remote_arg(args)?;
    let tips = ctx.tips(args)?;
    let filter = PathFilter::new(ctx.repo_paths(&args.paths)?);
    let found: Vec<Found> = Scanner::new(&ctx.repo)
        .introduced(&tips, &[])?
        .into_iter()
        .filter(|f| filter.matches(&f.path))
        .collect();
    let up = sync::push::upload(&ctx.local(), args.remote.as_deref(), &found, push.verify_remote)?;
    ui::report_uploaded(ctx.global.quiet, &up);
    if !ctx.global.quiet && up.files == 0 {
        let (n, s) = (up.already, if up.already == 1 { "" } else { "s" });
        if up.asked {
            println!("Everything is already on the remote ({n} file{s}).");
        } else {
            println!(
                "Everything is already on the remote ({n} file{s}, by this clone's record of \
                 uploads; `git data push --verify-remote` asks the remote)."
            );
        }
    }
    Ok(0)
}

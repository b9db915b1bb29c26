//! `git data check`: the pre-push policy check and pointer check, for CI.

use crate::cli::CheckArgs;
use crate::context::Context;
use anyhow::Result;

pub fn run(_ctx: &Context, _args: &CheckArgs) -> Result<i32> {
    anyhow::bail!("`git data check` is not implemented yet")
}

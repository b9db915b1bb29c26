//! `git data migrate dvc`: .dvc files and the md5-addressed DVC cache become pointers and objects.

use crate::cli::MigrateDvcArgs;
use crate::context::Context;
use anyhow::Result;

pub fn run(_ctx: &Context, _args: &MigrateDvcArgs) -> Result<i32> {
    anyhow::bail!("`git data migrate dvc` is not implemented yet")
}

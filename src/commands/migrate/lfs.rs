//! `git data migrate lfs`: placeholder while the import engine is built.

use crate::cli::MigrateLfsArgs;
use crate::context::Context;
use anyhow::Result;

pub fn run(_ctx: &Context, _args: &MigrateLfsArgs) -> Result<i32> {
    anyhow::bail!("`git data migrate lfs` is not implemented yet")
}

//! `git data migrate`: move files out of git history and adopt git-lfs and DVC repositories.

mod dvc;

use crate::cli::{MigrateImportArgs, MigrateLfsArgs, MigrateSelectArgs};
use crate::context::Context;
use anyhow::Result;

pub use dvc::run as dvc;

pub fn import(_ctx: &Context, _args: &MigrateImportArgs) -> Result<i32> {
    anyhow::bail!("`git data migrate import` is not implemented yet")
}

pub fn info(_ctx: &Context, _args: &MigrateSelectArgs) -> Result<i32> {
    anyhow::bail!("`git data migrate info` is not implemented yet")
}

pub fn lfs(_ctx: &Context, _args: &MigrateLfsArgs) -> Result<i32> {
    anyhow::bail!("`git data migrate lfs` is not implemented yet")
}

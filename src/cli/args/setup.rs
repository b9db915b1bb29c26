//! Arguments of the commands that set git-data up: `init`, `install`/`uninstall`, and the
//! shell completions and manual pages.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Track a project layout's data folders: `ccds` (Cookiecutter Data Science: data/raw,
    /// data/interim, data/processed, data/external and models).
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Also track these patterns or directories (repeatable).
    #[arg(long = "track", value_name = "PATTERN")]
    pub track: Vec<String>,
    /// Add this data remote (a directory or s3://bucket/prefix) as the default.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// The remote's name.
    #[arg(long, default_value = "storage", requires = "remote")]
    pub remote_name: String,
    /// S3 endpoint URL for S3-compatible stores (OVH, MinIO, ...).
    #[arg(long, requires = "remote")]
    pub endpoint: Option<String>,
    /// S3 region.
    #[arg(long, requires = "remote")]
    pub region: Option<String>,
    /// Use path-style S3 URLs (MinIO and most self-hosted stores).
    #[arg(long, requires = "remote")]
    pub path_style: bool,
}

/// Project layouts whose data folders `git data init --preset` tracks.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Preset {
    /// Cookiecutter Data Science.
    Ccds,
}

impl Preset {
    /// The folders the layout keeps its data and models in.
    pub fn folders(self) -> &'static [&'static str] {
        match self {
            Preset::Ccds => {
                &["data/raw/", "data/interim/", "data/processed/", "data/external/", "models/"]
            }
        }
    }
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Write the filter to your global git config (~/.gitconfig) instead of this repository.
    #[arg(long)]
    pub global: bool,
    /// Leave hooks alone (filter and merge driver only).
    #[arg(long)]
    pub skip_hooks: bool,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// The folder to write the pages into (created if missing), e.g. $PREFIX/share/man/man1.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

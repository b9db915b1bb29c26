//! The arguments of `git data remote` and its subcommands.

use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum RemoteCommand {
    /// Add a remote: a directory path or s3://bucket/prefix. The first one becomes the default.
    Add(RemoteAddArgs),
    /// List remotes (the default one is marked with *).
    List,
    /// Remove a remote from .gitdata.yaml (its data stays where it is).
    Remove { name: String },
    /// Make a remote the default.
    Default { name: String },
    /// Change the URL of a remote (its other settings stay).
    SetUrl { name: String, url: String },
    /// Rename a remote (its stored credentials follow it).
    Rename { old: String, new: String },
    /// Check that a remote (default: the default one) is reachable with the credentials at
    /// hand, and that a small probe object can be written, read back and deleted.
    Test { name: Option<String> },
    /// Store S3 keys (or an Azure account key or SAS token) for a remote in this clone's
    /// .git/config (never in .gitdata.yaml).
    ///
    /// The secret is read from standard input (one line) or asked for without echo; it is
    /// never taken from the command line, where shell history and `ps` would keep it.
    SetCredentials(SetCredentialsArgs),
}

#[derive(Args, Debug)]
pub struct SetCredentialsArgs {
    pub name: String,
    /// The access key id (asked for when omitted).
    #[arg(long)]
    pub access_key_id: Option<String>,
    /// Also read a session token (a second line of standard input).
    #[arg(long)]
    pub session_token: bool,
    /// For an az:// remote: read a SAS token instead of the storage account key.
    #[arg(long, conflicts_with_all = ["access_key_id", "session_token"])]
    pub sas: bool,
    /// Remove the stored keys instead.
    #[arg(long, conflicts_with_all = ["access_key_id", "session_token", "sas"])]
    pub unset: bool,
    /// Store them for you, not this clone: every clone whose remote has this URL (or one
    /// under it) uses them (~/.config/git-data/credentials, readable by you only).
    #[arg(long)]
    pub global: bool,
}

#[derive(Args, Debug)]
pub struct RemoteAddArgs {
    /// A name for the remote (letters, digits, '-', '_', '.').
    pub name: String,
    /// A directory (/mnt/team-data, file:///path), s3://bucket/prefix, or a Git LFS server:
    /// lfs+https://host/org/repo.git/info/lfs, or lfs+origin (the one of git remote origin).
    pub url: String,
    /// Endpoint URL: an S3-compatible store (OVH, MinIO, ...), a GCS emulator, or the blob
    /// service of an az:// remote (Azurite: http://127.0.0.1:10000/devstoreaccount1).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// S3 region.
    #[arg(long)]
    pub region: Option<String>,
    /// Use path-style S3 URLs (MinIO and most self-hosted stores).
    #[arg(long)]
    pub path_style: bool,
    /// AWS profile to take credentials from.
    #[arg(long)]
    pub profile: Option<String>,
    /// Azure storage account of an az:// remote (else AZURE_STORAGE_ACCOUNT_NAME).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// `when-required` for stores that reject streamed checksums (default `always`).
    #[arg(long, value_enum, hide_possible_values = true, value_name = "MODE")]
    pub checksums: Option<crate::config::ChecksumMode>,
    /// Make it the default remote.
    #[arg(long)]
    pub default: bool,
    /// Replace a remote of the same name (all its settings).
    #[arg(short, long)]
    pub force: bool,
}

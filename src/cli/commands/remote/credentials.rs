//! `git data remote set-credentials NAME [--global] [--unset]`: an S3 remote's keys kept in
//! this clone's `.git/config` or, with `--global`, in the user's credentials file under the
//! remote's URL (an az:// remote's secret: `azure.rs`).
//!
//! Invariants: a secret is read from a no-echo prompt or standard input, never from the
//! command line, and never printed.

use super::azure;
use crate::cli::args::SetCredentialsArgs;
use crate::cli::context::Context;
use crate::config::{FileConfig, StaticKeys};
use crate::fs::textfile::Access;
use crate::hint::hinted;
use crate::sync::remote::redact;
use anyhow::Result;

/// Reads one line: from a no-echo prompt on a terminal, else from standard input.
pub(super) fn read_secret(prompt: &str) -> Result<String> {
    use std::io::IsTerminal;
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line
    };
    Ok(line.trim().to_string())
}

pub(super) fn set_credentials(
    ctx: &Context,
    file: &FileConfig,
    a: SetCredentialsArgs,
) -> Result<()> {
    if !file.remotes.contains_key(&a.name) {
        return Err(hinted(
            format!("no data remote named `{}`", a.name),
            "`git data remote list` shows them",
        ));
    }
    let url = &file.remotes[&a.name].url;
    if url.starts_with("az://") || url.starts_with("azure://") {
        return azure::set_credentials(ctx, url, &a);
    }
    if a.sas {
        return Err(hinted(
            format!("--sas applies to az:// remotes only (`{}` is {})", a.name, redact(url)),
            "drop --sas",
        ));
    }
    if a.global {
        return set_user_credentials(ctx, url, a);
    }
    let sub = format!("remote.{}", a.name);
    if a.unset {
        let none = |k| ("data", sub.as_str(), k, None);
        ctx.repo.write_local_config(
            &[none("accessKeyId"), none("secretAccessKey"), none("sessionToken")],
            Access::Shared,
        )?;
        if !ctx.global.quiet {
            println!("Removed the keys of `{}` from .git/config.", a.name);
        }
        return Ok(());
    }
    let keys = read_keys(&a)?;
    let id = &keys.access_key_id;
    ctx.repo.write_local_config(
        &[
            ("data", sub.as_str(), "accessKeyId", Some(id)),
            ("data", sub.as_str(), "secretAccessKey", Some(&keys.secret_access_key)),
            ("data", sub.as_str(), "sessionToken", keys.session_token.as_deref()),
        ],
        Access::Private,
    )?;
    if !ctx.global.quiet {
        println!(
            "Stored keys for `{}` in .git/config (access key {}); they are used before the AWS credential chain.",
            a.name,
            crate::config::mask_key_id(id)
        );
    }
    Ok(())
}

/// The keys from the flags, the terminal or standard input.
fn read_keys(a: &SetCredentialsArgs) -> Result<StaticKeys> {
    let id = match &a.access_key_id {
        Some(id) => id.clone(),
        None => read_secret("Access key id: ")?,
    };
    let secret = read_secret("Secret access key: ")?;
    if id.is_empty() || secret.is_empty() {
        return Err(hinted(
            "empty access key id or secret",
            "pass the secret on standard input, e.g. `git data remote set-credentials NAME --access-key-id ID < secret.txt`",
        ));
    }
    let token = if a.session_token { Some(read_secret("Session token: ")?) } else { None };
    Ok(StaticKeys { access_key_id: id, secret_access_key: secret, session_token: token })
}

/// `set-credentials --global`: the user's keys for the remote's URL, for all their clones.
fn set_user_credentials(ctx: &Context, url: &str, a: SetCredentialsArgs) -> Result<()> {
    let keys = if a.unset { None } else { Some(read_keys(&a)?) };
    let file = crate::git::credentials::set_user_keys(url, keys.as_ref())?;
    if !ctx.global.quiet {
        match keys {
            Some(k) => println!(
                "Stored your keys for {url} (and URLs under it) in {} (access key {}); a clone's own keys come first.",
                file.display(),
                crate::config::mask_key_id(&k.access_key_id)
            ),
            None => println!("Removed your keys for {url} from {}.", file.display()),
        }
    }
    Ok(())
}

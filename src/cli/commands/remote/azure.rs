//! `git data remote set-credentials NAME` for an az:// remote: the storage account key (or,
//! with `--sas`, a SAS token) kept in this clone's `.git/config`, or with `--global` in the
//! user's credentials file under the remote's URL.
//!
//! Invariants: the secret is read from a no-echo prompt or standard input, never from the
//! command line, and never printed; storing one kind removes the other, so what is used is
//! what was stored last.

use crate::cli::args::SetCredentialsArgs;
use crate::cli::context::Context;
use crate::config::AzureSecret;
use crate::fs::textfile::Access;
use crate::hint::hinted;
use anyhow::Result;

pub(super) fn set_credentials(ctx: &Context, url: &str, a: &SetCredentialsArgs) -> Result<()> {
    if a.access_key_id.is_some() || a.session_token {
        return Err(hinted(
            format!("--access-key-id and --session-token are for S3; `{}` is {url}", a.name),
            "an az:// remote takes a storage account key on standard input, or a SAS token with --sas",
        ));
    }
    let secret = if a.unset {
        None
    } else if a.sas {
        Some(AzureSecret::Sas(read("SAS token: ", "--sas < token.txt")?))
    } else {
        Some(AzureSecret::AccountKey(read("Storage account key: ", "< key.txt")?))
    };
    let quiet = ctx.global.quiet;
    if a.global {
        let file = crate::git::credentials::set_user_azure_secret(url, secret.as_ref())?;
        if !quiet {
            match &secret {
                Some(s) => println!(
                    "Stored your {} for {url} (and URLs under it) in {}; a clone's own comes first.",
                    what(s),
                    file.display()
                ),
                None => println!("Removed your Azure secret for {url} from {}.", file.display()),
            }
        }
        return Ok(());
    }
    let sub = format!("remote.{}", a.name);
    let (key, sas) = match &secret {
        Some(AzureSecret::AccountKey(k)) => (Some(k.as_str()), None),
        Some(AzureSecret::Sas(t)) => (None, Some(t.as_str())),
        None => (None, None),
    };
    ctx.repo.write_local_config(
        &[
            ("data", sub.as_str(), "azureAccountKey", key),
            ("data", sub.as_str(), "azureSasToken", sas),
        ],
        if secret.is_some() { Access::Private } else { Access::Shared },
    )?;
    if !quiet {
        match &secret {
            Some(s) => println!(
                "Stored the {} of `{}` in .git/config; it is used before the Azure credential chain.",
                what(s),
                a.name
            ),
            None => println!("Removed the Azure secret of `{}` from .git/config.", a.name),
        }
    }
    Ok(())
}

fn what(secret: &AzureSecret) -> &'static str {
    match secret {
        AzureSecret::AccountKey(_) => "storage account key",
        AzureSecret::Sas(_) => "SAS token",
    }
}

/// One non-empty secret from the terminal or standard input.
fn read(prompt: &str, example: &str) -> Result<String> {
    let secret = super::credentials::read_secret(prompt)?;
    if secret.is_empty() {
        return Err(hinted(
            "empty secret",
            format!(
                "pass it on standard input, e.g. `git data remote set-credentials NAME {example}`"
            ),
        ));
    }
    Ok(secret)
}

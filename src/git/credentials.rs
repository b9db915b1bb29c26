//! User-level S3 keys and Azure secrets (`git data remote set-credentials NAME --global`),
//! for people with many clones of the same bucket: one git-config-format file, readable by
//! its owner only, keyed by the remote's URL. A clone's own keys (`.git/config`) come first.
//!
//! Invariants: the file is written whole under git's lock protocol with mode 0600; a URL's
//! keys serve every remote whose URL is that URL or lies under it (`s3://bucket` serves
//! `s3://bucket/team`), the longest match winning; no secret is ever printed.

use super::{GitError, write_config_file};
use crate::config::StaticKeys;
use crate::fs::textfile::Access;
use gix::bstr::ByteSlice;
use std::path::PathBuf;

const SECTION: &str = "credentials";

/// The user's credentials file: `$XDG_CONFIG_HOME/git-data/credentials`, else
/// `~/.config/git-data/credentials`.
pub(crate) fn user_file() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|h| h.join(".config")))?;
    Some(base.join("git-data").join("credentials"))
}

/// What `pick` finds in the user's file, in the section of the longest stored URL that `url`
/// is or lies under (sections where `pick` finds nothing are passed over), with that URL.
fn longest_match<T>(
    url: &str,
    pick: impl Fn(&dyn Fn(&str) -> Option<String>) -> Option<T>,
) -> Option<(T, String)> {
    let path = user_file()?;
    if !path.exists() {
        return None;
    }
    let file = gix::config::File::from_path_no_includes(path, gix::config::Source::User).ok()?;
    let mut best: Option<(T, String)> = None;
    for section in file.sections_by_name(SECTION)? {
        let Some(stored) = section.header().subsection_name().map(|s| s.to_str_lossy()) else {
            continue;
        };
        let stored = stored.trim_end_matches('/').to_string();
        let under = url == stored
            || url.strip_prefix(stored.as_str()).is_some_and(|rest| rest.starts_with('/'));
        if !under || best.as_ref().is_some_and(|(_, b)| b.len() >= stored.len()) {
            continue;
        }
        let get = |k: &str| {
            section.value(k).map(|v| v.to_str_lossy().into_owned()).filter(|v| !v.is_empty())
        };
        if let Some(found) = pick(&get) {
            best = Some((found, stored));
        }
    }
    best
}

/// The user-level keys for a remote at `url`, with the URL they were stored for.
pub(crate) fn user_keys(url: &str) -> Option<(StaticKeys, String)> {
    longest_match(url, |get| {
        Some(StaticKeys {
            access_key_id: get("accessKeyId")?,
            secret_access_key: get("secretAccessKey")?,
            session_token: get("sessionToken"),
        })
    })
}

/// The user's credentials file, its directory created.
fn user_file_dir_made() -> Result<PathBuf, GitError> {
    let path = user_file().ok_or_else(|| {
        GitError::Other("neither XDG_CONFIG_HOME nor HOME is set: no place for user keys".into())
    })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| GitError::Other(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(path)
}

/// Stores (`Some`) or removes (`None`) the user-level keys for `url`; returns the file.
pub(crate) fn set_user_keys(url: &str, keys: Option<&StaticKeys>) -> Result<PathBuf, GitError> {
    let path = user_file_dir_made()?;
    let url = url.trim_end_matches('/');
    let edits = match keys {
        Some(k) => [
            (SECTION, url, "accessKeyId", Some(k.access_key_id.as_str())),
            (SECTION, url, "secretAccessKey", Some(k.secret_access_key.as_str())),
            (SECTION, url, "sessionToken", k.session_token.as_deref()),
        ],
        None => [
            (SECTION, url, "accessKeyId", None),
            (SECTION, url, "secretAccessKey", None),
            (SECTION, url, "sessionToken", None),
        ],
    };
    write_config_file(&path, &edits, Access::Private)?;
    Ok(path)
}

/// The user-level Azure secret (`azureAccountKey`, else `azureSasToken`) for a remote at `url`.
pub(crate) fn user_azure_secret(url: &str) -> Option<crate::config::AzureSecret> {
    use crate::config::AzureSecret;
    let found = longest_match(url, |get| {
        get("azureAccountKey")
            .map(AzureSecret::AccountKey)
            .or_else(|| get("azureSasToken").map(AzureSecret::Sas))
    });
    found.map(|(secret, _)| secret)
}

/// Stores (`Some`) or removes (`None`) the user-level Azure secret for `url`.
pub(crate) fn set_user_azure_secret(
    url: &str,
    secret: Option<&crate::config::AzureSecret>,
) -> Result<PathBuf, GitError> {
    use crate::config::AzureSecret;
    let path = user_file_dir_made()?;
    let url = url.trim_end_matches('/');
    let (key, sas) = match secret {
        Some(AzureSecret::AccountKey(k)) => (Some(k.as_str()), None),
        Some(AzureSecret::Sas(t)) => (None, Some(t.as_str())),
        None => (None, None),
    };
    let edits = [(SECTION, url, "azureAccountKey", key), (SECTION, url, "azureSasToken", sas)];
    write_config_file(&path, &edits, Access::Private)?;
    Ok(path)
}

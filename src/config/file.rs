//! The committed `.gitdata.yaml`: its sections as typed values, read with errors that carry
//! file, line and column, and written back whole.
//!
//! Invariant: the file never holds a secret; a remote's static keys come from git config or
//! the environment and are masked wherever they are shown.

use super::retry;
use super::retry::DurationSetting;
use super::{ConfigError, FILE_HEADER, FILE_NAME, LinkMode, parse_size};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One remote as written in `.gitdata.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RemoteEntry {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `when-required` for S3-compatible stores that reject the SDK's default checksums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksums: Option<ChecksumMode>,
    /// The Azure storage account of an `az://` remote (not a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// When the S3 client sends request checksums.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ChecksumMode {
    /// CRC32 on every upload and a SHA-256 on whole-object uploads (the default).
    #[default]
    Always,
    /// Only where the API requires one (for stores that reject streamed checksums).
    WhenRequired,
}

/// Access keys for one remote, kept in the repository's own `.git/config`.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKeys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticKeys({}, secret redacted)", mask_key_id(&self.access_key_id))
    }
}

/// The secret kept for an Azure remote in git config: a storage account key or a SAS token.
#[derive(Clone, PartialEq, Eq)]
pub enum AzureSecret {
    AccountKey(String),
    Sas(String),
}

impl std::fmt::Debug for AzureSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AzureSecret::AccountKey(_) => write!(f, "AccountKey(redacted)"),
            AzureSecret::Sas(_) => write!(f, "Sas(redacted)"),
        }
    }
}

/// An access key id shortened for display (`AKIA…WXYZ`); key ids are not secret, but a
/// shortened one is all a message needs.
pub fn mask_key_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "…".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckoutSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_max: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TransferSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "retry::retries_in_range")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_deadline: Option<DurationSetting>,
}

/// The large-file policy (`policy:`); evaluated by `crate::policy`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PolicySection {
    /// The largest blob that may be committed without git-data (default 5 MiB; `none` = off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_blob_size: Option<SizeSetting>,
    /// Patterns whose files must always be tracked, whatever their size.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub always_track: Vec<String>,
    /// Patterns exempt from the policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Set by `git data track --above`: new files over this size are tracked at commit time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_above: Option<SizeSetting>,
}

/// A size written as `5MiB`, `500 KB` or a number of bytes; `none`, `off` or `0` disable the
/// setting. Parsed while the YAML is read, so a bad value is reported with line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SizeSetting {
    /// As written, so that saving the file keeps the user's spelling.
    pub text: String,
    /// `None` when disabled.
    pub bytes: Option<u64>,
}

impl SizeSetting {
    pub fn parse(text: &str) -> Option<SizeSetting> {
        let t = text.trim();
        let bytes = match t.to_ascii_lowercase().as_str() {
            "none" | "off" | "false" | "0" => None,
            _ => Some(parse_size(t).filter(|n| *n > 0)?),
        };
        Some(SizeSetting { text: t.to_string(), bytes })
    }
}

impl Serialize for SizeSetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.text.parse::<u64>() {
            Ok(n) => s.serialize_u64(n),
            Err(_) => s.serialize_str(&self.text),
        }
    }
}

impl<'de> Deserialize<'de> for SizeSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
            Flag(bool),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Number(n) => n.to_string(),
            Raw::Text(t) => t,
            Raw::Flag(false) => "none".to_string(),
            Raw::Flag(true) => "true".to_string(),
        };
        SizeSetting::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid size `{text}`: expected a size such as 5MiB, 500KB or 1048576, or none"
            ))
        })
    }
}

/// The contents of `.gitdata.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_names"
    )]
    pub remotes: BTreeMap<String, RemoteEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_remote: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub checkout: CheckoutSection,
    #[serde(default, skip_serializing_if = "is_default")]
    pub transfer: TransferSection,
    #[serde(default, skip_serializing_if = "is_default")]
    pub policy: PolicySection,
}

/// A map of remotes in which a name given twice is an error (YAML would let the last win).
fn unique_names<'de, D>(deserializer: D) -> Result<BTreeMap<String, RemoteEntry>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Names;
    impl<'de> serde::de::Visitor<'de> for Names {
        type Value = BTreeMap<String, RemoteEntry>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("remotes by name")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((name, entry)) = map.next_entry::<String, RemoteEntry>()? {
                if out.contains_key(&name) {
                    return Err(serde::de::Error::custom(format!(
                        "remote `{name}` is defined twice; keep one definition"
                    )));
                }
                out.insert(name, entry);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Names)
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl FileConfig {
    /// Whether the team's default remote (as committed) is a Git LFS server: then tracked
    /// patterns get git-lfs's `filter=lfs`, so git-lfs users of the same server read the
    /// same files.
    pub fn lfs_server_default(&self) -> bool {
        let default = self.default_remote.as_ref().or_else(|| {
            let mut names = self.remotes.keys();
            names.next().filter(|_| self.remotes.len() == 1)
        });
        default.and_then(|n| self.remotes.get(n)).is_some_and(|r| r.url.starts_with("lfs+"))
    }

    /// Parses YAML text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<FileConfig, ConfigError> {
        if text.trim().is_empty() {
            return Ok(FileConfig::default());
        }
        serde_yaml::from_str(text).map_err(|e| match e.location() {
            Some(loc) => ConfigError::Syntax {
                file: file.to_string(),
                line: loc.line(),
                column: loc.column(),
                message: e.to_string().split(" at line ").next().unwrap_or_default().to_string(),
            },
            None => ConfigError::Invalid { file: file.to_string(), message: e.to_string() },
        })
    }

    /// Reads the file at `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => FileConfig::parse(&text, FILE_NAME),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
            Err(source) => Err(ConfigError::Io { path: path.to_path_buf(), source }),
        }
    }

    /// Writes the file whole or not at all (comments are not preserved; a header explains the
    /// file), keeping its mode; a new one gets the umask's, as it is committed. `tmp_dir` is
    /// the git directory's `data/tmp` (see [`crate::fs::textfile`]).
    pub fn save(&self, path: &Path, tmp_dir: &Path) -> Result<(), ConfigError> {
        let body = serde_yaml::to_string(self)
            .map_err(|e| ConfigError::Invalid { file: FILE_NAME.into(), message: e.to_string() })?;
        let body = if body.trim() == "{}" { String::new() } else { body };
        let text = format!("{FILE_HEADER}{body}");
        crate::fs::textfile::replace(
            path,
            text.as_bytes(),
            tmp_dir,
            crate::fs::textfile::Access::Shared,
        )
        .map_err(|source| ConfigError::Io { path: path.to_path_buf(), source })
    }
}

//! Configuration: the committed `.gitdata.yaml`, the machine's git config (`data.*` keys) and
//! the environment (`GIT_DATA_*`), resolved once into one typed [`Config`].
//!
//! Invariants: precedence is environment > git config > `.gitdata.yaml` > defaults; the
//! YAML file never holds a secret (credentials live in the environment, AWS profiles or the
//! repository's own `.git/config`); a syntax error is reported with file, line and column.

use crate::retry::settings as retry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = ".gitdata.yaml";
const FILE_HEADER: &str = "# git-data configuration, shared by the team (commit it).\n\
# Never put credentials here: they come from the environment, AWS profiles or .git/config.\n";

/// Default size up to which smudge writes cached files inline (larger ones go through the hooks).
pub const DEFAULT_INLINE_MAX: u64 = 1 << 20;
pub const DEFAULT_CONCURRENCY: usize = 8;
pub use crate::retry::settings::{DEFAULT_DEADLINE, DEFAULT_RETRIES, DurationSetting};
/// Default multipart part size for S3 uploads (S3 allows 5 MiB to 5 GiB, and 10,000 parts).
pub const DEFAULT_PART_SIZE: u64 = 16 << 20;
pub const MIN_PART_SIZE: u64 = 5 << 20;
/// See [`Config::list_threshold`]; measured in docs/s3.md.
pub const DEFAULT_LIST_THRESHOLD: usize = 64;

/// What goes wrong while reading configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}:{line}:{column}: {message}")]
    Syntax { file: String, line: usize, column: usize, message: String },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("cannot read {}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// How a checkout puts a cached object into the work tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LinkMode {
    /// A reflink (copy-on-write clone) where the file system supports it, else a copy.
    #[default]
    Auto,
    /// Always reflink; fall back to a copy with a warning.
    Reflink,
    /// A read-only hard link to the cache object: no extra disk, but edit by replacing.
    Hardlink,
    /// Always a full copy.
    Copy,
}

impl LinkMode {
    pub fn parse(text: &str) -> Option<LinkMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(LinkMode::Auto),
            "reflink" => Some(LinkMode::Reflink),
            "hardlink" => Some(LinkMode::Hardlink),
            "copy" => Some(LinkMode::Copy),
            _ => None,
        }
    }
}

impl fmt::Display for LinkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkMode::Auto => "auto",
            LinkMode::Reflink => "reflink",
            LinkMode::Hardlink => "hardlink",
            LinkMode::Copy => "copy",
        })
    }
}

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
    /// the git directory's `data/tmp` (see [`crate::textfile`]).
    pub fn save(&self, path: &Path, tmp_dir: &Path) -> Result<(), ConfigError> {
        let body = serde_yaml::to_string(self)
            .map_err(|e| ConfigError::Invalid { file: FILE_NAME.into(), message: e.to_string() })?;
        let body = if body.trim() == "{}" { String::new() } else { body };
        let text = format!("{FILE_HEADER}{body}");
        crate::textfile::replace(path, text.as_bytes(), tmp_dir, crate::textfile::Access::Shared)
            .map_err(|source| ConfigError::Io { path: path.to_path_buf(), source })
    }
}

/// Machine-local settings read from git config (`data.*`) and the environment.
#[derive(Clone, Debug, Default)]
pub struct LocalSettings {
    pub cache_dir: Option<String>,
    pub link_mode: Option<String>,
    pub inline_max: Option<String>,
    pub concurrency: Option<String>,
    pub default_remote: Option<String>,
    pub progress: Option<String>,
    pub list_threshold: Option<String>,
    pub retries: Option<String>,
    pub retry_deadline: Option<String>,
}

impl LocalSettings {
    /// Overlays `GIT_DATA_*` environment variables on values read from git config.
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        let pairs: [(&str, &mut Option<String>); 9] = [
            ("GIT_DATA_LIST_THRESHOLD", &mut self.list_threshold),
            ("GIT_DATA_CACHE_DIR", &mut self.cache_dir),
            ("GIT_DATA_LINK_MODE", &mut self.link_mode),
            ("GIT_DATA_INLINE_MAX", &mut self.inline_max),
            ("GIT_DATA_CONCURRENCY", &mut self.concurrency),
            ("GIT_DATA_REMOTE", &mut self.default_remote),
            ("GIT_DATA_PROGRESS", &mut self.progress),
            ("GIT_DATA_RETRIES", &mut self.retries),
            ("GIT_DATA_RETRY_DEADLINE", &mut self.retry_deadline),
        ];
        for (var, slot) in pairs {
            if let Some(v) = env(var).filter(|v| !v.is_empty()) {
                *slot = Some(v);
            }
        }
        self
    }
}

/// The resolved configuration every command receives.
#[derive(Clone, Debug)]
pub struct Config {
    pub file: FileConfig,
    pub file_path: PathBuf,
    pub link_mode: LinkMode,
    pub inline_max: u64,
    pub concurrency: usize,
    pub retries: u32,
    /// No retry wait starts that would end later than this after an operation's first attempt.
    pub retry_deadline: std::time::Duration,
    pub cache_dir: PathBuf,
    pub default_remote: Option<String>,
    pub progress: Option<bool>,
    pub part_size: u64,
    /// From this many unknown objects on, S3 existence checks list shard prefixes instead of
    /// asking for each object.
    pub list_threshold: usize,
    /// Access keys per remote name, from `.git/config` (never from `.gitdata.yaml`).
    pub keys: BTreeMap<String, StaticKeys>,
}

/// Parses a size such as `1MiB`, `500 KB` or `1048576`.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    t.parse::<u64>().ok().or_else(|| t.parse::<bytesize::ByteSize>().ok().map(|b| b.as_u64()))
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "always" => Some(true),
        "0" | "false" | "no" | "off" | "never" => Some(false),
        _ => None,
    }
}

impl Config {
    /// Resolves the configuration of a repository whose `.gitdata.yaml` is at `file_path`.
    pub fn resolve(
        file_path: PathBuf,
        default_cache: PathBuf,
        local: LocalSettings,
    ) -> Result<Config, ConfigError> {
        let file = FileConfig::load(&file_path)?;
        let invalid = |what: &str, value: &str, hint: &str| ConfigError::Invalid {
            file: what.to_string(),
            message: format!("invalid value `{value}`; {hint}"),
        };
        let link_mode = match &local.link_mode {
            Some(v) => LinkMode::parse(v).ok_or_else(|| {
                invalid("data.linkMode", v, "expected auto, reflink, hardlink or copy")
            })?,
            None => file.checkout.link.unwrap_or_default(),
        };
        let inline_text = local.inline_max.clone().or_else(|| file.checkout.inline_max.clone());
        let inline_max = match inline_text {
            Some(v) => parse_size(&v).ok_or_else(|| {
                invalid("checkout.inline-max", &v, "expected a size such as 1MiB")
            })?,
            None => DEFAULT_INLINE_MAX,
        };
        let concurrency = match &local.concurrency {
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| invalid("data.concurrency", v, "expected a positive number"))?,
            None => file.transfer.concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1),
        };
        let part_size = match &file.transfer.part_size {
            Some(v) => parse_size(v).filter(|n| *n >= MIN_PART_SIZE).ok_or_else(|| {
                invalid("transfer.part-size", v, "expected a size of at least 5MiB")
            })?,
            None => DEFAULT_PART_SIZE,
        };
        let retries = match (&local.retries, file.transfer.retries) {
            (Some(v), _) => retry::parse_retries(v)
                .ok_or_else(|| invalid("data.retries", v, retry::RETRIES_RANGE))?,
            (None, n) => n.unwrap_or(DEFAULT_RETRIES),
        };
        let retry_deadline = match (&local.retry_deadline, &file.transfer.retry_deadline) {
            (Some(v), _) => retry::parse_deadline(v)
                .ok_or_else(|| invalid("data.retryDeadline", v, retry::DEADLINE_RANGE))?,
            (None, d) => d.as_ref().map_or(DEFAULT_DEADLINE, |d| d.value),
        };
        let cache_dir = local.cache_dir.as_deref().map(expand_home).unwrap_or(default_cache);
        let default_remote =
            local.default_remote.clone().or_else(|| file.default_remote.clone()).or_else(|| {
                (file.remotes.len() == 1).then(|| file.remotes.keys().next().cloned()).flatten()
            });
        Ok(Config {
            retries,
            retry_deadline,
            progress: local.progress.as_deref().and_then(parse_bool),
            file,
            file_path,
            link_mode,
            inline_max,
            concurrency,
            cache_dir,
            default_remote,
            part_size,
            list_threshold: match &local.list_threshold {
                Some(v) => v.trim().parse().map_err(|_| {
                    invalid("data.listThreshold", v, "expected a number of objects")
                })?,
                None => DEFAULT_LIST_THRESHOLD,
            },
            keys: BTreeMap::new(),
        })
    }
}

/// Expands a leading `~/` to the home directory.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_file() {
        let text = "remotes:\n  storage:\n    url: /mnt/team\n  ovh:\n    url: s3://b/p\n    endpoint: https://s3.gra.io.cloud.ovh.net\n    region: gra\n    path-style: true\ndefault-remote: ovh\ncheckout:\n  link: hardlink\n  inline-max: 2MiB\ntransfer:\n  concurrency: 16\n";
        let c = FileConfig::parse(text, FILE_NAME).unwrap();
        assert_eq!(c.remotes["storage"].url, "/mnt/team");
        assert_eq!(c.remotes["ovh"].region.as_deref(), Some("gra"));
        assert_eq!(c.remotes["ovh"].path_style, Some(true));
        assert_eq!(c.default_remote.as_deref(), Some("ovh"));
        assert_eq!(c.checkout.link, Some(LinkMode::Hardlink));
        assert_eq!(c.transfer.concurrency, Some(16));
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err =
            FileConfig::parse("remotes:\n  storage:\n    url: [unclosed\n", FILE_NAME).unwrap_err();
        match err {
            ConfigError::Syntax { line, column, .. } => {
                assert!(line >= 3 && column > 0, "{line}:{column}")
            }
            other => panic!("{other:?}"),
        }
        let err = FileConfig::parse("remote:\n  x: 1\n", FILE_NAME).unwrap_err().to_string();
        assert!(err.starts_with(".gitdata.yaml:1:1: unknown field `remote`"), "{err}");
    }

    #[test]
    fn save_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut c = FileConfig::default();
        c.remotes
            .insert("storage".into(), RemoteEntry { url: "/mnt/x".into(), ..Default::default() });
        c.default_remote = Some("storage".into());
        c.save(&path, &dir.path().join("tmp")).unwrap();
        assert_eq!(FileConfig::load(&path).unwrap(), c);
        FileConfig::default().save(&path, &dir.path().join("tmp")).unwrap();
        assert_eq!(FileConfig::load(&path).unwrap(), FileConfig::default());
    }

    #[test]
    fn precedence_env_over_git_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "checkout:\n  link: copy\n  inline-max: 4KiB\n").unwrap();
        let c = Config::resolve(path.clone(), "/c".into(), LocalSettings::default()).unwrap();
        assert_eq!((c.link_mode, c.inline_max), (LinkMode::Copy, 4096));
        let local = LocalSettings { link_mode: Some("hardlink".into()), ..Default::default() };
        let c = Config::resolve(path.clone(), "/c".into(), local.clone()).unwrap();
        assert_eq!(c.link_mode, LinkMode::Hardlink);
        let env = |k: &str| (k == "GIT_DATA_LINK_MODE").then(|| "reflink".to_string());
        let c = Config::resolve(path.clone(), "/c".into(), local.with_env(env)).unwrap();
        assert_eq!(c.link_mode, LinkMode::Reflink);
        let bad = LocalSettings { link_mode: Some("symlink".into()), ..Default::default() };
        assert!(Config::resolve(path, "/c".into(), bad).is_err());
    }

    #[test]
    fn policy_section() {
        let text = "policy:\n  max-blob-size: 10MiB\n  always-track: [\"*.pkl\"]\n  allow: [docs/logo.png]\n  track-above: 1048576\n";
        let c = FileConfig::parse(text, FILE_NAME).unwrap();
        assert_eq!(c.policy.max_blob_size.as_ref().and_then(|s| s.bytes), Some(10 << 20));
        assert_eq!(c.policy.track_above.as_ref().and_then(|s| s.bytes), Some(1 << 20));
        assert_eq!(c.policy.always_track, vec!["*.pkl"]);
        let off = FileConfig::parse("policy:\n  max-blob-size: none\n", FILE_NAME).unwrap();
        assert_eq!(off.policy.max_blob_size.unwrap().bytes, None);
        let zero = FileConfig::parse("policy:\n  max-blob-size: 0\n", FILE_NAME).unwrap();
        assert_eq!(zero.policy.max_blob_size.unwrap().bytes, None);
        let err = FileConfig::parse("policy:\n  max-blob-size: lots\n", FILE_NAME).unwrap_err();
        let err = err.to_string();
        assert!(
            err.starts_with(".gitdata.yaml:2:") && err.contains("invalid size `lots`"),
            "{err}"
        );
        let err = FileConfig::parse("policy:\n  max-size: 1\n", FILE_NAME).unwrap_err();
        assert!(err.to_string().contains("unknown field `max-size`"), "{err}");
        // saving keeps the spelling
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        c.save(&path, &dir.path().join("tmp")).unwrap();
        assert_eq!(FileConfig::load(&path).unwrap(), c);
        let saved = std::fs::read_to_string(&path).unwrap();
        assert!(saved.contains("max-blob-size: 10MiB") && saved.contains("track-above: 1048576"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("1MiB"), Some(1 << 20));
        assert_eq!(parse_size("5 MB"), Some(5_000_000));
        assert_eq!(parse_size("lots"), None);
    }
}

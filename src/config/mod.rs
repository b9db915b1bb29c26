//! Configuration: the committed `.gitdata.yaml`, the machine's git config (`data.*` keys) and
//! the environment (`GIT_DATA_*`), resolved once into one typed [`Config`].
//!
//! Invariants: precedence is environment > git config > `.gitdata.yaml` > defaults; the
//! YAML file never holds a secret (credentials live in the environment, AWS profiles or the
//! repository's own `.git/config`); a syntax error is reported with file, line and column.

mod file;
pub mod retry;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub const FILE_NAME: &str = ".gitdata.yaml";
const FILE_HEADER: &str = "# git-data configuration, shared by the team (commit it).\n\
# Never put credentials here: they come from the environment, AWS profiles or .git/config.\n";

/// Default size up to which smudge writes cached files inline (larger ones go through the hooks).
pub const DEFAULT_INLINE_MAX: u64 = 1 << 20;
pub const DEFAULT_CONCURRENCY: usize = 8;
/// See [`Config::prune_recent_days`]: git-lfs's default window of recent refs (7 days).
pub const DEFAULT_PRUNE_RECENT_DAYS: u64 = 7;
pub use file::{
    AzureSecret, CheckoutSection, ChecksumMode, FileConfig, PolicySection, RemoteEntry,
    SizeSetting, StaticKeys, TransferSection, mask_key_id,
};
pub use retry::{DEFAULT_DEADLINE, DEFAULT_RETRIES, DurationSetting};
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
    pub skip_smudge: Option<String>,
    pub fetch_include: Option<String>,
    pub fetch_exclude: Option<String>,
    pub prune_recent_days: Option<String>,
}

/// What turns smudging off: ours, then git-lfs's spelling (for teams switching over).
const SKIP_SMUDGE_VARS: [&str; 2] = ["GIT_DATA_SKIP_SMUDGE", "GIT_LFS_SKIP_SMUDGE"];

impl LocalSettings {
    /// Overlays `GIT_DATA_*` environment variables on values read from git config.
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        let pairs: [(&str, &mut Option<String>); 13] = [
            ("GIT_DATA_LIST_THRESHOLD", &mut self.list_threshold),
            ("GIT_DATA_CACHE_DIR", &mut self.cache_dir),
            ("GIT_DATA_LINK_MODE", &mut self.link_mode),
            ("GIT_DATA_INLINE_MAX", &mut self.inline_max),
            ("GIT_DATA_CONCURRENCY", &mut self.concurrency),
            ("GIT_DATA_REMOTE", &mut self.default_remote),
            ("GIT_DATA_PROGRESS", &mut self.progress),
            ("GIT_DATA_RETRIES", &mut self.retries),
            ("GIT_DATA_RETRY_DEADLINE", &mut self.retry_deadline),
            (SKIP_SMUDGE_VARS[0], &mut self.skip_smudge),
            ("GIT_DATA_FETCH_INCLUDE", &mut self.fetch_include),
            ("GIT_DATA_FETCH_EXCLUDE", &mut self.fetch_exclude),
            ("GIT_DATA_PRUNE_RECENT_DAYS", &mut self.prune_recent_days),
        ];
        for (var, slot) in pairs {
            if let Some(v) = env(var).filter(|v| !v.is_empty()) {
                *slot = Some(v);
            }
        }
        if env(SKIP_SMUDGE_VARS[0]).is_none_or(|v| v.is_empty())
            && let Some(v) = env(SKIP_SMUDGE_VARS[1]).filter(|v| !v.is_empty())
        {
            self.skip_smudge = Some(v);
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
    /// Where each remote's keys in `keys` come from (for `git data env`).
    pub key_sources: BTreeMap<String, String>,
    /// The account key or SAS token per Azure remote name, from git config.
    pub azure_secrets: BTreeMap<String, AzureSecret>,
    /// Checkouts leave pointer files and never download (`GIT_DATA_SKIP_SMUDGE`, or git-lfs's
    /// `GIT_LFS_SKIP_SMUDGE`; `data.skipSmudge` in git config): for CI jobs that need no
    /// data, or only the part `git data pull` fetches.
    pub skip_smudge: bool,
    /// The files checkouts and `pull`/`fetch` get data for, unless flags say otherwise
    /// (`data.fetchInclude` / `data.fetchExclude`: comma-separated patterns).
    pub fetch_include: Vec<String>,
    pub fetch_exclude: Vec<String>,
    /// `git data prune` keeps the data of local commits made in the last this many days
    /// (`data.pruneRecentDays`).
    pub prune_recent_days: u64,
}

/// Parses a size such as `1MiB`, `500 KB` or `1048576`.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    t.parse::<u64>().ok().or_else(|| t.parse::<bytesize::ByteSize>().ok().map(|b| b.as_u64()))
}

/// The items of a comma-separated value (`data/raw/**, *.csv`), empty ones left out.
fn split_list(value: Option<String>) -> Vec<String> {
    let items = value.map(|v| v.split(',').map(|p| p.trim().to_string()).collect::<Vec<_>>());
    items.unwrap_or_default().into_iter().filter(|p| !p.is_empty()).collect()
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
        Config::resolve_with(file, file_path, default_cache, local)
    }

    /// Resolves the configuration from `file`, read elsewhere than `file_path` (where
    /// commands that change it write).
    pub fn resolve_with(
        file: FileConfig,
        file_path: PathBuf,
        default_cache: PathBuf,
        local: LocalSettings,
    ) -> Result<Config, ConfigError> {
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
            key_sources: BTreeMap::new(),
            azure_secrets: BTreeMap::new(),
            skip_smudge: match &local.skip_smudge {
                Some(v) => parse_bool(v).ok_or_else(|| {
                    invalid("GIT_DATA_SKIP_SMUDGE", v, "expected 1 or 0 (true or false)")
                })?,
                None => false,
            },
            fetch_include: split_list(local.fetch_include.clone()),
            fetch_exclude: split_list(local.fetch_exclude.clone()),
            prune_recent_days: match &local.prune_recent_days {
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| invalid("data.pruneRecentDays", v, "expected a number of days"))?,
                None => DEFAULT_PRUNE_RECENT_DAYS,
            },
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

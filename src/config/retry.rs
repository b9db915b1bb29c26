//! The retry settings as written by users: `transfer.retries` and `transfer.retry-deadline`
//! in `.gitdata.yaml`, `data.retries` and `data.retryDeadline` in git config.
//!
//! Invariants: a value out of range is an error that names the value and the allowed range
//! (the caller adds the key), never a value silently clamped; YAML values are checked while
//! the file is read, so their errors carry file, line and column; a duration keeps its
//! spelling when the file is saved again.

use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const DEFAULT_RETRIES: u32 = 4;
/// More retries than this only make a failure take longer to be reported.
pub const MAX_RETRIES: u32 = 10;
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);
const MIN_DEADLINE: Duration = Duration::from_secs(1);
const MAX_DEADLINE: Duration = Duration::from_secs(3600);

/// Why a retry count is refused (after "invalid value `X`; ").
pub const RETRIES_RANGE: &str = "expected a number of retries from 0 to 10";
/// Why a deadline is refused (after "invalid value `X`; ").
pub const DEADLINE_RANGE: &str =
    "expected a duration from 1s to 1h, such as 60s, 2m or 90 (seconds)";

/// A retry count from git config or the environment.
pub fn parse_retries(text: &str) -> Option<u32> {
    text.trim().parse::<u32>().ok().filter(|n| *n <= MAX_RETRIES)
}

/// Reads `transfer.retries`, refusing values outside 0 to [`MAX_RETRIES`] (for serde's
/// `deserialize_with`).
pub fn retries_in_range<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    /// Checks the number while the parser stands on it, so the error gets the key's path.
    struct Count;
    impl serde::de::Visitor<'_> for Count {
        type Value = u32;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(RETRIES_RANGE.trim_start_matches("expected "))
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<u32, E> {
            match u32::try_from(n).ok().filter(|n| *n <= MAX_RETRIES) {
                Some(n) => Ok(n),
                None => Err(E::custom(format!("invalid value `{n}`; {RETRIES_RANGE}"))),
            }
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<u32, E> {
            self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
        }
    }
    d.deserialize_any(Count).map(Some)
}

/// A duration such as `60s`, `2m`, `500ms` or a number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim().to_ascii_lowercase();
    let (number, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t.as_str(), "s"),
    };
    let value: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" | "sec" | "secs" | "second" | "seconds" => value,
        "m" | "min" | "mins" | "minute" | "minutes" => value * 60.0,
        "h" | "hour" | "hours" => value * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// A retry deadline within 1 s to 1 h.
pub fn parse_deadline(text: &str) -> Option<Duration> {
    parse_duration(text).filter(|d| (MIN_DEADLINE..=MAX_DEADLINE).contains(d))
}

/// `transfer.retry-deadline` as written in `.gitdata.yaml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationSetting {
    /// As written, so that saving the file keeps the user's spelling.
    pub text: String,
    pub value: Duration,
}

impl Serialize for DurationSetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.text.parse::<u64>() {
            Ok(n) => s.serialize_u64(n),
            Err(_) => s.serialize_str(&self.text),
        }
    }
}

impl<'de> Deserialize<'de> for DurationSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Checks the value while the parser stands on it, so the error gets the key's path.
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = DurationSetting;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(DEADLINE_RANGE.trim_start_matches("expected "))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<DurationSetting, E> {
                let text = text.trim().to_string();
                match parse_deadline(&text) {
                    Some(value) => Ok(DurationSetting { text, value }),
                    None => Err(E::custom(format!("invalid value `{text}`; {DEADLINE_RANGE}"))),
                }
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<DurationSetting, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<DurationSetting, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<DurationSetting, E> {
                self.visit_str(&n.to_string())
            }
        }
        d.deserialize_any(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5 s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_deadline("500ms"), None, "under the 1 s floor");
        assert_eq!(parse_deadline("2h"), None, "over the 1 h ceiling");
        assert_eq!(parse_deadline("1h"), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn resolved_with_git_config_over_the_file() {
        use crate::config::{Config, FILE_NAME, LocalSettings};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let resolve = |local: LocalSettings| Config::resolve(path.clone(), "/c".into(), local);
        let c = resolve(LocalSettings::default()).unwrap();
        assert_eq!((c.retries, c.retry_deadline), (DEFAULT_RETRIES, DEFAULT_DEADLINE));
        std::fs::write(&path, "transfer:\n  retries: 2\n  retry-deadline: 90\n").unwrap();
        let c = resolve(LocalSettings::default()).unwrap();
        assert_eq!((c.retries, c.retry_deadline), (2, Duration::from_secs(90)));
        let local = LocalSettings {
            retries: Some("7".into()),
            retry_deadline: Some("2m".into()),
            ..Default::default()
        };
        let c = resolve(local).unwrap();
        assert_eq!((c.retries, c.retry_deadline), (7, Duration::from_secs(120)));
        let env = |k: &str| (k == "GIT_DATA_RETRY_DEADLINE").then(|| "5s".to_string());
        let c = resolve(LocalSettings::default().with_env(env)).unwrap();
        assert_eq!(c.retry_deadline, Duration::from_secs(5));
        let bad = LocalSettings { retries: Some("50".into()), ..Default::default() };
        let err = resolve(bad).unwrap_err().to_string();
        assert!(err.contains("data.retries") && err.contains("`50`") && err.contains("0 to 10"));
        std::fs::write(&path, "transfer:\n  retries: 11\n").unwrap();
        let err = resolve(LocalSettings::default()).unwrap_err().to_string();
        assert!(
            err.starts_with(".gitdata.yaml:2:12: transfer.retries: invalid value `11`"),
            "{err}"
        );
    }

    #[test]
    fn retry_counts() {
        assert_eq!(parse_retries("0"), Some(0));
        assert_eq!(parse_retries(" 10 "), Some(10));
        assert_eq!(parse_retries("11"), None);
        assert_eq!(parse_retries("-1"), None);
        assert_eq!(parse_retries("many"), None);
    }
}

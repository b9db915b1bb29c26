//! `git-lfs-authenticate` over SSH, for a Git LFS server reached through an SSH git remote:
//! `ssh [-p PORT] USER@HOST git-lfs-authenticate PATH upload|download` prints JSON
//! `{"href", "header", "expires_in" | "expires_at"}`: the endpoint to use and the headers
//! (a token) to send with it. The SSH program is git's: `GIT_SSH_COMMAND`, `GIT_SSH`,
//! `core.sshCommand`, else `ssh` (OpenSSH's `-p` for the port).
//!
//! Invariant: the headers are secrets: they are kept in memory only, and an answer is reused
//! until 5 seconds before it expires (one SSH run per operation, not one per object).

use super::endpoint::Ssh;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the server granted.
#[derive(Clone)]
pub(crate) struct Grant {
    /// The endpoint to use instead of the derived one.
    pub href: Option<String>,
    pub headers: Vec<(String, String)>,
    /// When to ask again; `None`: good for the whole process.
    pub renew_at: Option<Instant>,
}

impl Grant {
    pub(crate) fn fresh(&self) -> bool {
        self.renew_at.is_none_or(|t| Instant::now() < t)
    }
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    href: Option<String>,
    #[serde(default)]
    header: HashMap<String, String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    expires_at: Option<String>,
}

/// The SSH program and the arguments that come before ours, as git chooses them.
fn ssh_program(base: &Path) -> Command {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let configured = || {
        let out = crate::git::git_command()
            .current_dir(base)
            .args(["config", "--get", "core.sshCommand"])
            .output()
            .ok()?;
        let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !v.is_empty()).then_some(v)
    };
    if let Some(line) = env("GIT_SSH_COMMAND").or_else(configured) {
        // a shell command line, as git runs it: the arguments follow it
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &format!("{line} \"$@\""), "ssh"]);
        return cmd;
    }
    Command::new(env("GIT_SSH").unwrap_or_else(|| "ssh".to_string()))
}

/// Runs `git-lfs-authenticate` for `operation` (`upload` or `download`).
pub(crate) fn authenticate(base: &Path, ssh: &Ssh, operation: &str) -> Result<Grant, String> {
    let mut cmd = ssh_program(base);
    if let Some(port) = &ssh.port {
        cmd.args(["-p", port]);
    }
    cmd.args([ssh.user_host.as_str(), "git-lfs-authenticate", ssh.path.as_str(), operation]);
    let port = ssh.port.as_ref().map(|p| format!("-p {p} ")).unwrap_or_default();
    let shown =
        format!("ssh {port}{} git-lfs-authenticate {} {operation}", ssh.user_host, ssh.path);
    let out = cmd
        .current_dir(base)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("`{shown}` failed: {}", stderr.trim()));
    }
    let reply: Reply = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("`{shown}` printed no git-lfs-authenticate JSON ({e})"))?;
    let expires = match (reply.expires_in, reply.expires_at.as_deref()) {
        (Some(secs), _) => Some(Duration::from_secs(secs.max(0) as u64)),
        (None, Some(at)) => {
            Some(until(at).ok_or_else(|| format!("`{shown}`: bad expires_at `{at}`"))?)
        }
        (None, None) => None,
    };
    Ok(Grant {
        href: reply.href.filter(|h| !h.is_empty()).map(|h| h.trim_end_matches('/').to_string()),
        headers: reply.header.into_iter().collect(),
        renew_at: expires.map(|d| Instant::now() + d.saturating_sub(Duration::from_secs(5))),
    })
}

/// The time from now until an RFC 3339 instant (`2026-05-04T12:34:56Z`, `…+02:00`, with or
/// without fractions); zero when it is past.
pub(crate) fn until(at: &str) -> Option<Duration> {
    let when = unix_seconds(at)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(Duration::from_secs((when - now).max(0) as u64))
}

fn unix_seconds(at: &str) -> Option<i64> {
    let num = |s: &str| s.parse::<i64>().ok();
    let (date, time) = at.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let zone_at = time.find(['Z', 'z', '+', '-'])?;
    let (clock, zone) = time.split_at(zone_at);
    let mut c = clock.split('.').next()?.splitn(3, ':');
    let (hh, mm, ss) = (num(c.next()?)?, num(c.next()?)?, num(c.next()?)?);
    let offset = match zone {
        "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (oh, om) = z[1..].split_once(':')?;
            sign * (num(oh)? * 3600 + num(om)? * 60)
        }
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse)
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_instants() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(unix_seconds("2026-05-04T12:34:56.789Z"), Some(1_777_898_096));
        assert_eq!(unix_seconds("2026-05-04T14:34:56+02:00"), Some(1_777_898_096));
        assert_eq!(unix_seconds("yesterday"), None);
        assert_eq!(until("2001-01-01T00:00:00Z"), Some(Duration::ZERO));
    }
}

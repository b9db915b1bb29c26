//! Where a Git LFS server is. An `lfs+https://…` remote names its endpoint outright; an
//! `lfs+REMOTE` one (`lfs+origin`) uses the server git-lfs would use for that git remote of
//! each clone: `lfs.url` (git config, then the committed `.lfsconfig`), then
//! `remote.REMOTE.lfsurl` (same places), else derived from the remote's URL:
//! `https://h/o/r[.git]` → `https://h/o/r.git/info/lfs`, and an SSH remote (`git@h:o/r.git`,
//! `ssh://[user@]h[:port]/o/r.git`) → `https://h/o/r.git/info/lfs` with
//! `git-lfs-authenticate` run over SSH for the real URL and a token.
//!
//! Invariant: an endpoint never carries user or password (`user@` of a git remote's URL is
//! dropped from the HTTP URL; credentials come from git's credential helpers).

use crate::git::git_command;
use std::path::Path;

/// An SSH account and repository path, for `ssh [-p PORT] USER@HOST git-lfs-authenticate PATH OP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ssh {
    pub user_host: String,
    pub port: Option<String>,
    pub path: String,
}

/// A Git LFS endpoint: the Batch API lives at `{url}/objects/batch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub url: String,
    /// Set when the server is reached through an SSH git remote.
    pub ssh: Option<Ssh>,
}

/// Why no endpoint was found, and how to give one.
#[derive(Debug)]
pub(crate) struct NotFound {
    pub message: String,
    pub hint: String,
}

/// The endpoint of git remote `remote` in the repository whose work tree is `base`.
pub(crate) fn of_git_remote(remote: &str, base: &Path) -> Result<Endpoint, NotFound> {
    let lfsurl = format!("remote.{remote}.lfsurl");
    for key in ["lfs.url", lfsurl.as_str()] {
        for file in [None, Some(".lfsconfig")] {
            if let Some(url) = config(base, file, key) {
                let source = file.map_or(format!("git config {key}"), |f| format!("{key} in {f}"));
                return configured(&url).map_err(|why| NotFound {
                    message: format!("{source} is `{}`: {why}", super::redact(&url)),
                    hint: "set it to the LFS endpoint, e.g. https://HOST/ORG/REPO.git/info/lfs"
                        .into(),
                });
            }
        }
    }
    let out = git_command().current_dir(base).args(["remote", "get-url", remote]).output();
    let url = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => {
            return Err(NotFound {
                message: format!("this repository has no git remote `{remote}`"),
                hint: format!(
                    "add it (`git remote add {remote} URL`), or name another: `lfs+REMOTE` \
                     (`git remote -v` lists them)"
                ),
            });
        }
    };
    from_clone_url(&url).map_err(|why| NotFound {
        message: format!("git remote `{remote}` is `{}`: {why}", super::redact(&url)),
        hint: format!(
            "name the server: `git config lfs.url https://HOST/ORG/REPO.git/info/lfs` (or \
             commit it in .lfsconfig, or set remote.{remote}.lfsurl), as for git-lfs"
        ),
    })
}

/// One git config value in `base` (or in `file` there), `None` when unset.
fn config(base: &Path, file: Option<&str>, key: &str) -> Option<String> {
    let mut cmd = git_command();
    cmd.current_dir(base).arg("config");
    if let Some(f) = file {
        if !base.join(f).is_file() {
            return None;
        }
        cmd.args(["--file", f]);
    }
    let out = cmd.args(["--get", key]).output().ok()?;
    let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !value.is_empty()).then_some(value)
}

/// An endpoint as configured (`lfs.url`, `lfsurl`): an HTTP URL is used as it is, an SSH one
/// as git-lfs does.
fn configured(url: &str) -> Result<Endpoint, String> {
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(Endpoint {
            url: without_user(url).trim_end_matches('/').to_string(),
            ssh: None,
        });
    }
    from_clone_url(url)
}

/// The endpoint git-lfs derives from a git remote's URL.
pub(crate) fn from_clone_url(url: &str) -> Result<Endpoint, String> {
    let url = url.trim_end_matches('/');
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(Endpoint { url: info_lfs(&without_user(url)), ssh: None });
    }
    let ssh = ["ssh://", "git+ssh://", "ssh+git://"].iter().find_map(|p| url.strip_prefix(p));
    let (authority, path, port) = if let Some(rest) = ssh {
        let (authority, path) = rest.split_once('/').ok_or("it has no repository path")?;
        let (authority, port) = match authority.rsplit_once(':') {
            Some((a, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                (a, Some(p.to_string()))
            }
            _ => (authority, None),
        };
        (authority, path.trim_start_matches('/'), port)
    } else if let Some((authority, path)) = scp_like(url) {
        (authority, path, None)
    } else if url.contains("://") {
        return Err("git-lfs cannot derive an LFS server from this kind of URL".into());
    } else {
        return Err("it is a local path, which has no Git LFS server".into());
    };
    if authority.is_empty() || path.is_empty() {
        return Err("it has no host or no repository path".into());
    }
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Ok(Endpoint {
        url: info_lfs(&format!("https://{host}/{path}")),
        ssh: Some(Ssh { user_host: authority.to_string(), port, path: path.to_string() }),
    })
}

/// `[user@]host:path` (git's scp-like syntax): no `://`, and a colon before any slash.
fn scp_like(url: &str) -> Option<(&str, &str)> {
    if url.contains("://") {
        return None;
    }
    let colon = url.find(':')?;
    if url[..colon].contains('/') {
        return None;
    }
    Some((&url[..colon], &url[colon + 1..]))
}

/// `…/repo.git/info/lfs` from a repository URL with or without `.git`.
fn info_lfs(repo: &str) -> String {
    let repo = repo.trim_end_matches('/');
    if repo.ends_with(".git") { format!("{repo}/info/lfs") } else { format!("{repo}.git/info/lfs") }
}

/// The URL without `user[:password]@`.
fn without_user(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else { return url.to_string() };
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}{}", &url[..start], &url[start + at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> String {
        from_clone_url(u).unwrap().url
    }

    #[test]
    fn derived_as_git_lfs_does() {
        assert_eq!(url("https://h/o/r"), "https://h/o/r.git/info/lfs");
        assert_eq!(url("https://h/o/r.git/"), "https://h/o/r.git/info/lfs");
        assert_eq!(url("http://u:p@h:8080/o/r.git"), "http://h:8080/o/r.git/info/lfs");
        let scp = from_clone_url("git@h.example:o/r.git").unwrap();
        assert_eq!(scp.url, "https://h.example/o/r.git/info/lfs");
        let ssh = scp.ssh.unwrap();
        assert_eq!((ssh.user_host.as_str(), ssh.path.as_str()), ("git@h.example", "o/r.git"));
        assert_eq!(ssh.port, None);
        let ssh = from_clone_url("ssh://git@h:2222/o/r").unwrap();
        assert_eq!(ssh.url, "https://h/o/r.git/info/lfs");
        let meta = ssh.ssh.unwrap();
        assert_eq!(
            (meta.user_host, meta.port, meta.path),
            ("git@h".into(), Some("2222".into()), "o/r".into())
        );
        assert_eq!(url("git+ssh://h/o/r.git"), "https://h/o/r.git/info/lfs");
        for local in ["/srv/r.git", "../r.git", "file:///srv/r.git", "ssh://h"] {
            assert!(from_clone_url(local).is_err(), "{local}");
        }
        assert!(from_clone_url("/srv/r.git").unwrap_err().contains("local path"));
    }

    #[test]
    fn configured_urls_are_used_as_they_are() {
        let e = configured("https://lfs.example/custom/").unwrap();
        assert_eq!(e, Endpoint { url: "https://lfs.example/custom".into(), ssh: None });
        assert!(configured("git@h:o/r.git").unwrap().ssh.is_some());
    }
}

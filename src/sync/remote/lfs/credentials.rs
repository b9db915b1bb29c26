//! Credentials for a Git LFS server from git's own credential helpers, through
//! `git credential fill|approve|reject` (git's credential protocol: protocol, host and path;
//! git drops the path unless `credential.useHttpPath` is set, so that setting is honoured).
//!
//! Invariants: a secret only ever travels on a pipe to git and in an `Authorization`
//! header, never in a message or an argument; git may prompt only when the user sits at a
//! terminal (otherwise `GIT_TERMINAL_PROMPT=0`), so scripts, tests and CI never hang on a prompt.

use crate::git::{git_command, run_git_input};
use base64::Engine;
use std::io::IsTerminal;
use std::path::Path;

/// A user name and password (or token) from a credential helper.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Creds {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Creds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Creds({}, password redacted)", self.username)
    }
}

impl Creds {
    /// The `Authorization` header value (Basic).
    pub(crate) fn header(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
    }
}

/// The credential protocol's description of `url` (no user or secret in it).
fn describe(url: &str) -> String {
    let (protocol, rest) = url.split_once("://").unwrap_or(("https", url));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut text = format!("protocol={protocol}\nhost={host}\n");
    if !path.is_empty() {
        text.push_str(&format!("path={path}\n"));
    }
    text
}

/// `git credential ACTION` in `base`, fed `input`.
fn credential(base: &Path, action: &str, input: String) -> Result<String, String> {
    let mut cmd = git_command();
    cmd.current_dir(base).args(["credential", action]);
    // git prompts on the terminal (/dev/tty, not our pipes) when no helper has the
    // credentials: allowed when the user watches (stderr is a terminal, as in a `git push`
    // whose pre-push hook runs us), never in scripts, CI and tests
    if action == "fill" && std::io::stderr().is_terminal() {
        match std::env::var_os("GIT_TERMINAL_PROMPT") {
            Some(v) => cmd.env("GIT_TERMINAL_PROMPT", v),
            None => cmd.env_remove("GIT_TERMINAL_PROMPT"),
        };
    }
    run_git_input(&mut cmd, input.into_bytes()).map_err(|e| e.to_string())
}

/// Asks git's credential helpers (or the user, on a terminal) for the credentials of `url`.
pub(crate) fn fill(base: &Path, url: &str) -> Result<Creds, String> {
    let out = credential(base, "fill", describe(url))?;
    let field = |name: &str| {
        out.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
    };
    match (field("username"), field("password")) {
        (Some(u), Some(p)) if !p.is_empty() => {
            Ok(Creds { username: u.to_string(), password: p.to_string() })
        }
        _ => Err("git's credential helpers gave no password".into()),
    }
}

/// Tells the helpers that `creds` worked (`approve`) or were refused (`reject`); a helper
/// that fails here costs nothing but its memory, so failures are ignored.
pub(crate) fn report(base: &Path, url: &str, creds: &Creds, worked: bool) {
    let input =
        format!("{}username={}\npassword={}\n", describe(url), creds.username, creds.password);
    let _ = credential(base, if worked { "approve" } else { "reject" }, input);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_follow_the_credential_protocol() {
        assert_eq!(
            describe("http://127.0.0.1:8080/o/r.git/info/lfs"),
            "protocol=http\nhost=127.0.0.1:8080\npath=o/r.git/info/lfs\n"
        );
        assert_eq!(describe("https://u@h"), "protocol=https\nhost=h\n");
        assert_eq!(describe("https://h/p?jwt=x"), "protocol=https\nhost=h\npath=p\n");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let c = Creds { username: "_jwt".into(), password: "hunter2".into() };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.header(), "Basic X2p3dDpodW50ZXIy");
    }
}

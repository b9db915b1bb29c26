//! Remote URLs and S3 endpoints as written in `.gitdata.yaml`: what they point at, what is
//! refused, and how they are shown.
//!
//! Invariants: `.gitdata.yaml` is committed, so a URL or endpoint that carries credentials
//! (`user:secret@`) is refused, and [`redact`] hides them wherever one is printed. A
//! directory remote is a local path: absolute, `~/…`, `file:///…`, or relative to the work
//! tree root of each clone (like a DVC local remote); it may not lie inside that work tree
//! (`git add -A` would commit its objects) nor inside a `.git` directory (git's own files,
//! gone with the clone).

use std::path::{Component, Path, PathBuf};

/// How a remote URL is interpreted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    Directory(PathBuf),
    S3 {
        bucket: String,
        prefix: String,
    },
    /// Google Cloud Storage: `gs://bucket/prefix`.
    Gcs {
        bucket: String,
        prefix: String,
    },
    /// Azure Blob Storage: `az://container/prefix` or `azure://container/prefix`.
    Azure {
        container: String,
        prefix: String,
    },
    /// A Git LFS server, by its LFS endpoint (`lfs+https://host/org/repo.git/info/lfs`
    /// is stored as the `https://…` endpoint).
    Lfs {
        endpoint: String,
    },
    /// The Git LFS server of a git remote of each clone (`lfs+origin`), found as git-lfs
    /// finds it: `lfs.url`, `remote.<name>.lfsurl`, else derived from the remote's URL.
    LfsOfRemote {
        git_remote: String,
    },
}

/// Why a URL or endpoint is refused, and what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UrlError {
    pub message: String,
    pub hint: String,
}

fn refuse<T>(message: String, hint: &str) -> Result<T, UrlError> {
    Err(UrlError { message, hint: hint.to_string() })
}

const CREDENTIALS_HINT: &str = "keys never go in the committed .gitdata.yaml: store them with \
     `git data remote set-credentials NAME` (kept in .git/config) or use the AWS credential chain";

/// Parses a remote URL: a path, `file:///path` or `s3://bucket/prefix`; a relative path is
/// resolved against `base` (the work tree root).
pub(crate) fn parse_url(url: &str, base: &Path) -> Result<Location, UrlError> {
    if url.is_empty() {
        return refuse(
            "the remote URL is empty".into(),
            "examples: /mnt/team-data, s3://bucket/prefix",
        );
    }
    if has_credentials(url) {
        return refuse(
            format!("the remote URL `{}` holds credentials", redact(url)),
            CREDENTIALS_HINT,
        );
    }
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = bucket_and_prefix(
            url,
            rest,
            "use s3://BUCKET[/PREFIX]; the endpoint of a self-hosted store goes in --endpoint",
        )?;
        return Ok(Location::S3 { bucket, prefix });
    }
    if let Some(rest) = url.strip_prefix("gs://") {
        let (bucket, prefix) = bucket_and_prefix(url, rest, "use gs://BUCKET[/PREFIX]")?;
        return Ok(Location::Gcs { bucket, prefix });
    }
    if let Some(rest) = url.strip_prefix("az://").or_else(|| url.strip_prefix("azure://")) {
        let (container, prefix) = bucket_and_prefix(
            url,
            rest,
            "use az://CONTAINER[/PREFIX]; the storage account comes from --account, \
             AZURE_STORAGE_ACCOUNT_NAME or --endpoint",
        )?;
        return Ok(Location::Azure { container, prefix });
    }
    if let Some(rest) = url.strip_prefix("lfs+") {
        let remote_name = |n: &str| {
            !n.is_empty()
                && !n.starts_with(['-', '.', '/'])
                && n.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        };
        if remote_name(rest) {
            return Ok(Location::LfsOfRemote { git_remote: rest.to_string() });
        }
        if !(rest.starts_with("https://") || rest.starts_with("http://")) || rest.len() < 9 {
            return refuse(
                format!("`{url}` is not a Git LFS server URL"),
                "use lfs+https://HOST/ORG/REPO.git/info/lfs, or lfs+REMOTE for the LFS server \
                 of a git remote (lfs+origin)",
            );
        }
        return Ok(Location::Lfs { endpoint: rest.trim_end_matches('/').to_string() });
    }
    let path = match url.strip_prefix("file://") {
        Some(p) if p.starts_with('/') => PathBuf::from(p),
        Some(_) => {
            return refuse(
                format!("`{url}` is not a local absolute path"),
                "write file:///ABSOLUTE/PATH, or the path itself",
            );
        }
        None if url.contains("://") => {
            return refuse(
                format!("unsupported remote URL `{}`", redact(url)),
                "use a directory path, file:///path, s3://bucket/prefix, gs://bucket/prefix, \
                 az://container/prefix or lfs+https://host/org/repo.git/info/lfs",
            );
        }
        None => home(url)?,
    };
    let root = lexical(base);
    let dir = lexical(&root.join(path));
    if dir.components().any(|c| c.as_os_str() == ".git") {
        return refuse(
            format!("the remote `{url}` is inside a .git directory ({})", dir.display()),
            "git's own files are no place for data, and a copy on the same disk is no backup: \
             use a directory outside the repository",
        );
    }
    if dir.starts_with(&root) {
        return refuse(
            format!("the remote `{url}` is inside the work tree ({})", dir.display()),
            "`git add -A` would commit its objects: use a directory outside the repository, \
             e.g. ../NAME-data (a relative path is resolved from each clone's root)",
        );
    }
    Ok(Location::Directory(dir))
}

/// Splits `bucket[/prefix]` (the part after `s3://`, `gs://` or `az://`) and checks the name.
fn bucket_and_prefix(url: &str, rest: &str, hint: &str) -> Result<(String, String), UrlError> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._".contains(c);
    if bucket.is_empty() || !bucket.chars().all(allowed) {
        return refuse(format!("`{url}` does not start with a bucket or container name"), hint);
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// Expands `~` and `~/…` to the home directory; `~user` is refused.
fn home(url: &str) -> Result<PathBuf, UrlError> {
    let Some(rest) = url.strip_prefix('~') else { return Ok(PathBuf::from(url)) };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return refuse(
            format!("cannot expand `{url}`: only `~/` (your home) is expanded"),
            "write the full path",
        );
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(rest.trim_start_matches('/'))),
        None => refuse(format!("cannot expand `{url}`: HOME is not set"), "write the full path"),
    }
}

/// `path` with `.` and `..` resolved by their names (symlinks are not followed).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Checks an S3 endpoint: an `http://` or `https://` URL without credentials.
pub(crate) fn check_endpoint(endpoint: &str) -> Result<(), UrlError> {
    if has_credentials(endpoint) {
        return refuse(
            format!("the endpoint `{}` holds credentials", redact(endpoint)),
            CREDENTIALS_HINT,
        );
    }
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return refuse(
            format!("the endpoint `{endpoint}` is not an http:// or https:// URL"),
            "write it like https://s3.gra.io.cloud.ovh.net or http://127.0.0.1:9000",
        );
    }
    Ok(())
}

/// The `user[:secret]` part of a URL's authority, if it has one.
fn userinfo(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let authority_len = url[start..].find(['/', '?', '#']).unwrap_or(url.len() - start);
    let at = url[start..start + authority_len].rfind('@')?;
    Some((start, start + at))
}

/// Whether a URL carries `user[:secret]@`.
pub(crate) fn has_credentials(url: &str) -> bool {
    userinfo(url).is_some()
}

/// The URL with any `user[:secret]` replaced by `***`, for printing.
pub(crate) fn redact(url: &str) -> String {
    match userinfo(url) {
        Some((start, end)) => format!("{}***{}", &url[..start], &url[end..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(url: &str) -> Result<Location, String> {
        parse_url(url, Path::new("/work/repo")).map_err(|e| e.message)
    }

    #[test]
    fn urls() {
        assert_eq!(dir("/mnt/x"), Ok(Location::Directory("/mnt/x".into())));
        assert_eq!(dir("file:///mnt/x"), Ok(Location::Directory("/mnt/x".into())));
        assert_eq!(dir("../store"), Ok(Location::Directory("/work/store".into())));
        assert_eq!(dir("/mnt/a/./b/../c"), Ok(Location::Directory("/mnt/a/c".into())));
        assert_eq!(
            dir("s3://bucket/a/b/"),
            Ok(Location::S3 { bucket: "bucket".into(), prefix: "a/b".into() })
        );
        assert_eq!(dir("gs://b/p/"), Ok(Location::Gcs { bucket: "b".into(), prefix: "p".into() }));
        assert_eq!(
            dir("azure://c"),
            Ok(Location::Azure { container: "c".into(), prefix: "".into() })
        );
        assert_eq!(dir("az://c/x/y"), dir("azure://c/x/y"));
        assert_eq!(
            dir("lfs+https://h/o/r.git/info/lfs/"),
            Ok(Location::Lfs { endpoint: "https://h/o/r.git/info/lfs".into() })
        );
        assert_eq!(dir("lfs+origin"), Ok(Location::LfsOfRemote { git_remote: "origin".into() }));
        for bad in ["s3:///x", "gs://", "az:///x", "lfs+ftp://h", "", "file://x", "s3://a b/c"]
            .into_iter()
            .chain(["file://host/x", "unknown://x", "lfs+", "lfs+-x", "lfs+a b"])
        {
            assert!(dir(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_places_and_users() {
        assert!(dir("store").unwrap_err().contains("inside the work tree"));
        assert!(dir("../repo/sub/../x").unwrap_err().contains("inside the work tree"));
        assert!(dir(".git/data-remote").unwrap_err().contains("inside a .git directory"));
        assert!(dir("/srv/other/.git/objects").unwrap_err().contains(".git directory"));
        assert!(dir("~alice/store").unwrap_err().contains("only `~/`"));
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty() && h != "/") {
            let want = lexical(&PathBuf::from(&home).join("store"));
            if !want.starts_with("/work/repo") {
                assert_eq!(dir("~/store"), Ok(Location::Directory(want)));
            }
        }
    }

    #[test]
    fn credentials_are_refused_and_redacted() {
        let err = dir("s3://AKIA:secret@bucket/x").unwrap_err();
        assert!(err.contains("holds credentials") && !err.contains("secret"), "{err}");
        let err = check_endpoint("https://minio:hunter2@127.0.0.1:9000/").unwrap_err();
        assert!(!err.message.contains("hunter2") && err.hint.contains("set-credentials"));
        assert_eq!(redact("http://u:p@h:9000/a@b"), "http://***@h:9000/a@b");
        assert_eq!(redact("http://h:9000/a@b"), "http://h:9000/a@b");
        assert!(check_endpoint("http://127.0.0.1:9000").is_ok());
        assert!(check_endpoint("127.0.0.1:9000").unwrap_err().message.contains("not an http"));
    }
}

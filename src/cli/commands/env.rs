//! `git data env`: what git-data sees — version, git, repository, cache, remotes, link mode,
//! and whether the filter and hooks are installed. Never prints a secret.

use crate::cli::args::GlobalArgs;
use crate::cli::context::Context;
use crate::config::LinkMode;
use crate::git::hooks;
use crate::git::{git_version, run_git};
use anyhow::Result;

fn reflink_supported(dir: &std::path::Path) -> bool {
    tempfile::tempfile_in(dir).is_ok_and(|dest| crate::fs::sys::reflinks_between(dir, &dest))
}

pub(crate) fn run(g: &GlobalArgs) -> Result<i32> {
    println!("git-data {}", env!("CARGO_PKG_VERSION"));
    println!("git: {}", git_version());
    // not git_command(): its `-c filter.data.process=` would hide the real value
    let filter =
        run_git(crate::git::user_git().args(["config", "--get", "filter.data.process"])).ok();
    println!(
        "filter: {}",
        match filter {
            Some(v) if !v.trim().is_empty() => format!("installed ({})", v.trim()),
            _ => "not installed (run `git data install --global`)".into(),
        }
    );
    let ctx = match Context::open(g) {
        Ok(c) => c,
        Err(e) => {
            println!("repository: none ({e})");
            return Ok(0);
        }
    };
    println!("repository: {}", ctx.repo.work_tree.as_ref().unwrap_or(&ctx.repo.git_dir).display());
    println!("git dir: {}", ctx.repo.git_dir.display());
    println!(
        "config file: {}{}",
        ctx.config.file_path.display(),
        if ctx.config.file_path.exists() { "" } else { " (absent)" }
    );
    println!("cache: {}", ctx.store.root().display());
    let hooks_dir = ctx.repo.hooks_dir();
    println!(
        "hooks: {} ({})",
        if hooks::all_current(&hooks_dir) {
            "installed"
        } else {
            "missing (run `git data install`)"
        },
        hooks_dir.display()
    );
    let _ = std::fs::create_dir_all(ctx.store.root());
    let reflink = reflink_supported(ctx.store.root());
    let effective = match ctx.config.link_mode {
        LinkMode::Auto | LinkMode::Reflink if reflink => "reflink",
        LinkMode::Auto | LinkMode::Reflink => "copy (this file system has no reflinks)",
        LinkMode::Hardlink => "hardlink (read-only files)",
        LinkMode::Copy => "copy",
    };
    println!("link mode: {} -> {effective}", ctx.config.link_mode);
    println!("inline smudge up to: {}", crate::units::human(ctx.config.inline_max));
    println!("transfer concurrency: {}", ctx.config.concurrency);
    if ctx.config.file.remotes.is_empty() {
        println!("remotes: none (add one with `git data remote add NAME URL`)");
    } else {
        println!("remotes:");
        for (name, r) in &ctx.config.file.remotes {
            let mark =
                if ctx.config.default_remote.as_deref() == Some(name.as_str()) { "*" } else { " " };
            println!("  {mark} {name}  {}", crate::sync::remote::redact(&r.url));
            if r.url.starts_with("s3://") {
                print_s3(&ctx, name, r);
            } else if r.url.starts_with("gs://") {
                print_gcs(r);
            } else if r.url.starts_with("az://") || r.url.starts_with("azure://") {
                print_azure(&ctx, name, r);
            } else if let Some(rest) = r.url.strip_prefix("lfs+") {
                print_lfs(rest);
            }
        }
    }
    Ok(0)
}

/// A GCS remote's endpoint and where its credentials come from (never their contents).
fn print_gcs(r: &crate::config::RemoteEntry) {
    let (endpoint, anonymous) = crate::sync::remote::gcs::resolve_endpoint(r.endpoint.as_deref());
    let creds = match std::env::var("GOOGLE_APPLICATION_CREDENTIALS") {
        _ if anonymous => "none: an emulator on plain HTTP is used without a token".to_string(),
        Ok(file) if !file.trim().is_empty() => format!("GOOGLE_APPLICATION_CREDENTIALS ({file})"),
        _ => "gcloud's application default credentials, else the metadata server".to_string(),
    };
    println!("      endpoint {}", crate::sync::remote::redact(&endpoint));
    println!("      credentials: {creds}");
}

/// An Azure remote's account, endpoint and where its credentials come from (never them).
fn print_azure(ctx: &Context, name: &str, r: &crate::config::RemoteEntry) {
    use crate::config::AzureSecret;
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let account = r.account.clone().map(|a| format!("{a} (.gitdata.yaml)")).or_else(|| {
        ["AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT"]
            .iter()
            .find_map(|k| var(k).map(|a| format!("{a} ({k})")))
    });
    println!("      account {}", account.as_deref().unwrap_or("from the endpoint, if any"));
    if let Some(e) = &r.endpoint {
        println!("      endpoint {}", crate::sync::remote::redact(e));
    }
    let creds = match ctx.config.azure_secrets.get(name) {
        Some(AzureSecret::AccountKey(_)) => "an account key (set-credentials)".to_string(),
        Some(AzureSecret::Sas(_)) => "a SAS token (set-credentials)".to_string(),
        None => match ["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_CLIENT_ID"]
            .iter()
            .find(|k| var(k).is_some())
        {
            Some(k) => format!("{k} and the rest of Azure's environment chain"),
            None => "Azure's chain: the Azure CLI or a managed identity".to_string(),
        },
    };
    println!("      credentials: {creds}");
}

/// A Git LFS server remote: where it is found and where credentials come from.
fn print_lfs(rest: &str) {
    if rest.contains("://") {
        println!("      Git LFS server {}", crate::sync::remote::redact(rest));
    } else {
        println!("      Git LFS server of git remote `{rest}` (lfs.url, lfsurl, else its URL)");
    }
    println!("      credentials: git's credential helpers (or git-lfs-authenticate over SSH)");
}

/// Endpoint, region and where credentials come from (never the secret itself).
fn print_s3(ctx: &Context, name: &str, r: &crate::config::RemoteEntry) {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let endpoint =
        r.endpoint.as_deref().map_or_else(|| "AWS S3".into(), crate::sync::remote::redact);
    let style = if r.path_style == Some(true) { ", path-style" } else { "" };
    let region = match (&r.region, var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"))) {
        (Some(reg), _) => format!("{reg} (.gitdata.yaml)"),
        (None, Some(reg)) => format!("{reg} (environment)"),
        (None, None) => "from the AWS profile, else us-east-1".to_string(),
    };
    let creds = if let Some(source) = ctx.config.key_sources.get(name) {
        source.clone()
    } else if let Some(id) = var("AWS_ACCESS_KEY_ID") {
        format!("environment (AWS_ACCESS_KEY_ID = {})", crate::config::mask_key_id(&id))
    } else if let Some(p) = r.profile.clone().or_else(|| var("AWS_PROFILE")) {
        format!("AWS profile `{p}`")
    } else if let Some(file) = default_profile_file(&var) {
        format!("the `default` profile of {}", file.display())
    } else if var("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)".to_string()
    } else if var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .or_else(|| var("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
        .is_some()
    {
        "the container's credentials endpoint".to_string()
    } else {
        format!(
            "none found here (only instance metadata is left to try); set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or run `git data remote set-credentials {name}`"
        )
    };
    let checksums = match r.checksums.unwrap_or_default() {
        crate::config::ChecksumMode::Always => "",
        crate::config::ChecksumMode::WhenRequired => ", checksums only when required",
    };
    println!("      endpoint {endpoint}, region {region}{style}{checksums}");
    println!("      credentials: {creds}");
}

/// The AWS shared credentials or config file that holds a `default` profile, if any.
fn default_profile_file(var: &dyn Fn(&str) -> Option<String>) -> Option<std::path::PathBuf> {
    let home = var("HOME").map(std::path::PathBuf::from);
    // an environment variable replaces the file in the home directory, as for the SDK
    let file = |env: &str, name: &str| {
        var(env).map(Into::into).or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    let files =
        [file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), file("AWS_CONFIG_FILE", "config")];
    files.into_iter().flatten().find(|f: &std::path::PathBuf| {
        std::fs::read_to_string(f).is_ok_and(|text| {
            text.lines().any(|l| matches!(l.trim(), "[default]" | "[profile default]"))
        })
    })
}

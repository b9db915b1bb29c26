//! `git data remote add|list|remove|default|set-url|rename|set-credentials|test`: remotes live
//! in `.gitdata.yaml`, which is committed so the whole team (and every clone) uses them. No
//! secret is ever written there; a name is never replaced silently (`add --force` does).

use crate::cli::args::{RemoteAddArgs, RemoteCommand};
use crate::cli::context::Context;
use crate::config::{FileConfig, RemoteEntry};
use crate::hint::hinted;
use crate::sync::remote::{Location, check_endpoint, parse_url, redact};
use anyhow::Result;

mod azure;
mod credentials;
mod lfs;

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

pub(crate) fn run(ctx: &Context, cmd: RemoteCommand) -> Result<i32> {
    let path = ctx.config.file_path.clone();
    let mut file = FileConfig::load(&path)?;
    let base = ctx.work_tree()?.to_path_buf();
    match cmd {
        RemoteCommand::Add(a) => add(ctx, &mut file, &base, a)?,
        RemoteCommand::List => {
            if file.remotes.is_empty() {
                println!("No data remotes. Add one with `git data remote add NAME URL`.");
            }
            let default = ctx.config.default_remote.clone();
            for (name, r) in &file.remotes {
                let mark = if Some(name) == default.as_ref() { "*" } else { " " };
                let mut extra = Vec::new();
                if let Some(e) = &r.endpoint {
                    extra.push(format!("endpoint {}", redact(e)));
                }
                if let Some(reg) = &r.region {
                    extra.push(format!("region {reg}"));
                }
                let extra = if extra.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", extra.join(", "))
                };
                println!("{mark} {name}\t{}{extra}", redact(&r.url));
            }
            return Ok(0);
        }
        RemoteCommand::Remove { name } => {
            if file.remotes.remove(&name).is_none() {
                return Err(hinted(
                    format!("no data remote named `{name}`"),
                    "`git data remote list` shows them",
                ));
            }
            if file.default_remote.as_deref() == Some(name.as_str()) {
                file.default_remote = file.remotes.keys().next().cloned();
            }
            file.save(&path, &ctx.repo.tmp_dir())?;
            if !ctx.global.quiet {
                println!("Removed data remote `{name}` (its data was not touched).");
            }
        }
        // the team's file wherever it is found: a `git clone --no-checkout` has none yet
        RemoteCommand::SetCredentials(a) => credentials::set_credentials(ctx, &ctx.config.file, a)?,
        RemoteCommand::SetUrl { name, url } => set_url(ctx, &mut file, &base, &name, url)?,
        RemoteCommand::Rename { old, new } => rename(ctx, &mut file, &old, &new)?,
        RemoteCommand::Test { name } => return test(ctx, name.as_deref()),
        RemoteCommand::Default { name } => {
            if !file.remotes.contains_key(&name) {
                return Err(hinted(
                    format!("no data remote named `{name}`"),
                    "`git data remote list` shows them",
                ));
            }
            file.default_remote = Some(name.clone());
            file.save(&path, &ctx.repo.tmp_dir())?;
            if !ctx.global.quiet {
                println!("`{name}` is now the default data remote.");
            }
        }
    }
    Ok(0)
}

/// The remote `name` of `file`, or an error that lists where to look.
fn existing<'f>(file: &'f mut FileConfig, name: &str) -> Result<&'f mut RemoteEntry> {
    file.remotes.get_mut(name).ok_or_else(|| {
        hinted(format!("no data remote named `{name}`"), "`git data remote list` shows them")
    })
}

/// `remote set-url`: the same kind of remote at another place; its endpoint, region and
/// other settings stay.
fn set_url(
    ctx: &Context,
    file: &mut FileConfig,
    base: &std::path::Path,
    name: &str,
    url: String,
) -> Result<()> {
    let location = parse_url(&url, base).map_err(|e| hinted(e.message, e.hint))?;
    let entry = existing(file, name)?;
    let was_s3 = matches!(parse_url(&entry.url, base), Ok(Location::S3 { .. }));
    if was_s3 != matches!(location, Location::S3 { .. }) {
        return Err(hinted(
            format!("`{url}` is not the same kind of remote as `{name}` ({})", redact(&entry.url)),
            format!("`git data remote add --force {name} {url}` replaces the remote whole"),
        ));
    }
    entry.url = url.clone();
    file.save(&ctx.config.file_path, &ctx.repo.tmp_dir())?;
    if !ctx.global.quiet {
        println!("Data remote `{name}` -> {}", redact(&url));
    }
    Ok(())
}

/// `remote test`: each step with its outcome; exit 1 when pushes or pulls would fail.
fn test(ctx: &Context, name: Option<&str>) -> Result<i32> {
    let tested = crate::sync::probe::test(&ctx.local(), name)?;
    println!("Testing data remote `{}` ({}):", tested.name, tested.location);
    for step in &tested.steps {
        match &step.result {
            Ok(()) => println!("  ok      {}", step.what),
            Err(e) if tested.usable() => println!(
                "  warning {}: {e}; the probe stays until `git data gc --remote`",
                step.what
            ),
            Err(e) => {
                println!("  FAILED  {}: {e}", step.what);
                if let Some(h) = &e.hint {
                    println!("          hint: {h}");
                }
            }
        }
    }
    if tested.usable() {
        println!("`{}` works for push and pull.", tested.name);
        Ok(0)
    } else {
        Ok(1)
    }
}

/// `remote rename`: the entry, the default and the keys in `.git/config` move to `new`.
fn rename(ctx: &Context, file: &mut FileConfig, old: &str, new: &str) -> Result<()> {
    if !valid_name(new) {
        return Err(hinted(
            format!("invalid remote name `{new}`"),
            "use letters, digits, '-', '_' and '.'",
        ));
    }
    if file.remotes.contains_key(new) {
        return Err(hinted(
            format!("a data remote named `{new}` exists already"),
            "remove it first (`git data remote remove NAME`), or pick another name",
        ));
    }
    let entry = existing(file, old)?.clone();
    file.remotes.remove(old);
    file.remotes.insert(new.to_string(), entry);
    if file.default_remote.as_deref() == Some(old) {
        file.default_remote = Some(new.to_string());
    }
    // the keys move first (one git config write), and back if .gitdata.yaml cannot be
    // written: the keys always sit under the name the file gives the remote
    let root = ctx.work_tree()?;
    let move_keys = |from: &str, to: &str| {
        let section = |n: &str| format!("data.remote.{n}");
        crate::git::run_git(crate::git::git_command().current_dir(root).args([
            "config",
            "--rename-section",
            &section(from),
            &section(to),
        ]))
    };
    let had_keys =
        ctx.repo.remote_keys(old).is_some() || ctx.repo.remote_azure_secret(old).is_some();
    if had_keys {
        move_keys(old, new)?;
    }
    if let Err(e) = file.save(&ctx.config.file_path, &ctx.repo.tmp_dir()) {
        if had_keys {
            let _ = move_keys(new, old);
        }
        return Err(e.into());
    }
    if !ctx.global.quiet {
        println!("Renamed data remote `{old}` to `{new}`.");
    }
    Ok(())
}

fn add(
    ctx: &Context,
    file: &mut FileConfig,
    base: &std::path::Path,
    a: RemoteAddArgs,
) -> Result<()> {
    if !valid_name(&a.name) {
        return Err(hinted(
            format!("invalid remote name `{}`", a.name),
            "use letters, digits, '-', '_' and '.'",
        ));
    }
    let location = parse_url(&a.url, base).map_err(|e| hinted(e.message, e.hint))?;
    let is_s3 = matches!(location, Location::S3 { .. });
    let is_gcs = matches!(location, Location::Gcs { .. });
    let is_azure = matches!(location, Location::Azure { .. });
    if a.account.is_some() && !is_azure {
        return Err(hinted(
            "--account applies to az:// remotes only",
            "drop it; S3 credentials come from the AWS chain or `git data remote set-credentials`",
        ));
    }
    if (is_gcs || is_azure)
        && (a.region.is_some() || a.path_style || a.profile.is_some() || a.checksums.is_some())
    {
        return Err(hinted(
            "--region, --path-style, --profile and --checksums apply to s3:// remotes only",
            if is_gcs {
                "a gs:// remote takes --endpoint (for an emulator); credentials come from \
                 GOOGLE_APPLICATION_CREDENTIALS or `gcloud auth application-default login`"
            } else {
                "an az:// remote takes --account and --endpoint (e.g. Azurite's \
                 http://127.0.0.1:10000/devstoreaccount1)"
            },
        ));
    }
    if !is_s3
        && !is_gcs
        && ((a.endpoint.is_some() && !is_azure)
            || a.region.is_some()
            || a.path_style
            || a.profile.is_some()
            || a.checksums.is_some())
    {
        return Err(hinted(
            "--endpoint, --region, --path-style and --profile apply to s3:// remotes only",
            "drop them for a directory remote",
        ));
    }
    if let Location::Directory(dir) = &location
        && dir.exists()
        && !dir.is_dir()
    {
        return Err(hinted(
            format!("the remote `{}` is not a directory ({} is a file)", a.url, dir.display()),
            "give the path of a directory (it may not exist yet)",
        ));
    }
    if let Some(endpoint) = &a.endpoint {
        check_endpoint(endpoint).map_err(|e| hinted(e.message, e.hint))?;
    }
    let entry = RemoteEntry {
        url: a.url.clone(),
        endpoint: a.endpoint,
        region: a.region,
        path_style: a.path_style.then_some(true),
        profile: a.profile,
        checksums: a.checksums,
        account: a.account,
    };
    if let Some(old) = file.remotes.get(&a.name)
        && !a.force
    {
        return Err(hinted(
            format!("a data remote named `{}` exists already ({})", a.name, redact(&old.url)),
            format!(
                "`git data remote set-url {n} URL` changes its URL; `git data remote add --force \
                 {n} URL …` replaces it whole; or pick another name",
                n = a.name
            ),
        ));
    }
    let replaced = file.remotes.insert(a.name.clone(), entry).is_some();
    if a.default || file.default_remote.is_none() || file.remotes.len() == 1 {
        file.default_remote = Some(a.name.clone());
    }
    file.save(&ctx.config.file_path, &ctx.repo.tmp_dir())?;
    if !ctx.global.quiet {
        let verb = if replaced { "Updated" } else { "Added" };
        let default =
            if file.default_remote.as_deref() == Some(a.name.as_str()) { " (default)" } else { "" };
        println!("{verb} data remote `{}` -> {}{default}", a.name, a.url);
        let relative = !(a.url.starts_with('/') || a.url.starts_with('~') || a.url.contains("://"));
        if let Location::Directory(dir) = &location
            && relative
        {
            println!(
                "note: `{}` is resolved from each clone's root (here {})",
                a.url,
                dir.display()
            );
        }
        if let Location::Directory(dir) = &location
            && !dir.is_dir()
        {
            println!(
                "note: {} does not exist yet; create it (mkdir -p) before the first push",
                dir.display()
            );
        }
        println!("Commit .gitdata.yaml so clones use it: git add .gitdata.yaml");
    }
    let is_default = file.default_remote.as_deref() == Some(a.name.as_str());
    if let (Location::Lfs { endpoint }, true) = (&location, is_default) {
        lfs::lfs_config(ctx, endpoint)?;
    }
    let lfs = matches!(location, Location::Lfs { .. } | Location::LfsOfRemote { .. });
    if lfs && crate::git::hooks::filter_configured(&ctx.repo) {
        let ctx = Context::open_lenient(&ctx.global)?;
        if let Some(line) = super::install::serve_lfs(&ctx)?
            && !ctx.global.quiet
        {
            println!("{line}");
            println!("`git data track` now writes filter=lfs lines, which git-lfs users share");
        }
    }
    Ok(())
}

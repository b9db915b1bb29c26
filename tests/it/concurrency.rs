//! Many clones and processes writing the same objects at once: to one directory remote, to
//! one S3 remote, and into one shared cache. "Already there" must be success for any number
//! of writers, and every object that appears must hash to its name.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::sync::Barrier;

/// A project `name` with its attributes and remote committed and pushed, and `n` clones of it
/// (`<name>-0`, …) with git-data's hooks installed; clones whose index is in `shared` use one
/// cache (`data.cacheDir`) at `<name>-cache`.
pub(crate) fn team(
    env: &Env,
    name: &str,
    n: usize,
    shared: impl Fn(usize) -> bool,
) -> Vec<PathBuf> {
    team_on(env, name, n, shared, |_| {})
}

/// [`team`], with `setup` run in the project before its first commit (to point its remote
/// elsewhere).
pub(crate) fn team_on(
    env: &Env,
    name: &str,
    n: usize,
    shared: impl Fn(usize) -> bool,
    setup: impl Fn(&Path),
) -> Vec<PathBuf> {
    let repo = env.project(name);
    setup(&repo);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "set up git-data"]);
    env.git(&repo, &["push", "-q", "origin", "main"]);
    let cache = env.path(&format!("{name}-cache"));
    (0..n)
        .map(|i| {
            let (clone, out) = env.clone_of(name, &format!("{name}-{i}"));
            assert_eq!(out.code, 0, "{}", out.all());
            env.data(&clone, &["install"]);
            if shared(i) {
                env.git(&clone, &["config", "data.cacheDir", cache.to_str().expect("utf8")]);
            }
            clone
        })
        .collect()
}

/// Every file below `dir`, recursively.
pub(crate) fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() { out.extend(files_below(&p)) } else { out.push(p) }
        }
    }
    out
}

/// The objects below `root/objects` whose bytes do not hash to their file name.
pub(crate) fn misnamed_objects(root: &Path) -> Vec<String> {
    files_below(&root.join("objects"))
        .into_iter()
        .filter(|p| sha256(&read(p)) != p.file_name().unwrap_or_default().to_string_lossy())
        .map(|p| p.display().to_string())
        .collect()
}

/// Runs `run(i)` for every `i` in `0..n` at the same moment (one thread each).
pub(crate) fn at_once<T: Send>(n: usize, run: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, run) = (&barrier, &run);
                s.spawn(move || {
                    barrier.wait();
                    run(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).collect()
    })
}

#[test]
fn clones_pushing_the_same_new_objects_at_once_all_succeed() {
    // Before the fix, 11 of 20 such pushes failed with "File exists (os error 17)": both
    // writers found the shard directory missing, and the second rename after creating it
    // took the first writer's object for a conflict.
    let env = Env::new();
    let clones = team(&env, "sp", 4, |_| false);
    let mut failures = Vec::new();
    for round in 0..6u64 {
        let data: Vec<Vec<u8>> =
            (0..4).map(|k| bytes(1000 + 10 * round + k, 20_000 + k as usize)).collect();
        for (i, clone) in clones.iter().enumerate() {
            for (k, d) in data.iter().enumerate() {
                write(&clone.join(format!("data/r{round}-{k}.bin")), d);
            }
            env.git(clone, &["add", "-A"]);
            env.git(clone, &["commit", "-q", "-m", &format!("round {round} of clone {i}")]);
        }
        let outs = at_once(clones.len(), |i| {
            env.run(&clones[i], "git", &["push", "-q", "origin", &format!("HEAD:refs/heads/c{i}")])
        });
        for (i, out) in outs.into_iter().enumerate() {
            if out.code != 0 {
                failures.push(format!("round {round}, clone {i}: {}", out.all()));
            }
        }
        for d in &data {
            assert_eq!(read(&object_path(&env.path("sp-store"), d)), *d);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 24 pushes failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(misnamed_objects(&env.path("sp-store")), Vec::<String>::new());
}

#[test]
fn clones_sharing_a_cache_store_the_same_content_at_once() {
    // `git add` of the same new content in clones that share one cache: every store lands
    // the object into a shard another process may be creating at the same moment.
    let env = Env::new();
    let clones = team(&env, "sc", 4, |_| true);
    let mut failures = Vec::new();
    for round in 0..6u64 {
        for clone in &clones {
            for k in 0..4 {
                write(
                    &clone.join(format!("data/r{round}-{k}.bin")),
                    &bytes(2000 + 10 * round + k, 30_000),
                );
            }
        }
        let outs = at_once(clones.len(), |i| {
            let verb: &[&str] = if i % 2 == 0 { &["add", "-A"] } else { &["data", "add", "data"] };
            env.run(&clones[i], "git", verb)
        });
        for (i, out) in outs.into_iter().enumerate() {
            if out.code != 0 {
                failures.push(format!("round {round}, clone {i}: {}", out.all()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(misnamed_objects(&env.path("sc-cache")), Vec::<String>::new());
    for clone in &clones {
        env.git(clone, &["commit", "-q", "-m", "all rounds"]);
        env.data(clone, &["fsck"]);
    }
}

//! The concurrency harness: N clones × M rounds adding, pushing and pulling overlapping
//! objects through one directory remote and one S3 remote at once, the even clones of each
//! sharing one cache. Small by default; `GIT_DATA_HARNESS_SCALE=K` (an integer, default 1)
//! grows the clones to 2 + K and the rounds to 2K. It prints one line,
//! `concurrency harness: N operations, F failures`, then each failure with what to run to
//! reproduce it, and checks that every object on each remote hashes to its name and every
//! clone's files are exact.

use crate::common::*;
use crate::concurrency::{at_once, files_below, misnamed_objects, team_on};
use crate::s3server::S3Server;
use crate::workflow::Remote as Target;
use std::path::{Path, PathBuf};

/// The harness's size multiplier.
fn scale() -> usize {
    std::env::var("GIT_DATA_HARNESS_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

/// The content of object `k` of round `round`: object 3 is the same in every round (always
/// already on the remote after the first); object 0 is large on a directory remote.
fn content(round: usize, k: usize, large: bool) -> Vec<u8> {
    let seed = 5000 + 10 * round as u64 + k as u64;
    match k {
        3 => bytes(7777, 50_000),
        0 if large => bytes(seed, (5 << 20) + round),
        0 => bytes(seed, 600_000 + round),
        1 => bytes(seed, 20_000 + round),
        _ => bytes(seed, 120_000 + round),
    }
}

/// One operation that failed.
struct Failure {
    what: String,
    command: String,
    output: String,
}

/// One group of clones on one remote; returns (operations, failures).
fn run_group(
    env: &Env,
    name: &str,
    target: &Target,
    clones: usize,
    rounds: usize,
) -> (usize, Vec<Failure>) {
    let large = matches!(target, Target::Directory);
    let team = team_on(env, name, clones, |i| i % 2 == 0, |repo| setup(env, repo, name, target));
    let mut ops = 0;
    let mut failures = Vec::new();
    let mut record = |what: String, dir: &Path, command: &str, out: Out| {
        ops += 1;
        if out.code != 0 {
            let command = format!("cd {} && {command}", dir.display());
            failures.push(Failure { what, command, output: out.all() });
        }
    };
    for round in 0..rounds {
        // add and commit three of the round's four objects (each pair of clones shares two)
        let adds: Vec<(&[&str], Out)> = at_once(clones, |i| {
            for j in 0..3 {
                let k = (i + j) % 4;
                write(
                    &team[i].join(format!("data/c{i}/r{round}-k{k}.bin")),
                    &content(round, k, large),
                );
            }
            let add: &[&str] = if i % 2 == 0 { &["add", "-A"] } else { &["data", "add", "data"] };
            let out = env.run(&team[i], "git", add);
            if out.code != 0 {
                return (add, out);
            }
            let commit: &[&str] = &["commit", "-q", "-m", "round"];
            (commit, env.run(&team[i], "git", commit))
        });
        for (i, (args, out)) in adds.into_iter().enumerate() {
            let command = format!("git {}", args.join(" "));
            record(format!("{name} clone {i} round {round}: add"), &team[i], &command, out);
        }
        let branch = |i: usize| format!("HEAD:refs/heads/c{i}");
        let pushes =
            at_once(clones, |i| env.run(&team[i], "git", &["push", "-q", "origin", &branch(i)]));
        for (i, out) in pushes.into_iter().enumerate() {
            let command = format!("git push -q origin {}", branch(i));
            record(format!("{name} clone {i} round {round}: push"), &team[i], &command, out);
        }
        // merge the neighbour's branch: its post-merge hook downloads what this clone lacks
        let pulls = at_once(clones, |i| {
            let theirs = format!("c{}", (i + 1) % clones);
            let fetched = env.run(&team[i], "git", &["fetch", "-q", "origin", &theirs]);
            if fetched.code != 0 {
                return fetched;
            }
            env.run(&team[i], "git", &["merge", "-q", "--no-edit", "FETCH_HEAD"])
        });
        for (i, out) in pulls.into_iter().enumerate() {
            let theirs = (i + 1) % clones;
            let command =
                format!("git fetch -q origin c{theirs} && git merge -q --no-edit FETCH_HEAD");
            record(format!("{name} clone {i} round {round}: pull"), &team[i], &command, out);
        }
    }
    verify(env, name, target, &team, large);
    (ops, failures)
}

/// Points the project's remote at `target` (a directory remote needs nothing).
fn setup(env: &Env, repo: &Path, name: &str, target: &Target) {
    match target {
        Target::Directory => {}
        Target::S3(server) => env.use_s3(repo, server, name),
        Target::Gcs(server) => crate::gcs::use_gcs(env, repo, server, name),
        Target::Azure(server) => crate::azure::use_azurite(env, repo, server, "harness", name),
        Target::External { endpoint, bucket, key, secret } => {
            let url = format!("s3://{bucket}/harness-{}-{name}", std::process::id());
            env.use_s3_at(repo, endpoint, &url, key, secret);
        }
        Target::Lfs(server) => crate::lfs_server::use_lfs(env, repo, server, &format!("h/{name}")),
    }
}

/// Every object on the remote hashes to its name; every clone's files are exact, its work
/// tree clean, its cache sound; one clone hashes every remote copy its history needs.
fn verify(env: &Env, name: &str, target: &Target, team: &[PathBuf], large: bool) {
    let store = match target {
        Target::Directory => Some(env.path(&format!("{name}-store"))),
        Target::S3(server) => Some(server.root.join(crate::s3server::BUCKET).join(name)),
        Target::External { .. } | Target::Gcs(_) | Target::Azure(_) | Target::Lfs(_) => None,
    };
    if let Some(store) = store {
        assert!(!files_below(&store.join("objects")).is_empty(), "{name}: nothing was stored");
        assert_eq!(misnamed_objects(&store), Vec::<String>::new(), "{name}: misnamed objects");
    }
    for clone in team {
        let tracked = env.git(clone, &["ls-files", "data"]).stdout;
        for path in tracked.lines() {
            let rk = path.rsplit('/').next().unwrap_or_default().trim_end_matches(".bin");
            let (r, k) = rk.split_once("-k").expect("r<round>-k<k>");
            let want = content(r[1..].parse().unwrap(), k.parse().unwrap(), large);
            assert!(
                read(&clone.join(path)) == want,
                "{name}: {} differs",
                clone.join(path).display()
            );
        }
        assert_clean(env, clone);
        env.data(clone, &["fsck"]);
    }
    env.data(&team[0], &["fsck", "--remote", "--all"]);
}

/// Runs the groups at once and reports.
fn harness(test: &str, groups: Vec<(&str, Target)>) {
    let k = scale();
    let (clones, rounds) = (2 + k, 2 * k);
    let env = Env::new();
    let results = at_once(groups.len(), |g| {
        let (name, target) = &groups[g];
        run_group(&env, name, target, clones, rounds)
    });
    let ops: usize = results.iter().map(|r| r.0).sum();
    let failures: Vec<&Failure> = results.iter().flat_map(|r| &r.1).collect();
    eprintln!("concurrency harness: {ops} operations, {} failures", failures.len());
    for f in &failures {
        eprintln!(
            "FAILED {}: {}\n{}\n  reproduce: GIT_DATA_HARNESS_SCALE={k} cargo test --test it {test} -- --exact --nocapture\n",
            f.what, f.command, f.output
        );
    }
    assert!(failures.is_empty(), "{} of {ops} operations failed", failures.len());
}

#[test]
fn concurrency_harness() {
    let server = S3Server::start();
    let groups = vec![("dir", Target::Directory), ("s3", Target::S3(&server))];
    harness("harness::concurrency_harness", groups);
}

/// The S3 group against an independent server when one is configured (CI starts SeaweedFS).
#[test]
fn concurrency_harness_on_external_s3() {
    let Some(external) = crate::s3::external() else {
        eprintln!("skipped: GIT_DATA_TEST_S3_ENDPOINT is not set");
        return;
    };
    harness("harness::concurrency_harness_on_external_s3", vec![("ext", external)]);
}

//! The scheduler of `git data repro`: the selected stages in graph order, up to `jobs` at a
//! time, each checked ([`super::state`]) once its upstream stages are done and run
//! ([`super::exec`]) when it must — unless the run cache restores it ([`super::runcache`]).
//! The dry-run plan is [`super::plan`]'s.
//!
//! Invariants: only this thread touches the lock file, rewriting it whole (from the text kept
//! per stage, [`LockText`]) after each stage that succeeded, so a crash loses at most the
//! stages still running; a stage is named in the unstaged list before the lock names it; a
//! failed stage keeps its old entry; a stage starts only after all its selected upstream
//! stages succeeded or were up to date; after a failure, new stages start only with
//! `keep_going`, and then none downstream of the failure.

use super::exec::{self, StageFailure};
use super::load::Pipeline;
use super::lock::{LockError, LockFile, LockText};
use super::runcache::{Lookup, RunCache};
use super::state::{self, Reason};
use crate::store::Store;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

pub(crate) struct Options {
    pub jobs: usize,
    pub force: bool,
    pub keep_going: bool,
}

/// Where the run reads and writes.
pub(crate) struct Paths {
    pub root: PathBuf,
    pub lock: PathBuf,
    /// Temp files of the lock's atomic rewrite.
    pub tmp: PathBuf,
    pub logs: PathBuf,
    /// The stat cache and params files, shared by the stage threads.
    pub stats: super::statcache::Stats,
    /// DVC's lock beside the pipeline, for stages `gitdata.lock` does not know yet.
    pub dvc: super::adopt::DvcLock,
    /// Where the running stage commands are recorded.
    pub groups: super::groups::Groups,
    /// The stages whose outputs are recorded but not staged yet, one name a line.
    pub unstaged: PathBuf,
}

/// Appends `stage` to the list of stages whose outputs are not staged yet.
fn note_unstaged(path: &std::path::Path, stage: &str) {
    use std::io::Write;
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path);
    if let Ok(mut f) = file {
        let _ = f.write_all(format!("{stage}\n").as_bytes());
    }
}

/// The stages a run named in `path` whose outputs were not staged (a crash came first).
pub(crate) fn unstaged(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
}

/// What happened to a stage, reported as it happens.
pub(crate) enum Event<'a> {
    Started {
        stage: &'a str,
        reason: &'a Reason,
    },
    Done {
        stage: &'a str,
        seconds: f64,
    },
    /// Not run: its outputs were restored from the run cache.
    Restored {
        stage: &'a str,
        reason: &'a Reason,
    },
    /// Not run: up to date as `dvc.lock` records it; now in `gitdata.lock` too.
    Adopted {
        stage: &'a str,
    },
    /// Something to tell once (the run cache's remote cannot be read, an entry not written).
    Note(&'a str),
    /// Up to date; `cutoff` when an upstream stage ran in this run (its outputs came out the same).
    UpToDate {
        stage: &'a str,
        cutoff: bool,
    },
    Frozen {
        stage: &'a str,
    },
    Failed {
        stage: &'a str,
        error: &'a StageFailure,
    },
    Skipped {
        stage: &'a str,
        failed: &'a str,
    },
}

#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// Indexes of the stages that ran and succeeded.
    pub ran: Vec<usize>,
    /// Indexes of the stages restored from the run cache.
    pub restored: Vec<usize>,
    /// Indexes of the stages taken over from `dvc.lock`.
    pub adopted: Vec<usize>,
    /// Indexes of the stages found up to date.
    pub up_to_date: Vec<usize>,
    pub failed: usize,
    pub skipped: usize,
}

enum Msg {
    Started(usize, Reason),
    Note(String),
    Finished(usize, Outcome),
}

enum Outcome {
    UpToDate,
    Ran(Box<super::lock::StageLock>, f64),
    Restored(Box<super::lock::StageLock>, Reason),
    Adopted(Box<super::lock::StageLock>),
    Failed(StageFailure),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Pending,
    Running,
    Ok { ran: bool },
    Failed,
    Skipped,
}

/// Runs the selected stages (restoring from the run cache `cache` those it holds); `lock` is
/// the lock file as read before the run, and the file is rewritten after each success.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    p: &Pipeline,
    selected: &[bool],
    store: &Store,
    lock: &LockFile,
    opts: &Options,
    paths: &Paths,
    cache: Option<&RunCache>,
    report: &mut dyn FnMut(Event<'_>),
) -> Result<Summary, LockError> {
    let n = p.stages.len();
    let mut waiting: Vec<usize> =
        (0..n).map(|i| p.dag.upstream[i].iter().filter(|&&u| selected[u]).count()).collect();
    let mut st = vec![St::Pending; n];
    let mut ready: VecDeque<usize> =
        p.dag.order.iter().copied().filter(|&i| selected[i] && waiting[i] == 0).collect();
    let mut summary = Summary::default();
    let mut stop = false;
    let mut lock_error = None;
    let mut text = LockText::of(lock);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<Msg>();
        let mut in_flight = 0;
        loop {
            while in_flight < opts.jobs.max(1) && !stop {
                let Some(i) = ready.pop_front() else { break };
                let stage = &p.stages[i];
                if stage.frozen {
                    report(Event::Frozen { stage: &stage.name });
                    st[i] = St::Ok { ran: false };
                    release(p, selected, i, &mut waiting, &st, &mut ready);
                    continue;
                }
                st[i] = St::Running;
                let entry = lock.stages.get(&stage.name).cloned();
                let tx = tx.clone();
                let (root, logs, force, stats, dvc, groups) =
                    (&paths.root, &paths.logs, opts.force, &paths.stats, &paths.dvc, &paths.groups);
                scope.spawn(move || {
                    let outcome = (|| {
                        let now = state::inputs_with(root, stage, stats)?;
                        let reason = match force {
                            true => Some(Reason::Forced),
                            false => state::check_with(root, stage, entry.as_ref(), &now, stats)?,
                        };
                        let Some(reason) = reason else { return Ok(Outcome::UpToDate) };
                        let cache = cache.filter(|_| RunCache::applies(stage));
                        let key = cache.map(|_| super::runcache::key::key(stage, &now));
                        // what the lookup finds, and what a stage that ran or was taken over
                        // from dvc.lock leaves for the next clone
                        let record = |entry: &super::lock::StageLock| {
                            if let (Some(cache), Some(key)) = (cache, key)
                                && let Err(e) = cache.record(&key, entry, store)
                            {
                                let note =
                                    format!("stage {}: not kept in the run cache: {e}", stage.name);
                                let _ = tx.send(Msg::Note(note));
                            }
                        };
                        if reason == Reason::NoEntry
                            && let Some(entry) = dvc.adopt(root, stage, &now, Some(store))
                        {
                            record(&entry);
                            return Ok(Outcome::Adopted(Box::new(entry)));
                        }
                        if let (Some(cache), Some(key), false) =
                            (cache, key, reason == Reason::Forced)
                        {
                            match cache.lookup(root, stage, &now, key, store) {
                                Lookup::Restored(entry) => {
                                    return Ok(Outcome::Restored(entry, reason));
                                }
                                Lookup::Miss(Some(note)) => {
                                    let _ = tx.send(Msg::Note(note));
                                }
                                Lookup::Miss(None) => {}
                            }
                        }
                        let _ = tx.send(Msg::Started(i, reason));
                        let t0 = Instant::now();
                        let entry = exec::execute(root, stage, now, store, logs, groups)?;
                        record(&entry);
                        Ok(Outcome::Ran(Box::new(entry), t0.elapsed().as_secs_f64()))
                    })()
                    .unwrap_or_else(Outcome::Failed);
                    let _ = tx.send(Msg::Finished(i, outcome));
                });
                in_flight += 1;
            }
            if in_flight == 0 {
                break;
            }
            let Ok(msg) = rx.recv() else { break };
            let (i, outcome) = match msg {
                Msg::Started(i, reason) => {
                    report(Event::Started { stage: &p.stages[i].name, reason: &reason });
                    continue;
                }
                Msg::Note(note) => {
                    report(Event::Note(&note));
                    continue;
                }
                Msg::Finished(i, outcome) => (i, outcome),
            };
            in_flight -= 1;
            let name = &p.stages[i].name;
            if let Outcome::Ran(entry, _) | Outcome::Restored(entry, _) | Outcome::Adopted(entry) =
                &outcome
            {
                text.set(name, entry);
                // named as not staged yet before the lock names it: a crash before the final
                // `git add` leaves the next run something to stage
                note_unstaged(&paths.unstaged, name);
                if let Err(e) = text.write(&paths.lock, &paths.tmp) {
                    lock_error = Some(e);
                    stop = true;
                }
            }
            let ok = match outcome {
                Outcome::UpToDate => {
                    let cutoff = p.dag.upstream[i].iter().any(|&u| st[u] == St::Ok { ran: true });
                    report(Event::UpToDate { stage: name, cutoff });
                    summary.up_to_date.push(i);
                    St::Ok { ran: false }
                }
                Outcome::Restored(_, reason) => {
                    report(Event::Restored { stage: name, reason: &reason });
                    summary.restored.push(i);
                    St::Ok { ran: true }
                }
                Outcome::Adopted(_) => {
                    report(Event::Adopted { stage: name });
                    summary.adopted.push(i);
                    St::Ok { ran: false }
                }
                Outcome::Ran(_, seconds) => {
                    report(Event::Done { stage: name, seconds });
                    summary.ran.push(i);
                    St::Ok { ran: true }
                }
                Outcome::Failed(error) => {
                    report(Event::Failed { stage: name, error: &error });
                    summary.failed += 1;
                    st[i] = St::Failed;
                    if !opts.keep_going {
                        stop = true;
                        continue;
                    }
                    let mut below: Vec<usize> = p.dag.downstream[i].clone();
                    while let Some(d) = below.pop() {
                        if selected[d] && st[d] == St::Pending {
                            st[d] = St::Skipped;
                            summary.skipped += 1;
                            report(Event::Skipped { stage: &p.stages[d].name, failed: name });
                            below.extend(&p.dag.downstream[d]);
                        }
                    }
                    continue;
                }
            };
            st[i] = ok;
            release(p, selected, i, &mut waiting, &st, &mut ready);
        }
    });
    match lock_error {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

/// Marks `i` done for its downstream stages; those with nothing left to wait for get ready.
fn release(
    p: &Pipeline,
    selected: &[bool],
    i: usize,
    waiting: &mut [usize],
    st: &[St],
    ready: &mut VecDeque<usize>,
) {
    for &d in &p.dag.downstream[i] {
        if selected[d] {
            waiting[d] -= 1;
            if waiting[d] == 0 && st[d] == St::Pending {
                ready.push_back(d);
            }
        }
    }
}

#[cfg(test)]
mod tests;

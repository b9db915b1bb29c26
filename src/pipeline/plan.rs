//! What `git data repro --dry` says of each selected stage, in graph order: why it would run,
//! that it would run if an upstream stage that runs changes its outputs, or why not.
//!
//! Invariants: nothing is run or written; a stage's state is read as the scheduler
//! ([`super::run`]) reads it, so the plan names the reason the run would give.

use super::load::Pipeline;
use super::lock::LockFile;
use super::state::{self, Reason, StateError};

/// What `--dry` says of a stage.
pub(crate) enum Plan {
    Run(Reason),
    /// Runs if the named upstream stage, which runs, changes its outputs.
    AfterUpstream(String),
    UpToDate,
    /// Up to date as `dvc.lock` records it: the run takes its entry into `gitdata.lock`.
    InDvcLock,
    Frozen,
    Error(StateError),
}

/// The plan of each selected stage, in graph order; nothing is run or written.
pub(crate) fn plan(
    p: &Pipeline,
    selected: &[bool],
    lock: &LockFile,
    root: &std::path::Path,
    force: bool,
    stats: &super::statcache::Stats,
    dvc: &super::adopt::DvcLock,
) -> Vec<(usize, Plan)> {
    let mut runs = vec![false; p.stages.len()];
    let mut out = Vec::new();
    for &i in p.dag.order.iter().filter(|&&i| selected[i]) {
        let stage = &p.stages[i];
        let upstream =
            p.dag.upstream[i].iter().find(|&&u| runs[u]).map(|&u| p.stages[u].name.clone());
        let plan = if stage.frozen {
            Plan::Frozen
        } else if force {
            Plan::Run(Reason::Forced)
        } else {
            match state::inputs_with(root, stage, stats) {
                Err(StateError::MissingDep(_)) if upstream.is_some() => {
                    Plan::AfterUpstream(upstream.clone().unwrap_or_default())
                }
                Err(e) => Plan::Error(e),
                Ok(now) => {
                    match state::check_with(root, stage, lock.stages.get(&stage.name), &now, stats)
                    {
                        Ok(Some(Reason::NoEntry))
                            if dvc.adopt(root, stage, &now, None).is_some() =>
                        {
                            match &upstream {
                                Some(u) => Plan::AfterUpstream(u.clone()),
                                None => Plan::InDvcLock,
                            }
                        }
                        Ok(Some(reason)) => Plan::Run(reason),
                        Ok(None) => match &upstream {
                            Some(u) => Plan::AfterUpstream(u.clone()),
                            None => Plan::UpToDate,
                        },
                        Err(e) => Plan::Error(e),
                    }
                }
            }
        };
        runs[i] = matches!(plan, Plan::Run(_) | Plan::AfterUpstream(_));
        out.push((i, plan));
    }
    out
}

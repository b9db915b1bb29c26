//! Pipelines: `git data repro` runs the stages of an unchanged `dvc.yaml` and records what
//! they read and wrote in its own lock file beside it ([`LOCK_NAME`]; `dvc.lock` is never
//! read or written). See docs/pipelines.md.
//!
//! The steps, one module each: read and expand `dvc.yaml` ([`load`]: templating in
//! [`template`], `foreach`/`matrix` in [`expand`], each stage checked in [`spec`]); order the
//! stages ([`dag`]); read tracked params ([`params`]); hash files and directories ([`hash`]);
//! read and write the lock ([`lock`]); let the stat cache vouch for unchanged files
//! ([`statcache`]); decide which stages must run and why ([`state`]); run them, in parallel
//! along the graph ([`run`]), or restore them from the run cache ([`runcache`]). Invariant:
//! nothing here prints; the command line receives events and prints them. `--set` edits a
//! params file first ([`setparam`]).

pub(crate) mod adopt;
pub(crate) mod dag;
pub(crate) mod error;
pub(crate) mod exec;
pub(crate) mod expand;
pub(crate) mod groups;
pub(crate) mod hash;
pub(crate) mod load;
pub(crate) mod lock;
pub(crate) mod metrics;
pub(crate) mod owner;
pub(crate) mod params;
pub(crate) mod plan;
pub(crate) mod run;
pub(crate) mod runcache;
pub(crate) mod setparam;
pub(crate) mod spec;
pub(crate) mod statcache;
pub(crate) mod state;
pub(crate) mod template;

pub(crate) use error::{PIPELINE_NAME, PipelineError};
pub(crate) use lock::LOCK_NAME;
pub(crate) use spec::join_path;

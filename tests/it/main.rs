//! The integration tests: one binary, real git, hermetic temporary repositories.

mod add;
mod common;
mod concurrency;
mod crash;
mod delay;
mod diff;
mod download;
mod dvc;
mod everyday;
mod faults;
mod fuzz;
mod gc;
mod harness;
mod inputs;
mod integrity;
mod lfs;
mod migrate;
mod paths;
mod policy;
mod recovery;
mod retries;
mod s3;
mod s3server;
mod setup;
mod status;
mod workflow;

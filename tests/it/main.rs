//! The integration tests: one binary, real git, hermetic temporary repositories.

mod add;
mod common;
mod crash;
mod delay;
mod diff;
mod download;
mod dvc;
mod faults;
mod fuzz;
mod gc;
mod lfs;
mod migrate;
mod policy;
mod s3;
mod s3server;
mod setup;
mod status;
mod workflow;

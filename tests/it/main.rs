//! The integration tests: one binary, real git, hermetic temporary repositories.

mod add;
mod common;
mod delay;
mod download;
mod dvc;
mod faults;
mod lfs;
mod migrate;
mod policy;
mod s3;
mod s3server;
mod setup;
mod status;
mod workflow;

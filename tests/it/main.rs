//! The integration tests: one binary, real git, hermetic temporary repositories.

mod common;
mod faults;
mod setup;
mod workflow;

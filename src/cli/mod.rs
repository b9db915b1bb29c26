//! The command line: arguments, the context a command receives, and one module per command
//! and per entry point git calls. Nothing below this folder imports it.

pub mod args;
pub mod commands;
pub mod context;
pub mod error;
pub mod ui;

//! The command line: its arguments, and the work it does besides serving.

pub mod args;
pub mod documents;
pub mod export_command;
pub mod import;
pub mod import_command;
mod progress;
pub mod token;
pub mod webhook;

pub use args::Cli;

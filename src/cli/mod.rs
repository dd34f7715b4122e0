//! Command-line work besides serving.

pub mod import;

//! Command-line work besides serving.

pub mod import;
pub mod token;

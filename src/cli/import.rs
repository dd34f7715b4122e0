//! `contacts-api import FILE`: the file is read and written by the service
//! (service::import_file); this names what the command line uses.

pub use crate::service::import_file::{
    run, FileFormat, ImportOptions, Progress, Rejected, Summary,
};

mod changes;
mod contact;
mod duplicates;
mod import_job;
mod merge;

pub use changes::ChangeQuery;
pub use contact::ContactQuery;
pub use duplicates::DuplicateQuery;
pub use import_job::ImportJobQuery;
pub use merge::MergeQuery;

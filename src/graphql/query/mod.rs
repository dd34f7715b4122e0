mod changes;
mod contact;
mod duplicates;
mod merge;

pub use changes::ChangeQuery;
pub use contact::ContactQuery;
pub use duplicates::DuplicateQuery;
pub use merge::MergeQuery;

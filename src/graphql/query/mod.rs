mod changes;
mod contact;
mod duplicates;

pub use changes::ChangeQuery;
pub use contact::ContactQuery;
pub use duplicates::DuplicateQuery;

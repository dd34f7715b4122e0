mod changes;
mod contact;

pub use changes::ChangeQuery;
pub use contact::ContactQuery;

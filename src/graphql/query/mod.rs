mod contact;

pub use contact::ContactQuery;

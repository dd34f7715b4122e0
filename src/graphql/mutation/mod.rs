mod contact;

pub use contact::ContactMutation;

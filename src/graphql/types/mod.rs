//! GraphQL output types, built from entity models.

mod connection;
mod contact;
mod conversation;
mod node;
mod scalars;

pub use connection::{ContactConnection, ContactEdge, Neighbour, PageInfo};
pub use contact::{Address, Contact, ContactType, Handle, MergeRecord};
pub use conversation::Conversation;
pub use node::Node;
pub use scalars::{DateTime, JsonObject};

//! GraphQL input types and their conversion into domain inputs.

mod contact;
mod conversation;
mod filter;

pub use contact::{
    AddressInput, ConversationInput, CreateContactInput, CreateOrUpdateContactInput, HandleInput,
    UpdateContactInput,
};
pub use conversation::LinkConversationInput;
pub use filter::{ContactFilter, ContactOrder, ContactOrderField, OrderDirection};

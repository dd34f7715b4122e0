//! GraphQL input types and their conversion into domain inputs.

mod contact;
mod filter;

pub use contact::{
    AddressInput, ConversationInput, CreateContactInput, CreateOrUpdateContactInput, HandleInput,
    UpdateContactInput,
};
pub use filter::{ContactFilter, ContactOrder, ContactOrderField, OrderDirection};

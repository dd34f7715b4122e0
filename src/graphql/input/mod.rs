//! GraphQL input types and their conversion into domain inputs.

mod changes;
mod contact;
mod conversation;
mod filter;
mod import;
mod merge;

pub use changes::{contact_ids, ContactChangeFilter};
pub use contact::{
    AddressInput, ConversationInput, CreateContactInput, CreateOrUpdateContactInput, HandleInput,
    UpdateContactInput,
};
pub use conversation::LinkConversationInput;
pub use filter::{ContactFilter, ContactOrder, ContactOrderField, OrderDirection};
pub use import::{
    mapping_of, ColumnMappingInput, ImportConflict, ImportContactsInput, ImportFileFormat,
};
pub use merge::{field_choices, FieldChoiceInput};

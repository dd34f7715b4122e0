//! GraphQL output types, built from entity models.

mod connection;
mod contact;
mod contact_event;
mod contact_type;
mod conversation;
mod duplicates;
mod import_job;
mod list_pages;
mod merge_preview;
mod merge_record;
mod node;
mod payloads;
mod scalars;

pub use connection::{ContactConnection, ContactEdge, Neighbour, PageInfo};
pub use contact::{Address, Contact, Handle};
pub use contact_event::{ContactChangeConnection, ContactEvent, ContactEventKind};
pub use contact_type::ContactType;
pub use conversation::Conversation;
pub use duplicates::{DuplicateCandidate, DuplicateCandidateConnection, DuplicateReasonKind};
pub use import_job::{ImportFailure, ImportJob, ImportJobStatus, UndoImportPayload};
pub use list_pages::{
    list_page_size, ConversationConnection, GroupNameConnection, HandleConnection,
    MergeRecordConnection,
};
pub use merge_preview::MergePreview;
pub use merge_record::MergeRecord;
pub use node::Node;
pub use payloads::{
    CreateOrUpdateContactPayload, ImportAction, ImportContactsPayload, ImportError,
    ImportRowOutcome,
};
pub use scalars::{DateTime, Json, JsonObject};

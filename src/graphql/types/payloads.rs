use async_graphql::{SimpleObject, ID};

use crate::error::AppError;

use super::Contact;

/// What createOrUpdateContact did.
#[derive(SimpleObject)]
pub struct CreateOrUpdateContactPayload {
    /// The contact after the call.
    pub contact: Contact,
    /// Whether the contact was created (true: no key matched) or updated (false).
    pub created: bool,
}

/// A row of an import that was not written.
#[derive(SimpleObject)]
pub struct ImportError {
    /// Position of the row in input.contacts.
    pub index: i32,
    /// The error code (BAD_USER_INPUT, CONFLICT, ...).
    pub code: String,
    /// Input path of the offending field, e.g. input.contacts.3.via.0.handle.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// Why a retry may succeed or what to do, as `extensions.reason` of a mutation's
    /// error: AMBIGUOUS_MATCH when the row's keys lead to two different contacts.
    pub reason: Option<String>,
    /// For AMBIGUOUS_MATCH: the existing contacts the row's keys lead to (empty when
    /// one of them is a contact an earlier row of this import creates).
    pub contact_ids: Vec<ID>,
}

impl ImportError {
    pub fn new(index: usize, error: &AppError) -> Self {
        let contact_ids = match error {
            AppError::AmbiguousMatch { contact_ids, .. } => {
                contact_ids.iter().map(|id| ID(id.to_string())).collect()
            }
            _ => Vec::new(),
        };
        Self {
            index: i32::try_from(index).unwrap_or(i32::MAX),
            code: error.code().to_owned(),
            field: error.field().map(str::to_owned),
            message: error.to_string(),
            reason: error.reason().map(str::to_owned),
            contact_ids,
        }
    }
}

/// What became of one row of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum ImportAction {
    /// The row created a contact.
    Create,
    /// The row updated the existing contact it matched (UPDATE, FILL_BLANKS).
    Update,
    /// The row was left out (SKIP): it matched an existing contact.
    Skip,
    /// The row failed (its error is in `error`).
    Fail,
    /// The row was valid, but nothing was written: atomic, and another row failed.
    NotWritten,
}

/// One row's outcome.
#[derive(SimpleObject)]
pub struct ImportRowOutcome {
    /// Position of the row in input.contacts.
    pub index: i32,
    /// What the row did (or, in a dry run, would do).
    pub action: ImportAction,
    /// The contact the row created, updated or matched (SKIP); null for a
    /// dry run's creates, and for a row matching a contact an earlier row
    /// of the same import creates.
    pub contact_id: Option<ID>,
    /// Why the row failed (action FAIL).
    pub error: Option<ImportError>,
}

/// What importContacts did.
#[derive(SimpleObject)]
pub struct ImportContactsPayload {
    /// Created or updated contacts, in input order (none for a dry run).
    pub contacts: Vec<Contact>,
    /// Every row's outcome, in input order.
    pub rows: Vec<ImportRowOutcome>,
    /// Whether this was a dry run (input.dryRun): nothing was written.
    pub dry_run: bool,
    /// Rows that created a contact.
    pub created_count: i32,
    /// Rows that updated an existing contact.
    pub updated_count: i32,
    /// Rows left out (onConflict: SKIP).
    pub skipped_count: i32,
    /// Rows that failed, with their index.
    pub errors: Vec<ImportError>,
}

use async_graphql::{Enum, InputObject};

use super::CreateContactInput;
use crate::service::import::OnConflictMode;

/// What an imported row whose handle or externalId is taken does.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportConflict {
    /// A row whose handle or externalId is taken fails (an error for that row).
    #[default]
    Fail,
    /// Such a row is left out, the existing contact untouched.
    Skip,
    /// Such a row updates the existing contact (UpdateContactInput rules).
    Update,
    /// Such a row fills only what the existing contact lacks: empty fields
    /// and address parts are set, handles, group names, links and
    /// metadata keys it lacks are added; nothing it holds is changed or
    /// removed.
    FillBlanks,
}

impl From<ImportConflict> for OnConflictMode {
    fn from(c: ImportConflict) -> Self {
        match c {
            ImportConflict::Fail => Self::Fail,
            ImportConflict::Skip => Self::Skip,
            ImportConflict::Update => Self::Update,
            ImportConflict::FillBlanks => Self::FillBlanks,
        }
    }
}

/// A batch of contacts to import.
#[derive(InputObject)]
pub struct ImportContactsInput {
    /// The rows; rows sharing a handle or externalId are one contact, never two.
    pub contacts: Vec<CreateContactInput>,
    /// What a row whose handle or externalId is taken does.
    #[graphql(default)]
    pub on_conflict: ImportConflict,
    /// true: if any row fails, nothing is written and errors list every failing row.
    /// false: valid rows are written, failing rows are reported in errors.
    #[graphql(default = true)]
    pub atomic: bool,
    /// true: plan every row and write nothing. The payload's rows, counts
    /// and errors say what each row would do, planned as if atomic were
    /// false (with atomic: true, any error means nothing would be written);
    /// no contact is returned and no event is sent.
    #[graphql(default)]
    pub dry_run: bool,
}

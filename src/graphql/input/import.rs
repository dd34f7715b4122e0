use async_graphql::{Enum, InputObject};

use super::CreateContactInput;
use crate::error::AppError;
use crate::formats::{FileFormat, Mapping, Target};
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

/// An address-book file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ImportFileFormat {
    /// One JSON array of CreateContactInput objects.
    Json,
    /// One CreateContactInput object per line.
    Ndjson,
    /// CSV: our input field names as the header, a Google Contacts,
    /// Outlook or HubSpot export (recognised by its header), or any header
    /// with `mapping`.
    Csv,
    /// vCard 2.1, 3.0 or 4.0, any number of cards.
    Vcard,
}

impl From<ImportFileFormat> for FileFormat {
    fn from(f: ImportFileFormat) -> Self {
        match f {
            ImportFileFormat::Json => Self::Json,
            ImportFileFormat::Ndjson => Self::Ndjson,
            ImportFileFormat::Csv => Self::Csv,
            ImportFileFormat::Vcard => Self::Vcard,
        }
    }
}

/// Where one CSV column goes.
#[derive(InputObject)]
pub struct ColumnMappingInput {
    /// The column's header, as the file writes it (case-insensitive).
    pub column: String,
    /// Where its cells go: an input field (displayName, title, externalId,
    /// ...), via.SOURCE, metadata.KEY (nested by dots), address.FIELD,
    /// groupNames or links (split by `;`), isSpammer, name.given,
    /// name.middle, name.family, name.prefix, name.suffix; `-` leaves the
    /// column out.
    pub field: String,
}

/// The mapping argument as the reader takes it; the error names the entry.
pub fn mapping_of(entries: Option<Vec<ColumnMappingInput>>) -> Result<Mapping, AppError> {
    let mut pairs = Vec::new();
    for (i, entry) in entries.unwrap_or_default().into_iter().enumerate() {
        let field = format!("mapping.{i}.field");
        let target = Target::parse(&entry.field).ok_or_else(|| {
            AppError::bad_input(
                &field,
                format!(
                    "{field}: {:?} is not a field (use e.g. displayName, via.phone, metadata.KEY, address.city, groupNames, name.given, or -)",
                    entry.field
                ),
            )
        })?;
        let column = entry.column.trim().to_owned();
        if pairs
            .iter()
            .any(|(c, _): &(String, Target)| c.eq_ignore_ascii_case(&column))
        {
            let field = format!("mapping.{i}.column");
            return Err(AppError::bad_input(
                &field,
                format!("{field}: the column {column:?} is mapped twice (columns match whatever their case)"),
            ));
        }
        pairs.push((column, target));
    }
    Ok(Mapping(pairs))
}

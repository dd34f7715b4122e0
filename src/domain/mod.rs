//! Validation and normalisation of everything a client sends. Pure functions:
//! no database, no GraphQL. Each error names the input path it is about.

pub mod blocked;
mod contact_input;
pub mod duplicates;
mod fields;
pub mod fill;
mod handle;
mod identity;
mod metadata;
pub mod numbers;
pub mod persisted;
pub mod phone;
mod search;
pub mod token;

pub use contact_input::{
    AddressInput, ContactChanges, ContactInput, ConversationInput, ConversationLink, HandleInput,
    MetadataChange, Mode, Patch, PathedHandle, TEXT_FIELDS,
};
pub use entity::text_keys;
pub use handle::{normalize_handle, normalize_source, NormalizedHandle};
pub use identity::IdentitySecret;
pub use metadata::{merge_patch, validate_metadata, MAX_METADATA_BYTES};
pub use search::{
    check_filter_text, like_contains_pattern, phone_digits_query, LIKE_ESCAPE, MAX_SEARCH_CHARS,
};
pub use token::Scope;

use crate::error::AppError;

/// A kind of contact offered to users (RingCentral's manifest contactTypes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactTypeDef {
    pub value: String,
    pub display: String,
}

/// The configuration-dependent part of validation.
#[derive(Debug, Clone)]
pub struct Rules {
    pub default_region: rlibphonenumber::enums::Region,
    pub contact_types: Vec<ContactTypeDef>,
    pub limits: InputLimits,
    /// Handles stored but matched by nothing (`--blocked-identifiers`).
    pub blocked: blocked::BlockedIdentifiers,
}

/// What one input (a create, an update, an import row) may carry. Each bound
/// is a server flag, named in the LIMIT_EXCEEDED error that names the field.
/// What accumulates over time (merges, conversations linked one by one) is
/// not bounded by these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLimits {
    /// Handles in `via` (--max-via).
    pub via: usize,
    /// Entries of `groupNames` (--max-group-names).
    pub group_names: usize,
    /// Entries of `links` (--max-links).
    pub links: usize,
    /// Entries of `conversations` (--max-conversations).
    pub conversations: usize,
    /// Top-level keys of `metadata` (--max-metadata-keys).
    pub metadata_keys: usize,
    /// Bytes of UTF-8 of the whole input's values (--max-contact-bytes).
    pub contact_bytes: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            via: 250,
            group_names: 250,
            links: 250,
            conversations: 1_000,
            metadata_keys: 1_000,
            contact_bytes: 1 << 20,
        }
    }
}

impl Rules {
    pub fn new(
        default_region: rlibphonenumber::enums::Region,
        contact_types: Vec<ContactTypeDef>,
    ) -> Self {
        Self {
            default_region,
            contact_types,
            limits: InputLimits::default(),
            blocked: blocked::BlockedIdentifiers::parse(blocked::DEFAULT),
        }
    }

    /// "contact" when offered (the contract's default), else the first type listed.
    pub fn default_contact_type(&self) -> &str {
        self.contact_types
            .iter()
            .find(|t| t.value == "contact")
            .or(self.contact_types.first())
            .map(|t| t.value.as_str())
            .unwrap_or("contact")
    }

    pub fn check_contact_type(&self, field: &str, value: &str) -> Result<String, AppError> {
        let value = value.trim();
        if self.contact_types.iter().any(|t| t.value == value) {
            return Ok(value.to_owned());
        }
        let offered: Vec<&str> = self
            .contact_types
            .iter()
            .map(|t| t.value.as_str())
            .collect();
        Err(AppError::bad_input(
            field,
            format!(
                "{field}: unknown contact type {value:?}; offered: {}",
                offered.join(", ")
            ),
        ))
    }
}

impl Default for Rules {
    fn default() -> Self {
        Self::new(
            rlibphonenumber::enums::Region::US,
            vec![
                ContactTypeDef {
                    value: "contact".into(),
                    display: "Contact".into(),
                },
                ContactTypeDef {
                    value: "lead".into(),
                    display: "Lead".into(),
                },
            ],
        )
    }
}

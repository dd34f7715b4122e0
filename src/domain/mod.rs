//! Validation and normalisation of everything a client sends. Pure functions:
//! no database, no GraphQL. Each error names the input path it is about.

mod contact_input;
mod fields;
mod handle;
mod identity;
mod metadata;
pub mod numbers;
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
}

impl Rules {
    pub fn new(
        default_region: rlibphonenumber::enums::Region,
        contact_types: Vec<ContactTypeDef>,
    ) -> Self {
        Self {
            default_region,
            contact_types,
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

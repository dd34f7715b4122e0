use async_graphql::{Enum, InputObject};

use crate::domain::{check_filter_text, normalize_source, MAX_SEARCH_CHARS};

/// Longest source, group name or contact type a filter may name, in
/// characters: longer ones cannot exist, so they are refused rather than sent.
const MAX_NAME_CHARS: usize = 1_000;
use crate::error::AppError;
use crate::graphql::types::DateTime;
use crate::service::list::{self, Direction, OrderField};

/// Narrows a contact list; every field given must hold.
#[derive(InputObject, Clone, Default)]
pub struct ContactFilter {
    /// Case-insensitive substring of display name, organization, any handle or externalId. Phone digits match regardless of formatting. At most 256 characters, no NUL (BAD_USER_INPUT, field filter.search).
    pub search: Option<String>,
    /// Contacts having a handle of this source.
    pub source: Option<String>,
    /// Contacts in this group.
    pub group_name: Option<String>,
    /// Contacts of this type.
    pub contact_type: Option<String>,
    /// Contacts marked (or not) as spammers.
    pub is_spammer: Option<bool>,
    /// Contacts created strictly after this instant.
    pub created_after: Option<DateTime>,
    /// Contacts created strictly before this instant.
    pub created_before: Option<DateTime>,
}

impl ContactFilter {
    pub fn into_domain(self) -> Result<list::ContactFilter, AppError> {
        let nonblank = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        for (field, text, max) in [
            ("filter.search", &self.search, MAX_SEARCH_CHARS),
            ("filter.source", &self.source, MAX_NAME_CHARS),
            ("filter.groupName", &self.group_name, MAX_NAME_CHARS),
            ("filter.contactType", &self.contact_type, MAX_NAME_CHARS),
        ] {
            if let Some(text) = text {
                check_filter_text(field, text, max)?;
            }
        }
        Ok(list::ContactFilter {
            search: nonblank(self.search),
            source: nonblank(self.source)
                .map(|s| normalize_source("filter.source", &s))
                .transpose()?,
            group_name: nonblank(self.group_name),
            contact_type: nonblank(self.contact_type),
            is_spammer: self.is_spammer,
            created_after: self.created_after.map(|t| t.0),
            created_before: self.created_before.map(|t| t.0),
        })
    }
}

/// Field contacts are ordered by; ties are broken by id.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContactOrderField {
    /// When the contact was created (the default).
    #[default]
    CreatedAt,
    /// When any of the contact's fields, handles, groups, metadata or
    /// conversations last changed.
    UpdatedAt,
    /// Case-insensitive, contacts without a name first (ASC).
    DisplayName,
}

/// Sort direction.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest first (the default).
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// Order of a contact list.
#[derive(InputObject, Clone, Copy, Default)]
pub struct ContactOrder {
    /// What to sort by; CREATED_AT when absent.
    #[graphql(default)]
    pub field: ContactOrderField,
    /// ASC or DESC; ASC when absent.
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl From<ContactOrderField> for OrderField {
    fn from(f: ContactOrderField) -> Self {
        match f {
            ContactOrderField::CreatedAt => Self::CreatedAt,
            ContactOrderField::UpdatedAt => Self::UpdatedAt,
            ContactOrderField::DisplayName => Self::DisplayName,
        }
    }
}

impl From<OrderDirection> for Direction {
    fn from(d: OrderDirection) -> Self {
        match d {
            OrderDirection::Asc => Self::Asc,
            OrderDirection::Desc => Self::Desc,
        }
    }
}

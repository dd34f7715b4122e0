use async_graphql::{InputObject, ID};

use crate::error::AppError;
use crate::graphql::ids::parse_uuid;
use crate::service::merge_choices::FieldChoice;

/// Where one field's surviving value comes from in a merge.
#[derive(InputObject, Clone)]
pub struct FieldChoiceInput {
    /// A single-valued Contact field by its input path: displayName, avatarUrl, title,
    /// timezone, gender, locale, organizationName, description, externalId,
    /// address.organizationName, address.addressLine1, address.addressLine2,
    /// address.postcode, address.city, address.state, address.country, contactType or
    /// isSpammer. Lists (via, groupNames, links, conversations) and metadata are united
    /// by a merge, not chosen.
    pub field: String,
    /// One of the merged contacts (the destination or a source, by the id given in the
    /// same call); its value, even an empty one, is the one that stays.
    pub from_contact_id: ID,
}

/// The choices as the service takes them; a malformed id is BAD_USER_INPUT
/// naming `{list}.N.fromContactId`.
pub fn field_choices(
    list: &str,
    choices: Option<Vec<FieldChoiceInput>>,
) -> Result<Vec<FieldChoice>, AppError> {
    choices
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(FieldChoice {
                from: parse_uuid(&format!("{list}.{i}.fromContactId"), &c.from_contact_id)?,
                field: c.field,
            })
        })
        .collect()
}

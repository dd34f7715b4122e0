use async_graphql::{InputObject, ID};
use uuid::Uuid;

use crate::error::AppError;
use crate::graphql::ids::parse_uuid;
use crate::graphql::types::ContactEventKind;
use crate::service::changes::ChangeFilter;

/// Most contact ids a change-log filter may name.
pub const MAX_FILTER_IDS: usize = 1_000;

/// Which change-log entries to return; absent fields do not filter.
#[derive(InputObject, Default)]
pub struct ContactChangeFilter {
    /// Entries of these contacts, and MERGED entries whose destination is
    /// one of them. At most 1,000 ids.
    pub contact_ids: Option<Vec<ID>>,
    /// Entries of these kinds.
    pub kinds: Option<Vec<ContactEventKind>>,
}

impl ContactChangeFilter {
    /// The service's filter; `field` is where this input sits.
    pub fn into_filter(self, field: &str) -> Result<ChangeFilter, AppError> {
        Ok(ChangeFilter {
            contact_ids: contact_ids(&format!("{field}.contactIds"), self.contact_ids)?,
            kinds: self
                .kinds
                .map(|kinds| kinds.into_iter().map(Into::into).collect()),
        })
    }
}

/// Contact ids a filter names, checked as `field`.
pub fn contact_ids(field: &str, ids: Option<Vec<ID>>) -> Result<Option<Vec<Uuid>>, AppError> {
    let Some(ids) = ids else {
        return Ok(None);
    };
    if ids.len() > MAX_FILTER_IDS {
        return Err(AppError::TooLarge {
            field: field.to_owned(),
            message: format!("{field}: at most {MAX_FILTER_IDS} ids, {} given", ids.len()),
        });
    }
    ids.iter()
        .enumerate()
        .map(|(i, id)| parse_uuid(&format!("{field}[{i}]"), id))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

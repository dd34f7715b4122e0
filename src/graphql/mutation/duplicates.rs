use async_graphql::{Context, Object, ID};

use crate::graphql::ids::parse_uuid;
use crate::graphql::state::ctx_state;
use crate::graphql::types::Contact;
use crate::service::dismissals;

#[derive(Default)]
pub struct DuplicateMutation;

/// Dismissing duplicate candidates: "these are not the same person".
#[Object]
impl DuplicateMutation {
    /// Marks every pair of the named contacts (2 to 50) "not the same person": no such
    /// pair comes back from duplicateCandidates, also after either side is merged into
    /// another contact or unmerged. Dismissing a pair twice changes nothing. Each contact
    /// whose marks changed gets a DUPLICATE_DISMISSED change-log entry and event, its
    /// `duplicateDismissals` naming the others. Returns the contacts (a merged-away id
    /// stands for the contact it was merged into). Errors: more than 50 ids: LIMIT_EXCEEDED,
    /// fewer than 2: BAD_USER_INPUT, both naming `contactIds`; a malformed id or two ids
    /// of one contact: BAD_USER_INPUT naming `contactIds.N`; an unknown id: NOT_FOUND
    /// naming `contactIds.N`.
    async fn dismiss_duplicate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contacts that are not one person (2 to 50).")] contact_ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Contact>> {
        let state = ctx_state(ctx)?;
        let ids = parse_ids(&contact_ids)?;
        Ok(dismissals::dismiss(&state.db, &state.events, &ids)
            .await?
            .into_iter()
            .map(Contact::from)
            .collect())
    }

    /// Takes back dismissDuplicate for every pair of the named contacts, including
    /// dismissals made under ids merged into them since: such pairs are candidates again
    /// (on the next read of duplicateCandidates) where they still score. Each contact
    /// whose marks changed gets a DUPLICATE_UNDISMISSED entry and event. Returns the
    /// contacts. Errors as dismissDuplicate's.
    async fn undismiss_duplicate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contacts whose dismissals are taken back (2 to 50).")]
        contact_ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Contact>> {
        let state = ctx_state(ctx)?;
        let ids = parse_ids(&contact_ids)?;
        Ok(dismissals::undismiss(&state.db, &state.events, &ids)
            .await?
            .into_iter()
            .map(Contact::from)
            .collect())
    }
}

/// The ids, counted before any is read (see dismissals::check_count).
fn parse_ids(ids: &[ID]) -> Result<Vec<uuid::Uuid>, crate::error::AppError> {
    dismissals::check_count(ids.len())?;
    ids.iter()
        .enumerate()
        .map(|(i, id)| parse_uuid(&format!("contactIds.{i}"), id))
        .collect()
}

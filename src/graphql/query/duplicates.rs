//! Duplicate candidates.

use async_graphql::{Context, Object, ID};

use crate::domain::duplicates::DEFAULT_MIN_SCORE;
use crate::error::AppError;
use crate::graphql::cost;
use crate::graphql::ids::parse_uuid;
use crate::graphql::state::ctx_state;
use crate::graphql::types::{list_page_size, DuplicateCandidateConnection};
use crate::service::duplicates::{self, CandidateQuery, Place};
use crate::service::merge;

#[derive(Default)]
pub struct DuplicateQuery;

#[Object]
impl DuplicateQuery {
    /// Pairs of contacts that look like one person, highest score first
    /// (then by ids), each with its score and reasons. Candidates come from
    /// an index kept from the change log: a read first brings it up to
    /// date, so every write committed before the read is in it. Pairs are
    /// found through shared keys (a mailbox, a phone line, an
    /// organisation, an address); a key that more than 50 contacts share
    /// (a large company) brings no pair by itself. Dismissed pairs
    /// (`dismissDuplicate`) never come back. `first`: 0 to 1,000, default 100.
    #[graphql(complexity = "cost::log_page(first, child_complexity)")]
    async fn duplicate_candidates(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Candidates in the page: 0 to 1,000 (LIMIT_EXCEEDED beyond); default 100."
        )]
        first: Option<i32>,
        #[graphql(desc = "Start after this edge cursor.")] after: Option<String>,
        #[graphql(
            desc = "Lowest score answered, 0 to 1 (BAD_USER_INPUT outside); default 0.7, where the labelled benchmark (bench/duplicates) measures its precision and recall. Pairs scoring under 0.5 are not kept (a common name, a shared organisation, address or household landline alone), so a lower value answers the same as 0.5."
        )]
        min_score: Option<f64>,
        #[graphql(
            desc = "Only this contact's candidates (its UUID; a merged-away id names the contact it was merged into)."
        )]
        contact_id: Option<ID>,
    ) -> async_graphql::Result<DuplicateCandidateConnection> {
        let limit = list_page_size(first)?;
        let min_score = min_score.unwrap_or(DEFAULT_MIN_SCORE);
        if !(0.0..=1.0).contains(&min_score) {
            return Err(AppError::bad_input("minScore", "minScore: must be from 0 to 1").into());
        }
        let contact_id = contact_id
            .map(|id| parse_uuid("contactId", &id))
            .transpose()?;
        let after = after
            .map(|cursor| Place::parse("after", &cursor))
            .transpose()?;
        let db = &ctx_state(ctx)?.db;
        // A merged-away id names the contact it was merged into.
        let contact_id = match contact_id {
            Some(id) => Some(merge::resolve(db, id).await?.map_or(id, |c| c.id)),
            None => None,
        };
        let candidates = duplicates::page(
            db,
            CandidateQuery {
                min_score,
                contact_id,
                after,
                limit: limit + 1,
            },
        )
        .await?;
        Ok(DuplicateCandidateConnection::of(candidates, limit))
    }
}

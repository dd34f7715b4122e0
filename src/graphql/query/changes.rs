//! The change log as a feed, for incremental sync.

use async_graphql::{Context, Object};

use crate::graphql::cost;
use crate::graphql::input::ContactChangeFilter;
use crate::graphql::state::db_slot;
use crate::graphql::types::list_page_size;
use crate::graphql::types::ContactChangeConnection;
use crate::service::changes::{self, Position};

#[derive(Default)]
pub struct ChangeQuery;

#[Object]
impl ChangeQuery {
    /// Every committed change to contacts, in log order, for incremental
    /// sync: creates, updates (with old and new values), deletes, merges
    /// and unmerges. Page with `after` (an edge's or an event's `cursor`):
    /// an entry committed later never lands before a cursor already
    /// returned, so a client that keeps its last cursor sees every change
    /// exactly once. Absent `after`: from the oldest entry kept. A cursor
    /// older than the kept log (--change-retention-days) is
    /// CURSOR_EXPIRED: read everything again, then sync from the newest
    /// cursor. `first`: 0 to 1,000, default 100.
    #[graphql(complexity = "cost::log_page(first, child_complexity)")]
    async fn contact_changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Start after this change-log cursor (an edge `cursor`, or a `contactEvents` event `cursor`); absent: from the oldest entry kept. CURSOR_EXPIRED once retention purged it."
        )]
        after: Option<String>,
        #[graphql(desc = "Entries in the page: 0 to 1,000 (LIMIT_EXCEEDED beyond); default 100.")]
        first: Option<i32>,
        #[graphql(desc = "Only entries of these contacts and kinds; absent: every entry.")]
        filter: Option<ContactChangeFilter>,
    ) -> async_graphql::Result<ContactChangeConnection> {
        let limit = list_page_size(first)?;
        let filter = filter.unwrap_or_default().into_filter("filter")?;
        let (db, _slot) = db_slot(ctx).await?;
        let after = changes::resume_after(db, "after", after.as_deref()).await?;
        let batch = changes::read(db, after.unwrap_or(Position::START), limit + 1, &filter).await?;
        Ok(ContactChangeConnection::of(batch, limit))
    }
}

use async_graphql::{Context, Object, ID};

use crate::graphql::ids::parse_uuid;
use crate::graphql::state::ctx_state;
use crate::graphql::types::Contact;
use crate::service::merge;

#[derive(Default)]
pub struct MergeMutation;

#[Object]
impl MergeMutation {
    /// Merges source into destination atomically (Airy): destination keeps every field
    /// it has; fields absent on it are taken from source; via, groupNames, links and
    /// conversations are united; metadata keys absent on destination are added
    /// (recursively); a snapshot of source is appended to destination's mergeHistory;
    /// source is removed and its id resolves to destination from then on.
    /// sourceId == destinationId is BAD_USER_INPUT.
    async fn merge_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact merged away (its id then resolves to the destination).")]
        source_id: ID,
        #[graphql(desc = "The contact that stays and keeps its fields.")] destination_id: ID,
    ) -> async_graphql::Result<Contact> {
        let state = ctx_state(ctx)?;
        let source = parse_uuid("sourceId", &source_id)?;
        let destination = parse_uuid("destinationId", &destination_id)?;
        Ok(merge::merge(&state.db, &state.events, source, destination)
            .await?
            .into())
    }

    /// Undoes a merge: the source contact comes back from its snapshot under its old
    /// id, with the via handles and conversations it brought (those still on the
    /// destination); fields that the merge filled on the destination and that still
    /// hold the merged value are cleared again; the merge record is removed.
    /// Returns the restored source. Unknown record: NOT_FOUND.
    async fn unmerge_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A `MergeRecord.id` from the destination's `mergeHistory`.")]
        merge_record_id: ID,
    ) -> async_graphql::Result<Contact> {
        let state = ctx_state(ctx)?;
        let record = parse_uuid("mergeRecordId", &merge_record_id)?;
        Ok(merge::unmerge(&state.db, &state.events, record)
            .await?
            .into())
    }
}

//! Merge previews.

use async_graphql::{Context, Object, ID};

use crate::graphql::ids::parse_uuid;
use crate::graphql::input::{self, FieldChoiceInput};
use crate::graphql::state::ctx_state;
use crate::graphql::types::MergePreview;
use crate::service::merge::{self, MergePlan};
use crate::service::merge_preview;

#[derive(Default)]
pub struct MergeQuery;

#[Object]
impl MergeQuery {
    /// What `mergeContacts(sourceId: sourceIds[0], additionalSourceIds: the rest,
    /// destinationId, fieldChoices)` would do now: the contact as it would be, what each
    /// source would bring, and every problem the merge would hit. It runs that very merge
    /// in a transaction that is rolled back (no event, no change-log entry), so the
    /// preview and the merge agree; it holds the merge's locks while it runs. Problems
    /// are answered in `problems`, not as errors; a malformed id is BAD_USER_INPUT, more
    /// than 50 sourceIds or more fieldChoices than fields LIMIT_EXCEEDED.
    async fn merge_preview(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contacts that would be merged away (1 to 50), in merge order.")]
        source_ids: Vec<ID>,
        #[graphql(desc = "The contact that would stay.")] destination_id: ID,
        #[graphql(desc = "As mergeContacts' fieldChoices.")] field_choices: Option<
            Vec<FieldChoiceInput>,
        >,
    ) -> async_graphql::Result<MergePreview> {
        let state = ctx_state(ctx)?;
        // Counted before anything is read of each entry.
        if source_ids.len() > merge::MAX_SOURCES {
            return Err(merge::too_many_sources("sourceIds", source_ids.len(), false).into());
        }
        let choices_given = field_choices.as_ref().map_or(0, Vec::len);
        if let Some(e) = merge::too_many_choices("fieldChoices", choices_given) {
            return Err(e.into());
        }
        let mut sources = Vec::with_capacity(source_ids.len());
        for (i, id) in source_ids.iter().enumerate() {
            let field = format!("sourceIds.{i}");
            sources.push((parse_uuid(&field, id)?, field));
        }
        let plan = MergePlan {
            sources,
            destination: (
                parse_uuid("destinationId", &destination_id)?,
                "destinationId".into(),
            ),
            choices: input::field_choices("fieldChoices", field_choices)?,
            choices_field: "fieldChoices".into(),
            sources_field: "sourceIds".into(),
        };
        Ok(merge_preview::preview(&state.db, &plan).await?.into())
    }
}

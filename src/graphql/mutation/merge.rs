use async_graphql::{Context, Object, ID};

use crate::graphql::ids::parse_uuid;
use crate::graphql::input::{self, FieldChoiceInput};
use crate::graphql::state::ctx_state;
use crate::graphql::types::Contact;
use crate::service::merge::{self, MergePlan};

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
    ///
    /// `additionalSourceIds` merges up to 49 more contacts in the same transaction, in
    /// order after sourceId, each as by its own merge (one MergeRecord each, so
    /// unmergeContact brings back any one of them). `fieldChoices` picks which merged
    /// contact a single field's value comes from; the destination values it replaced are
    /// kept in that source's MergeRecord and unmerge puts them back where the field still
    /// holds the chosen value. More than 49 additionalSourceIds or more fieldChoices than
    /// there are fields: LIMIT_EXCEEDED naming the list. Other argument errors are
    /// BAD_USER_INPUT naming the entry (`additionalSourceIds.N`, `fieldChoices.N.field`,
    /// `fieldChoices.N.fromContactId`), one id given twice included; an unknown contact is
    /// NOT_FOUND, and an id of a contact merged into another one named (the same contact
    /// twice) CONFLICT, each naming its argument. `mergePreview` answers what the same
    /// arguments would do.
    async fn merge_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact merged away (its id then resolves to the destination).")]
        source_id: ID,
        #[graphql(desc = "The contact that stays and keeps its fields.")] destination_id: ID,
        #[graphql(
            desc = "Up to 49 more contacts merged away into the destination, after sourceId, in one transaction."
        )]
        additional_source_ids: Option<Vec<ID>>,
        #[graphql(
            desc = "Which merged contact each chosen field's value comes from; unchosen fields: the destination's, else the first source's that has one."
        )]
        field_choices: Option<Vec<FieldChoiceInput>>,
    ) -> async_graphql::Result<Contact> {
        let state = ctx_state(ctx)?;
        // Counted before anything is read of each entry.
        let more = additional_source_ids.unwrap_or_default();
        if more.len() >= merge::MAX_SOURCES {
            return Err(
                merge::too_many_sources("additionalSourceIds", more.len() + 1, true).into(),
            );
        }
        let choices_given = field_choices.as_ref().map_or(0, Vec::len);
        if let Some(e) = merge::too_many_choices("fieldChoices", choices_given) {
            return Err(e.into());
        }
        let mut plan = MergePlan::pair(
            parse_uuid("sourceId", &source_id)?,
            parse_uuid("destinationId", &destination_id)?,
        );
        for (i, id) in more.iter().enumerate() {
            let field = format!("additionalSourceIds.{i}");
            plan.sources.push((parse_uuid(&field, id)?, field));
        }
        plan.choices = input::field_choices(&plan.choices_field, field_choices)?;
        Ok(merge::merge_all(&state.db, &state.events, &plan)
            .await?
            .into())
    }

    /// Undoes a merge: the source contact comes back from its snapshot under its old
    /// id, with the via handles and conversations it brought (those still on the
    /// destination); fields that the merge filled on the destination and that still
    /// hold the merged value are cleared again, and those its fieldChoices replaced get
    /// their old value back where they still hold the chosen one; the merge record is
    /// removed. Returns the restored source. Unknown record: NOT_FOUND.
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

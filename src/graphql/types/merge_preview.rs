//! What mergePreview answers.

use async_graphql::{SimpleObject, ID};

use super::{Contact, Handle};
use crate::error::AppError;
use crate::graphql::loader::{Batch, Preloaded};
use crate::service::merge::Moved;
use crate::service::merge_preview::{Outcome, Preview};

/// What mergeContacts would do with the same arguments, found by running that merge in a
/// transaction that is rolled back: nothing is kept, logged or announced.
#[derive(SimpleObject)]
pub struct MergePreview {
    /// Whether the merge would succeed now (problems is then empty).
    pub would_succeed: bool,
    /// The destination as the merge would leave it; null when it would fail. Its lists
    /// (via, groupNames, links, metadata, conversations, mergeHistory) are as they would
    /// be; its paged *Connection fields and history read the stored contact.
    pub contact: Option<Contact>,
    /// What each source would bring, in the order merged.
    pub sources: Vec<MergePreviewSource>,
    /// Every argument problem, or the error the merge would answer (the first it would
    /// hit): code, field and message as the mutation's error would carry them.
    pub problems: Vec<MergeProblem>,
}

/// What one source of a merge would bring to the destination.
#[derive(SimpleObject)]
pub struct MergePreviewSource {
    /// The source's id (as it stands now: a merged-away id is resolved).
    pub source_id: ID,
    /// Handles that would move to the destination.
    pub handles: Vec<Handle>,
    /// Conversations that would move.
    pub conversation_ids: Vec<ID>,
    /// Groups the destination would join.
    pub group_names: Vec<String>,
    /// Links the destination would gain.
    pub links: Vec<String>,
    /// Metadata keys the destination would gain, as dotted paths (`plan.tier`).
    pub metadata_keys: Vec<String>,
    /// Destination fields, empty before, that would take this source's value (input
    /// paths, `address.city`).
    pub filled_fields: Vec<String>,
    /// Destination fields whose value fieldChoices would replace with this source's.
    pub chosen_fields: Vec<String>,
}

/// A reason the merge would fail.
#[derive(SimpleObject)]
pub struct MergeProblem {
    /// The error code mergeContacts would answer (BAD_USER_INPUT, NOT_FOUND, CONFLICT,
    /// LIMIT_EXCEEDED).
    pub code: String,
    /// The argument it names (`additionalSourceIds.2`, `fieldChoices.0.field`), if any.
    pub field: Option<String>,
    /// What is wrong, as the mutation's error message says it.
    pub message: String,
}

impl From<Preview> for MergePreview {
    fn from(preview: Preview) -> Self {
        let problems: Vec<MergeProblem> = preview.problems.iter().map(MergeProblem::from).collect();
        match preview.outcome {
            Some(outcome) => Self {
                would_succeed: problems.is_empty(),
                sources: sources_of(&outcome),
                contact: Some(contact_of(outcome)),
                problems,
            },
            None => Self {
                would_succeed: false,
                contact: None,
                sources: Vec::new(),
                problems,
            },
        }
    }
}

impl From<&AppError> for MergeProblem {
    fn from(e: &AppError) -> Self {
        Self {
            code: e.code().to_owned(),
            field: e.field().map(str::to_owned),
            message: e.to_string(),
        }
    }
}

fn sources_of(outcome: &Outcome) -> Vec<MergePreviewSource> {
    outcome
        .sources
        .iter()
        .map(|(id, moved)| source_of(*id, moved, outcome))
        .collect()
}

fn source_of(id: uuid::Uuid, moved: &Moved, outcome: &Outcome) -> MergePreviewSource {
    MergePreviewSource {
        source_id: ID(id.to_string()),
        handles: moved
            .handles
            .iter()
            .filter_map(|(source, handle)| {
                outcome
                    .handles
                    .iter()
                    .find(|h| &h.source == source && &h.handle == handle)
                    .cloned()
                    .map(Handle::from)
            })
            .collect(),
        conversation_ids: moved
            .conversations
            .iter()
            .map(|c| ID(c.to_string()))
            .collect(),
        group_names: moved.groups.clone(),
        links: moved.links.clone(),
        metadata_keys: moved
            .metadata
            .iter()
            .map(|(path, _)| path.join("."))
            .collect(),
        filled_fields: moved.filled.iter().map(|(f, _)| f.clone()).collect(),
        chosen_fields: moved.replaced.iter().map(|r| r.field.clone()).collect(),
    }
}

fn contact_of(outcome: Outcome) -> Contact {
    let id = outcome.destination.id;
    Contact::new(
        outcome.destination,
        Preloaded {
            via: Batch::one(id, outcome.handles),
            metadata: Batch::one(id, outcome.metadata),
            group_names: Batch::one(id, outcome.group_names),
            conversations: Batch::one(id, outcome.conversations),
            merge_history: Batch::one(id, outcome.merge_records),
        },
    )
}

use async_graphql::{Object, ID};
use entity::merge_record;

use super::{DateTime, JsonObject};

/// A contact merged into another, kept whole so that the merge can be undone.
pub struct MergeRecord(pub merge_record::Model);

impl From<merge_record::Model> for MergeRecord {
    fn from(model: merge_record::Model) -> Self {
        Self(model)
    }
}

/// A contact merged into another, kept whole (fields and what moved) so
/// that `unmergeContact` can undo the merge.
#[Object]
impl MergeRecord {
    /// Id of the merge record (what unmergeContact takes).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Id the merged-away contact had.
    async fn source_id(&self) -> ID {
        ID(self.0.source_id.to_string())
    }

    /// The source contact as it was just before the merge (all its fields, via, metadata, conversations).
    async fn snapshot(&self) -> JsonObject {
        JsonObject(self.0.snapshot.clone())
    }

    /// When the merge happened.
    async fn merged_at(&self) -> DateTime {
        DateTime(self.0.merged_at)
    }
}

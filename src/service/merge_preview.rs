//! `mergePreview`: the merge a plan asks for, run in a transaction that is
//! rolled back, so that the preview and the merge never disagree (the same
//! code, on the same rows). Nothing it did is kept, logged or announced.
//!
//! It takes the locks a merge takes (SQLite's write lock, PostgreSQL's row
//! locks on the contacts) for as long as it runs.

use std::collections::HashMap;

use entity::{contact, contact_handle, conversation, merge_record};
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::merge::{self, MergePlan, Moved};
use super::{begin_write, changes, relations, roll_back};
use crate::error::{AppError, AppResult};

/// What a merge would do, or why it would fail.
pub struct Preview {
    /// The merge's outcome; None when it would fail.
    pub outcome: Option<Outcome>,
    /// Every problem of the arguments, or the error the merge would answer:
    /// empty exactly when `outcome` is there.
    pub problems: Vec<AppError>,
}

/// The destination as the merge would leave it, with its relations (read
/// inside the rolled-back transaction), and what each source would bring.
pub struct Outcome {
    pub destination: contact::Model,
    pub handles: Vec<contact_handle::Model>,
    pub metadata: Map<String, Value>,
    pub group_names: Vec<String>,
    pub conversations: Vec<conversation::Model>,
    pub merge_records: Vec<merge_record::Model>,
    pub sources: Vec<(Uuid, Moved)>,
}

/// Previews `plan`. Client errors (bad arguments, unknown contacts,
/// conflicts) are problems of the preview; a failure of the database
/// itself is an error, as for a merge.
pub async fn preview(db: &DatabaseConnection, plan: &MergePlan) -> AppResult<Preview> {
    let problems = plan.problems();
    if !problems.is_empty() {
        return Ok(Preview {
            outcome: None,
            problems,
        });
    }
    let txn = begin_write(db).await?;
    // What the merge records for the log is collected and dropped.
    let (result, _unlogged) = changes::collecting(async {
        let merged = merge::merge_in(&txn, plan).await?;
        read_outcome(&txn, merged).await
    })
    .await;
    roll_back(txn).await;
    match result {
        Ok(outcome) => Ok(Preview {
            outcome: Some(outcome),
            problems: Vec::new(),
        }),
        Err(e) if is_client_error(&e) => Ok(Preview {
            outcome: None,
            problems: vec![e],
        }),
        Err(e) => Err(e),
    }
}

/// Errors that the caller's arguments or the data cause, which a preview
/// reports instead of failing.
fn is_client_error(e: &AppError) -> bool {
    matches!(
        e,
        AppError::BadUserInput { .. }
            | AppError::NotFound { .. }
            | AppError::Conflict { .. }
            | AppError::TooLarge { .. }
            | AppError::LimitExceeded(_)
    )
}

async fn read_outcome(
    txn: &sea_orm::DatabaseTransaction,
    merged: merge::Merged,
) -> AppResult<Outcome> {
    let id = merged.destination.id;
    let ids = [id];
    Ok(Outcome {
        handles: one(id, relations::handles_for(txn, &ids).await?),
        metadata: one(id, relations::metadata_for(txn, &ids).await?),
        group_names: one(id, relations::group_names_for(txn, &ids).await?),
        conversations: one(id, relations::conversations_for(txn, &ids).await?),
        merge_records: one(id, relations::merge_records_for(txn, &ids).await?),
        destination: merged.destination,
        sources: merged.sources,
    })
}

fn one<V: Default>(id: Uuid, mut by_id: HashMap<Uuid, V>) -> V {
    by_id.remove(&id).unwrap_or_default()
}

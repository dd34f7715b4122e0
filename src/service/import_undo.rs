//! Undoing an import job: what its change-log entries (those carrying its
//! job id) say it did is reverted, in one transaction, where nobody has
//! changed it since.
//!
//! - A contact the job created is deleted, unless a later write (not the
//!   job's) changed it: then it is left alone, CHANGED_SINCE, naming the
//!   fields that write changed.
//! - A contact the job updated gets each value the job changed back, where
//!   it still holds the job's value; a field changed since keeps its value
//!   and is named (CHANGED_SINCE). Handles, links and group names the job
//!   added are removed, those it removed are put back (unless another
//!   contact holds the handle now); metadata keys get their old values.
//!   Conversations the job linked stay linked (named).
//! - A contact merged into another since, or deleted or erased since, is
//!   left alone (MERGED_SINCE, DELETED_SINCE): erasure scrubbed its entries.
//!
//! The undo is itself logged (DELETED and UPDATED entries by the caller),
//! so subscribers and webhooks hear of it like any other write.

use std::collections::{BTreeSet, HashMap};

use entity::contact_change;
use entity::contact_state::{
    self, ContactState, FieldChange, StateHandle, CONVERSATIONS, GROUP_NAMES, LINKS, METADATA, VIA,
};
use entity::{contact, import_job};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::changes::{self, Change, ChangeKind};
use super::events::EventBus;
use super::import_jobs::JobStatus;
use super::{contacts, relations, tx, write};
use crate::domain::{
    normalize_handle, AddressInput, ContactChanges, MetadataChange, Patch, PathedHandle, Rules,
    TEXT_FIELDS,
};
use crate::error::{AppError, AppResult};

/// Contacts undone per step (their entries are read together).
const CHUNK: usize = 200;
/// Most contacts left alone that a report lists (all are counted).
pub const MAX_LISTED: usize = 1000;

/// Why a contact the job wrote was left as it is.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftReason {
    ChangedSince,
    MergedSince,
    DeletedSince,
}

#[derive(Debug, Clone)]
pub struct LeftAlone {
    pub contact_id: Uuid,
    pub reason: LeftReason,
    /// The fields kept (CHANGED_SINCE): input paths, `metadata.KEY`.
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UndoReport {
    pub deleted: u64,
    pub restored: u64,
    pub left_alone_count: u64,
    /// The first MAX_LISTED of them.
    pub left_alone: Vec<LeftAlone>,
}

impl UndoReport {
    fn leave(&mut self, left: LeftAlone) {
        self.left_alone_count += 1;
        if self.left_alone.len() < MAX_LISTED {
            self.left_alone.push(left);
        }
    }
}

/// Undoes job `id`. NOT_FOUND (jobId) for no such job; CONFLICT (jobId)
/// for a job still running or already undone; BAD_USER_INPUT (jobId) for
/// a dry run (it wrote nothing).
pub async fn undo(
    db: &DatabaseConnection,
    events: &EventBus,
    rules: &Rules,
    id: Uuid,
) -> AppResult<(UndoReport, import_job::Model)> {
    super::import_jobs::mark_stale(db, Some(id)).await?;
    tx::write(db, events, &(id, rules), |txn, (id, rules)| {
        Box::pin(async move {
            let job = claim(txn, *id).await?;
            let report = undo_in(txn, rules, job.id).await?;
            import_job::Entity::update_many()
                .col_expr(
                    import_job::Column::Status,
                    Expr::value(JobStatus::Undone.as_str()),
                )
                .filter(import_job::Column::Id.eq(job.id))
                .exec(txn)
                .await?;
            let job = import_job::Model {
                status: JobStatus::Undone.as_str().to_owned(),
                ..job
            };
            Ok((report, job))
        })
    })
    .await
}

/// The job, locked, if it may be undone.
async fn claim<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<import_job::Model> {
    let job = import_job::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| AppError::not_found("jobId", format!("jobId: no import job {id}")))?;
    if job.dry_run {
        return Err(AppError::bad_input(
            "jobId",
            format!("jobId: import job {id} was a dry run: it wrote nothing to undo"),
        ));
    }
    match JobStatus::parse(&job.status) {
        JobStatus::Running => Err(AppError::conflict(
            "jobId",
            format!(
                "jobId: import job {id} is still running (or its server stopped less than 30 s \
                 ago); undo it once it has ended"
            ),
        )),
        JobStatus::Undone => Err(AppError::conflict(
            "jobId",
            format!("jobId: import job {id} was undone already"),
        )),
        JobStatus::Succeeded | JobStatus::Failed => Ok(job),
    }
}

async fn undo_in<C: ConnectionTrait>(conn: &C, rules: &Rules, job: Uuid) -> AppResult<UndoReport> {
    let mut report = UndoReport::default();
    let ids = job_contacts(conn, job).await?;
    for chunk in ids.chunks(CHUNK) {
        contacts::lock_in_id_order(conn, chunk.iter().copied()).await?;
        let entries = entries_of(conn, chunk, Some(job)).await?;
        let first = entries.iter().map(|e| e.position).min().unwrap_or(0);
        let later = later_entries(conn, chunk, job, first).await?;
        let present: HashMap<Uuid, contact::Model> = contacts::get_many(conn, chunk)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        for id in chunk {
            let own: Vec<&contact_change::Model> =
                entries.iter().filter(|e| e.contact_id == *id).collect();
            let last_own = own.iter().map(|e| e.position).max().unwrap_or(0);
            let foreign: Vec<&contact_change::Model> = later
                .iter()
                .filter(|e| e.contact_id == *id && e.position > last_own)
                .collect();
            let Some(model) = present.get(id) else {
                let merged = foreign
                    .iter()
                    .any(|e| e.kind == ChangeKind::Merged.as_str());
                report.leave(LeftAlone {
                    contact_id: *id,
                    reason: if merged {
                        LeftReason::MergedSince
                    } else {
                        LeftReason::DeletedSince
                    },
                    fields: Vec::new(),
                });
                continue;
            };
            let changed_since = fields_changed(&foreign);
            let created = own.iter().any(|e| e.kind == ChangeKind::Created.as_str());
            if created {
                if changed_since.is_empty() {
                    contact::Entity::delete_by_id(*id).exec(conn).await?;
                    changes::record(Change::new(ChangeKind::Deleted, *id, Vec::new()));
                    report.deleted += 1;
                } else {
                    report.leave(LeftAlone {
                        contact_id: *id,
                        reason: LeftReason::ChangedSince,
                        fields: changed_since.into_iter().collect(),
                    });
                }
                continue;
            }
            let job_changes = logged_changes(&own)?;
            let kept = restore(conn, rules, model.clone(), &job_changes).await?;
            report.restored += 1;
            if !kept.is_empty() {
                report.leave(LeftAlone {
                    contact_id: *id,
                    reason: LeftReason::ChangedSince,
                    fields: kept,
                });
            }
        }
    }
    Ok(report)
}

/// The contacts the job's entries name, in the order it first wrote them.
async fn job_contacts<C: ConnectionTrait>(conn: &C, job: Uuid) -> AppResult<Vec<Uuid>> {
    let rows: Vec<(Uuid, i64)> = contact_change::Entity::find()
        .select_only()
        .column(contact_change::Column::ContactId)
        .column_as(contact_change::Column::Position.min(), "first")
        .filter(contact_change::Column::JobId.eq(job))
        .group_by(contact_change::Column::ContactId)
        .into_tuple()
        .all(conn)
        .await?;
    let mut rows = rows;
    rows.sort_by_key(|(_, first)| *first);
    Ok(rows.into_iter().map(|(id, _)| id).collect())
}

/// The job's entries of these contacts, in order.
async fn entries_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
    job: Option<Uuid>,
) -> AppResult<Vec<contact_change::Model>> {
    let mut select = contact_change::Entity::find()
        .filter(contact_change::Column::ContactId.is_in(ids.iter().copied()))
        .order_by_asc(contact_change::Column::Position);
    if let Some(job) = job {
        select = select.filter(contact_change::Column::JobId.eq(job));
    }
    Ok(select.all(conn).await?)
}

/// Entries of these contacts after `after` written by anyone but the job.
async fn later_entries<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
    job: Uuid,
    after: i64,
) -> AppResult<Vec<contact_change::Model>> {
    Ok(contact_change::Entity::find()
        .filter(contact_change::Column::ContactId.is_in(ids.iter().copied()))
        .filter(contact_change::Column::Position.gt(after))
        .filter(
            sea_orm::Condition::any()
                .add(contact_change::Column::JobId.is_null())
                .add(contact_change::Column::JobId.ne(job)),
        )
        .order_by_asc(contact_change::Column::Position)
        .all(conn)
        .await?)
}

/// The fields later writes changed (dismissals change none).
fn fields_changed(entries: &[&contact_change::Model]) -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    for entry in entries {
        if entry.kind == ChangeKind::DuplicateDismissed.as_str()
            || entry.kind == ChangeKind::DuplicateUndismissed.as_str()
        {
            continue;
        }
        let changes: Vec<FieldChange> =
            serde_json::from_value(entry.changes.clone()).unwrap_or_default();
        if changes.is_empty() {
            fields.insert(entry.kind.to_lowercase());
        }
        for c in changes {
            fields.insert(field_path(&c));
        }
    }
    fields
}

fn field_path(c: &FieldChange) -> String {
    match (&c.field[..], &c.key) {
        (METADATA, Some(key)) => format!("metadata.{key}"),
        (field, _) => field.to_owned(),
    }
}

fn logged_changes(entries: &[&contact_change::Model]) -> AppResult<Vec<FieldChange>> {
    let mut all = Vec::new();
    for entry in entries {
        let changes: Vec<FieldChange> = serde_json::from_value(entry.changes.clone())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("a change-log entry: {e}")))?;
        all.extend(changes);
    }
    Ok(all)
}

/// Puts back what `job_changes` changed where the contact still holds the
/// job's value; returns the fields kept because they changed since.
async fn restore<C: ConnectionTrait>(
    conn: &C,
    rules: &Rules,
    model: contact::Model,
    job_changes: &[FieldChange],
) -> AppResult<Vec<String>> {
    let current = ContactState::load(conn, &[model.id])
        .await?
        .remove(&model.id)
        .unwrap_or_default();
    let mut target = current.clone();
    let mut kept = BTreeSet::new();
    for change in job_changes.iter().rev() {
        if !revert(&mut target, change) {
            kept.insert(field_path(change));
        }
    }
    let (changes, unplaced) = changes_between(conn, rules, &model, &current, &target).await?;
    kept.extend(unplaced);
    write::update_contact(conn, model, &changes).await?;
    Ok(kept.into_iter().collect())
}

/// Reverts one change on `state` if it still holds the change's result.
fn revert(state: &mut ContactState, c: &FieldChange) -> bool {
    match c.field.as_str() {
        METADATA => {
            let Some(key) = &c.key else { return true };
            if state.metadata.get(key) != c.new.as_ref() {
                return false;
            }
            match &c.old {
                Some(old) => state.metadata.insert(key.clone(), old.clone()),
                None => state.metadata.remove(key),
            };
            true
        }
        VIA => {
            let as_handle = |v: &Value| StateHandle::from_value(v);
            revert_element(
                &mut state.via,
                c.old.as_ref().and_then(as_handle),
                c.new.as_ref().and_then(as_handle),
                |a, b| a.source == b.source && a.handle == b.handle,
            )
        }
        LINKS => {
            let text = |v: &Value| v.as_str().map(str::to_owned);
            revert_element(
                &mut state.links,
                c.old.as_ref().and_then(text),
                c.new.as_ref().and_then(text),
                |a, b| a == b,
            )
        }
        GROUP_NAMES => {
            let text = |v: &Value| v.as_str().map(str::to_owned);
            let (old, new) = (c.old.as_ref().and_then(text), c.new.as_ref().and_then(text));
            match (old, new) {
                (None, Some(added)) => state.group_names.remove(&added),
                (Some(removed), None) => {
                    state.group_names.insert(removed);
                    true
                }
                _ => true,
            }
        }
        // Links to conversations stay: the conversation may have been
        // answered since.
        CONVERSATIONS => false,
        field => {
            if state.fields.get(field) != c.new.as_ref() {
                return false;
            }
            match &c.old {
                Some(old) => state.fields.insert(field.to_owned(), old.clone()),
                None => state.fields.remove(field),
            };
            true
        }
    }
}

/// An element a change added is removed, one it removed is put back.
fn revert_element<T: Clone>(
    list: &mut Vec<T>,
    old: Option<T>,
    new: Option<T>,
    same: impl Fn(&T, &T) -> bool,
) -> bool {
    match (old, new) {
        (None, Some(added)) => match list.iter().position(|x| same(x, &added)) {
            Some(at) => {
                list.remove(at);
                true
            }
            None => false,
        },
        (Some(removed), None) => {
            if !list.iter().any(|x| same(x, &removed)) {
                list.push(removed);
            }
            true
        }
        // Replaced in place (a handle that became verified): nothing to undo.
        _ => true,
    }
}

/// The changes that turn `current` into `target`, and the fields that could
/// not be put back (a handle another contact holds now, or that no longer
/// validates).
async fn changes_between<C: ConnectionTrait>(
    conn: &C,
    rules: &Rules,
    model: &contact::Model,
    current: &ContactState,
    target: &ContactState,
) -> AppResult<(ContactChanges, Vec<String>)> {
    let mut unplaced = Vec::new();
    let text = |name: &str| -> Patch<String> {
        match (current.fields.get(name), target.fields.get(name)) {
            (a, b) if a == b => Patch::Keep,
            (_, Some(Value::String(v))) => Patch::Set(v.clone()),
            _ => Patch::Clear,
        }
    };
    let mut address = AddressInput::default();
    let mut address_changed = false;
    for (name, slot) in [
        ("address.organizationName", &mut address.organization_name),
        ("address.addressLine1", &mut address.address_line1),
        ("address.addressLine2", &mut address.address_line2),
        ("address.postcode", &mut address.postcode),
        ("address.city", &mut address.city),
        ("address.state", &mut address.state),
        ("address.country", &mut address.country),
    ] {
        *slot = text(name);
        address_changed |= !matches!(slot, Patch::Keep);
    }
    debug_assert_eq!(TEXT_FIELDS.len(), 16);
    let contact_type = match target.fields.get(contact_state::CONTACT_TYPE) {
        Some(Value::String(t))
            if current.fields.get(contact_state::CONTACT_TYPE)
                != target.fields.get(contact_state::CONTACT_TYPE) =>
        {
            Some(t.clone())
        }
        _ => None,
    };
    let is_spammer = match target.fields.get(contact_state::IS_SPAMMER) {
        Some(Value::Bool(b))
            if current.fields.get(contact_state::IS_SPAMMER)
                != target.fields.get(contact_state::IS_SPAMMER) =>
        {
            Some(*b)
        }
        _ => None,
    };
    let via = if current.via == target.via {
        None
    } else {
        let rows = relations::handles_of(conn, model.id).await?;
        let mut via = Vec::new();
        for (i, h) in target.via.iter().enumerate() {
            let path = format!("undo.via.{i}");
            let held = rows
                .iter()
                .find(|r| r.source == h.source && r.handle == h.handle);
            let normalized = match held {
                Some(r) => crate::domain::NormalizedHandle {
                    source: r.source.clone(),
                    handle: r.handle.clone(),
                    search_key: r.search_key.clone(),
                    match_key: r.match_key.clone(),
                },
                None => match normalize_handle(rules, &path, &h.source, &h.handle, None) {
                    Ok(n) if free_for(conn, &n, model.id).await? => n,
                    _ => {
                        unplaced.push(VIA.to_owned());
                        continue;
                    }
                },
            };
            via.push(PathedHandle {
                handle: normalized,
                path,
            });
        }
        Some(via)
    };
    let metadata = {
        let keys: BTreeSet<&String> = current
            .metadata
            .keys()
            .chain(target.metadata.keys())
            .collect();
        let patch: Map<String, Value> = keys
            .into_iter()
            .filter(|k| current.metadata.get(*k) != target.metadata.get(*k))
            .map(|k| {
                (
                    k.clone(),
                    target.metadata.get(k).cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        if patch.is_empty() {
            MetadataChange::Keep
        } else {
            MetadataChange::MergePatch(patch)
        }
    };
    let changes = ContactChanges {
        path: "undo".to_owned(),
        display_name: text("displayName"),
        avatar_url: text("avatarUrl"),
        title: text("title"),
        timezone: text("timezone"),
        gender: text("gender"),
        locale: text("locale"),
        organization_name: text("organizationName"),
        description: text("description"),
        contact_type,
        is_spammer,
        external_id: text("externalId"),
        group_names: (current.group_names != target.group_names)
            .then(|| target.group_names.iter().cloned().collect()),
        links: (current.links != target.links).then(|| target.links.clone()),
        via,
        address: if address_changed {
            Patch::Set(address)
        } else {
            Patch::Keep
        },
        metadata,
        conversations: Vec::new(),
        handles_verified: true,
    };
    Ok((changes, unplaced))
}

/// Whether no other contact holds the handle (by its match key).
async fn free_for<C: ConnectionTrait>(
    conn: &C,
    handle: &crate::domain::NormalizedHandle,
    contact_id: Uuid,
) -> AppResult<bool> {
    let Some(key) = &handle.match_key else {
        return Ok(true);
    };
    let holder: Option<Uuid> = entity::contact_handle::Entity::find()
        .select_only()
        .column(entity::contact_handle::Column::ContactId)
        .filter(entity::contact_handle::Column::Source.eq(handle.source.clone()))
        .filter(entity::contact_handle::Column::MatchKey.eq(key.clone()))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(holder.is_none_or(|h| h == contact_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(field: &str, old: Option<Value>, new: Option<Value>) -> FieldChange {
        FieldChange {
            field: field.to_owned(),
            key: None,
            old,
            new,
        }
    }

    #[test]
    fn a_value_changed_since_is_kept() {
        let mut state = ContactState::default();
        state.fields.insert("title".into(), json!("CTO"));
        state.fields.insert("displayName".into(), json!("Ada"));
        // The job set title "CEO" (someone wrote CTO since) and displayName "Ada".
        assert!(!revert(
            &mut state,
            &change("title", Some(json!("Dev")), Some(json!("CEO")))
        ));
        assert!(revert(
            &mut state,
            &change("displayName", None, Some(json!("Ada")))
        ));
        assert_eq!(state.fields.get("title"), Some(&json!("CTO")));
        assert_eq!(state.fields.get("displayName"), None);
    }

    #[test]
    fn elements_added_are_removed_and_removed_ones_put_back() {
        let mut list = vec!["a".to_owned(), "b".to_owned()];
        assert!(revert_element(
            &mut list,
            None,
            Some("b".to_owned()),
            |x, y| x == y
        ));
        assert!(revert_element(
            &mut list,
            Some("c".to_owned()),
            None,
            |x, y| x == y
        ));
        assert_eq!(list, ["a", "c"]);
        // Removed since by someone else: kept as it is, named.
        assert!(!revert_element(
            &mut list,
            None,
            Some("z".to_owned()),
            |x, y| x == y
        ));
    }
}

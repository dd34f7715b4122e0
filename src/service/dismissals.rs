//! "Not the same person": dismissed duplicate candidates, and taking that
//! back. A dismissal is stored by the ids the contacts have when it is
//! made; the duplicate index reads it through merges (duplicates.rs,
//! `Dismissed`), so it holds when either side is merged or unmerged.

use std::collections::BTreeSet;

use entity::contact_state::FieldChange;
use entity::{contact, duplicate_dismissal, duplicate_pair};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::changes::{self, Change, ChangeKind};
use super::duplicates::{self, ordered};
use super::events::EventBus;
use super::{merge, now, tx};
use crate::error::{AppError, AppResult};

/// Contacts one call may name: every pair among them is (un)dismissed, so
/// 50 contacts are 1,225 pairs.
pub const MAX_CONTACTS: usize = 50;

/// The field a dismissal's change-log entry names: the other contacts.
pub const FIELD: &str = "duplicateDismissals";

/// Marks every pair of `ids` "not the same person"; returns the contacts
/// (as they stand now: a merged-away id names its destination). Pairs
/// dismissed already are left as they are.
pub async fn dismiss(
    db: &DatabaseConnection,
    events: &EventBus,
    ids: &[Uuid],
) -> AppResult<Vec<contact::Model>> {
    check_count(ids.len())?;
    tx::write(db, events, ids, |txn, ids| Box::pin(dismiss_in(txn, ids))).await
}

/// Takes back every dismissal that keeps a pair of `ids` apart, including
/// those made under ids merged into them since; returns the contacts.
pub async fn undismiss(
    db: &DatabaseConnection,
    events: &EventBus,
    ids: &[Uuid],
) -> AppResult<Vec<contact::Model>> {
    check_count(ids.len())?;
    tx::write(db, events, ids, |txn, ids| Box::pin(undismiss_in(txn, ids))).await
}

/// Fewer than two: BAD_USER_INPUT; more than MAX_CONTACTS: LIMIT_EXCEEDED;
/// both naming `contactIds`.
pub fn check_count(count: usize) -> AppResult<()> {
    if count > MAX_CONTACTS {
        return Err(AppError::TooLarge {
            field: "contactIds".into(),
            message: format!("contactIds: at most {MAX_CONTACTS} contacts ({count} given)"),
        });
    }
    if count < 2 {
        return Err(AppError::bad_input(
            "contactIds",
            format!("contactIds: name at least 2 contacts ({count} given)"),
        ));
    }
    Ok(())
}

async fn dismiss_in<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> AppResult<Vec<contact::Model>> {
    let contacts = resolve_all(conn, ids).await?;
    let pairs = pairs_of(&contacts);
    let existing = stored_dismissals(conn, &pairs).await?;
    let new: Vec<(Uuid, Uuid)> = pairs
        .into_iter()
        .filter(|p| !existing.contains(p))
        .collect();
    if new.is_empty() {
        return Ok(contacts);
    }
    let at = now();
    let actor = changes::current_actor().to_string();
    for chunk in new.chunks(rows_per_statement(conn, 4)) {
        duplicate_dismissal::Entity::insert_many(chunk.iter().map(|&(low, high)| {
            duplicate_dismissal::ActiveModel {
                low_id: Set(low),
                high_id: Set(high),
                dismissed_at: Set(at),
                actor: Set(actor.clone()),
            }
        }))
        .on_conflict(
            OnConflict::columns([
                duplicate_dismissal::Column::LowId,
                duplicate_dismissal::Column::HighId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    }
    // The candidates go at once; the index's next catch-up re-keys both
    // sides from the log entries below and finds them dismissed.
    for &(low, high) in &new {
        duplicate_pair::Entity::delete_many()
            .filter(duplicate_pair::Column::LowId.eq(low))
            .filter(duplicate_pair::Column::HighId.eq(high))
            .exec(conn)
            .await?;
    }
    log_pairs(ChangeKind::DuplicateDismissed, &new);
    Ok(contacts)
}

async fn undismiss_in<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> AppResult<Vec<contact::Model>> {
    let contacts = resolve_all(conn, ids).await?;
    // Every id each contact stands for (its own and those merged into it),
    // and which contact that is.
    let named: Vec<Uuid> = contacts.iter().map(|c| c.id).collect();
    let owner: std::collections::HashMap<Uuid, Uuid> = duplicates::identities(conn, &named)
        .await?
        .into_iter()
        .flat_map(|(contact, ids)| ids.into_iter().map(move |id| (id, contact)))
        .collect();
    // The dismissals among those ids, read once: those joining two of the
    // named contacts go.
    let every: Vec<Uuid> = owner.keys().copied().collect();
    let mut gone = Vec::new();
    let mut taken_back = BTreeSet::new();
    for chunk in every.chunks(rows_per_statement(conn, 1)) {
        let rows: Vec<(Uuid, Uuid)> = duplicate_dismissal::Entity::find()
            .select_only()
            .column(duplicate_dismissal::Column::LowId)
            .column(duplicate_dismissal::Column::HighId)
            .filter(duplicate_dismissal::Column::LowId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        for (low, high) in rows {
            if let (Some(a), Some(b)) = (owner.get(&low), owner.get(&high)) {
                if a != b {
                    gone.push((low, high));
                    taken_back.insert(ordered(*a, *b));
                }
            }
        }
    }
    for (low, high) in gone {
        duplicate_dismissal::Entity::delete_many()
            .filter(duplicate_dismissal::Column::LowId.eq(low))
            .filter(duplicate_dismissal::Column::HighId.eq(high))
            .exec(conn)
            .await?;
    }
    // The log entries make the index re-key both sides: the pair comes
    // back as a candidate on the next read if it still scores.
    log_pairs(
        ChangeKind::DuplicateUndismissed,
        &taken_back.into_iter().collect::<Vec<_>>(),
    );
    Ok(contacts)
}

/// The contacts `ids` stand for now, each once: an unknown id is
/// NOT_FOUND, two ids of one contact BAD_USER_INPUT (each naming its
/// place in `contactIds`).
async fn resolve_all<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> AppResult<Vec<contact::Model>> {
    let mut contacts: Vec<contact::Model> = Vec::with_capacity(ids.len());
    for (i, &id) in ids.iter().enumerate() {
        let field = format!("contactIds.{i}");
        let found = merge::resolve(conn, id).await?.ok_or_else(|| {
            AppError::not_found(&field, format!("{field}: no contact with id {id}"))
        })?;
        if let Some(j) = contacts.iter().position(|c| c.id == found.id) {
            return Err(AppError::bad_input(
                &field,
                format!("{field}: the same contact as contactIds.{j} ({})", found.id),
            ));
        }
        contacts.push(found);
    }
    Ok(contacts)
}

/// Every pair among the contacts, the lower id first.
fn pairs_of(contacts: &[contact::Model]) -> Vec<(Uuid, Uuid)> {
    let mut pairs = BTreeSet::new();
    for (i, a) in contacts.iter().enumerate() {
        for b in &contacts[i + 1..] {
            pairs.insert(ordered(a.id, b.id));
        }
    }
    pairs.into_iter().collect()
}

async fn stored_dismissals<C: ConnectionTrait>(
    conn: &C,
    pairs: &[(Uuid, Uuid)],
) -> AppResult<BTreeSet<(Uuid, Uuid)>> {
    let lows: BTreeSet<Uuid> = pairs.iter().map(|p| p.0).collect();
    let mut found = BTreeSet::new();
    for chunk in lows
        .into_iter()
        .collect::<Vec<_>>()
        .chunks(rows_per_statement(conn, 1))
    {
        let rows: Vec<(Uuid, Uuid)> = duplicate_dismissal::Entity::find()
            .select_only()
            .column(duplicate_dismissal::Column::LowId)
            .column(duplicate_dismissal::Column::HighId)
            .filter(
                Condition::all()
                    .add(duplicate_dismissal::Column::LowId.is_in(chunk.iter().copied())),
            )
            .into_tuple()
            .all(conn)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// One log entry per contact: `duplicateDismissals` names the contacts it
/// was (un)marked against, the new list for a dismissal, the old for
/// taking one back.
fn log_pairs(kind: ChangeKind, pairs: &[(Uuid, Uuid)]) {
    let mut others: std::collections::BTreeMap<Uuid, Vec<Uuid>> = Default::default();
    for &(a, b) in pairs {
        others.entry(a).or_default().push(b);
        others.entry(b).or_default().push(a);
    }
    for (contact, with) in others {
        let list = Value::Array(
            with.iter()
                .map(|id| Value::String(id.to_string()))
                .collect(),
        );
        let (old, new) = match kind {
            ChangeKind::DuplicateUndismissed => (Some(list), None),
            _ => (None, Some(list)),
        };
        changes::record(Change::new(
            kind,
            contact,
            vec![FieldChange {
                field: FIELD.to_owned(),
                key: None,
                old,
                new,
            }],
        ));
    }
}

fn rows_per_statement<C: ConnectionTrait>(conn: &C, columns: usize) -> usize {
    super::chunk_len(conn.get_database_backend(), columns)
}

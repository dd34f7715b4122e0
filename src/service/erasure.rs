//! Erasure (`eraseContact`): a contact deleted as by deleteContact, and its
//! values removed from everything that kept them: the change log, merge
//! snapshots (of the contacts merged into it), handle moves, and the stored
//! responses of idempotent mutations. What stays: ids, kinds, times and
//! actors, so that the log still says that something happened, and when.

use std::collections::BTreeSet;

use entity::contact_state::ContactState;
use entity::{contact, contact_group, contact_group_member, handle_move, idempotency_key};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::changes::{self, Change, ChangeKind};
use super::duplicates;
use super::events::EventBus;
use super::tx;
use crate::error::{AppError, AppResult};

/// Values shorter than this are not looked for in stored responses: "m" or
/// "en" would match nearly every response, and a response found is
/// forgotten (its retry answers IDEMPOTENCY_RESPONSE_LOST).
const SHORTEST_VALUE: usize = 4;
/// LIKE patterns per statement.
const PATTERNS: usize = 50;

/// Erases contact `id` (NOT_FOUND if there is none).
pub async fn erase(db: &DatabaseConnection, events: &EventBus, id: Uuid) -> AppResult<()> {
    tx::write(db, events, &id, |txn, id| Box::pin(erase_in(txn, *id))).await
}

async fn erase_in<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<()> {
    // Locked first: a merge into it either committed before (its source is
    // then among the ids below) or waits until the erasure is done.
    let locked = contact::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?;
    if locked.is_none() {
        return Err(not_here(conn, id).await?);
    }
    let state = ContactState::load(conn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    // Itself and the contacts merged into it: one person, erased together.
    let ids = changes::history_ids(conn, id).await?;
    forget_responses(conn, &ids, &state).await?;
    handle_move::Entity::delete_many()
        .filter(handle_move::Column::FromContactId.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    let groups: Vec<Uuid> = contact_group_member::Entity::find()
        .select_only()
        .column(contact_group_member::Column::GroupId)
        .filter(contact_group_member::Column::ContactId.eq(id))
        .into_tuple()
        .all(conn)
        .await?;
    // Its handles, metadata, memberships, merge records (with their
    // snapshots) and redirects go with it (foreign-key cascades).
    contact::Entity::delete_by_id(id).exec(conn).await?;
    drop_emptied_groups(conn, &groups).await?;
    changes::scrub(conn, &ids).await?;
    // The duplicate index holds its keys (mailboxes, lines, organisation,
    // address) and its dismissals: gone now, not when the index next reads
    // the log.
    duplicates::forget_for_good(conn, &ids).await?;
    changes::record(Change::new(ChangeKind::Deleted, id, Vec::new()));
    Ok(())
}

/// Why there is nothing to erase at `id`: no such contact, or one merged
/// into another (whose values now live there).
async fn not_here<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<AppError> {
    let redirect = entity::contact_redirect::Entity::find_by_id(id)
        .one(conn)
        .await?;
    Ok(match redirect {
        Some(r) => AppError::not_found(
            "id",
            format!(
                "id: contact {id} was merged into {}; unmerge it first (unmergeContact), \
                 then erase it, or erase {}",
                r.contact_id, r.contact_id
            ),
        ),
        None => AppError::not_found("id", format!("id: no contact with id {id}")),
    })
}

/// Groups the contact was the last member of: their names were its values.
async fn drop_emptied_groups<C: ConnectionTrait>(conn: &C, groups: &[Uuid]) -> AppResult<()> {
    for chunk in groups.chunks(500) {
        let still_used = Query::select()
            .column(contact_group_member::Column::GroupId)
            .from(contact_group_member::Entity)
            .and_where(contact_group_member::Column::GroupId.is_in(chunk.iter().copied()))
            .to_owned();
        contact_group::Entity::delete_many()
            .filter(contact_group::Column::Id.is_in(chunk.iter().copied()))
            .filter(contact_group::Column::Id.not_in_subquery(still_used))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Drops the stored responses that name the contact or hold one of its
/// values.
async fn forget_responses<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
    state: &ContactState,
) -> AppResult<()> {
    let mut needles: BTreeSet<String> = ids.iter().map(Uuid::to_string).collect();
    needles.extend(texts_of(state).filter(|t| t.chars().count() >= SHORTEST_VALUE));
    let needles: Vec<String> = needles.into_iter().collect();
    for chunk in needles.chunks(PATTERNS) {
        let mut any = Condition::any();
        for needle in chunk {
            any = any.add(Expr::col(idempotency_key::Column::Response).like(
                LikeExpr::new(format!("%{}%", escape_like(&json_text(needle)))).escape('\\'),
            ));
        }
        idempotency_key::Entity::update_many()
            .col_expr(
                idempotency_key::Column::Response,
                Expr::value(Option::<String>::None),
            )
            .filter(idempotency_key::Column::Response.is_not_null())
            .filter(any)
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Every text the contact holds: fields, handles, links, groups, metadata.
fn texts_of(state: &ContactState) -> impl Iterator<Item = String> + '_ {
    let mut texts: Vec<String> = Vec::new();
    // contactType is one of a few words every contact shares.
    let fields = state
        .fields
        .iter()
        .filter(|(name, _)| *name != entity::contact_state::CONTACT_TYPE)
        .map(|(_, v)| v);
    for value in fields.chain(state.metadata.values()) {
        strings_in(value, &mut texts);
    }
    texts.extend(state.metadata.keys().cloned());
    for h in &state.via {
        texts.push(h.handle.clone());
        let (number, _) = entity::contact_handle::split_phone(&h.source, &h.handle);
        texts.push(number.to_owned());
    }
    texts.extend(state.links.iter().cloned());
    texts.extend(state.group_names.iter().cloned());
    texts.into_iter()
}

fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

/// A text as it appears inside a JSON document (escaped, without quotes).
fn json_text(text: &str) -> String {
    let quoted = Value::String(text.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_looked_for_as_json_holds_them() {
        assert_eq!(json_text("a\"b"), "a\\\"b");
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
    }
}

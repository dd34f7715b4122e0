//! Batched loads of what hangs off contacts: one query per relation for any
//! number of contacts (the DataLoaders call these).

use std::collections::HashMap;

use entity::{
    contact_group, contact_group_member, contact_handle, contact_metadata, conversation,
    merge_record,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, RelationTrait,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::AppResult;

fn group_by<T>(rows: impl IntoIterator<Item = (Uuid, T)>) -> HashMap<Uuid, Vec<T>> {
    let mut out: HashMap<Uuid, Vec<T>> = HashMap::new();
    for (id, row) in rows {
        out.entry(id).or_default().push(row);
    }
    out
}

/// Handles of each contact, in `via` order.
pub async fn handles_for<C: ConnectionTrait>(
    conn: &C,
    contact_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<contact_handle::Model>>> {
    let select = contact_handle::Entity::find()
        .filter(contact_handle::Column::ContactId.is_in(contact_ids.iter().copied()))
        .order_by_asc(contact_handle::Column::ContactId)
        .order_by_asc(contact_handle::Column::Position);
    // Decoded by position, like contacts (see contacts::fetch_all): every
    // page reads a few handles per contact.
    let rows = conn
        .query_all_raw(select.build(conn.get_database_backend()))
        .await?;
    let handles = rows
        .iter()
        .map(|row| {
            Ok(contact_handle::Model {
                id: row.try_get_by_index(0)?,
                contact_id: row.try_get_by_index(1)?,
                source: row.try_get_by_index(2)?,
                handle: row.try_get_by_index(3)?,
                search_key: row.try_get_by_index(4)?,
                position: row.try_get_by_index(5)?,
                verified: row.try_get_by_index(6)?,
                match_key: row.try_get_by_index(7)?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    Ok(group_by(handles.into_iter().map(|h| (h.contact_id, h))))
}

/// Metadata object of each contact.
pub async fn metadata_for<C: ConnectionTrait>(
    conn: &C,
    contact_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Map<String, Value>>> {
    let rows = contact_metadata::Entity::find()
        .filter(contact_metadata::Column::ContactId.is_in(contact_ids.iter().copied()))
        .all(conn)
        .await?;
    let mut out: HashMap<Uuid, Map<String, Value>> = HashMap::new();
    for row in rows {
        out.entry(row.contact_id)
            .or_default()
            .insert(row.key, row.value);
    }
    Ok(out)
}

/// Group names of each contact, sorted.
pub async fn group_names_for<C: ConnectionTrait>(
    conn: &C,
    contact_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<String>>> {
    let rows: Vec<(Uuid, String)> = contact_group_member::Entity::find()
        .select_only()
        .column(contact_group_member::Column::ContactId)
        .column(contact_group::Column::Name)
        .join(
            JoinType::InnerJoin,
            contact_group_member::Relation::Group.def(),
        )
        .filter(contact_group_member::Column::ContactId.is_in(contact_ids.iter().copied()))
        .order_by_asc(contact_group::Column::Name)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(group_by(rows))
}

/// One contact's handles, in `via` order.
pub async fn handles_of<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
) -> AppResult<Vec<contact_handle::Model>> {
    Ok(handles_for(conn, &[contact_id])
        .await?
        .remove(&contact_id)
        .unwrap_or_default())
}

/// One contact's metadata object.
pub async fn metadata_of<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
) -> AppResult<Map<String, Value>> {
    Ok(metadata_for(conn, &[contact_id])
        .await?
        .remove(&contact_id)
        .unwrap_or_default())
}

/// One contact's group names, sorted.
pub async fn group_names_of<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
) -> AppResult<Vec<String>> {
    Ok(group_names_for(conn, &[contact_id])
        .await?
        .remove(&contact_id)
        .unwrap_or_default())
}

/// Conversations of each contact, oldest first.
pub async fn conversations_for<C: ConnectionTrait>(
    conn: &C,
    contact_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<conversation::Model>>> {
    let rows = conversation::Entity::find()
        .filter(conversation::Column::ContactId.is_in(contact_ids.iter().copied()))
        .order_by_asc(conversation::Column::CreatedAt)
        .order_by_asc(conversation::Column::Id)
        .all(conn)
        .await?;
    Ok(group_by(
        rows.into_iter()
            .filter_map(|c| c.contact_id.map(|owner| (owner, c))),
    ))
}

/// Merge records of each contact, oldest first.
pub async fn merge_records_for<C: ConnectionTrait>(
    conn: &C,
    contact_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<merge_record::Model>>> {
    let rows = merge_record::Entity::find()
        .filter(merge_record::Column::ContactId.is_in(contact_ids.iter().copied()))
        .order_by_asc(merge_record::Column::MergedAt)
        .order_by_asc(merge_record::Column::Id)
        .all(conn)
        .await?;
    Ok(group_by(rows.into_iter().map(|m| (m.contact_id, m))))
}

/// Conversations by id.
pub async fn conversations_by_id<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, conversation::Model>> {
    let rows = conversation::Entity::find()
        .filter(conversation::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|c| (c.id, c)).collect())
}

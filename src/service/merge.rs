//! Merging two contacts into one, and undoing it. A merge loses nothing:
//! the source is kept whole in a snapshot, what it moved and filled on the
//! destination is recorded, and its id keeps resolving (redirects).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use entity::contact_state::ContactState;
use entity::{
    contact, contact_group, contact_group_member, contact_handle, contact_metadata,
    contact_redirect, conversation, merge_record,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::changes::{self, Change, ChangeKind, ChangeSource};
use super::events::EventBus;
use super::tx;
use super::write::text_fields;
use super::{contacts, now, relations, write};
use crate::error::{AppError, AppResult};

/// The source contact as it was just before the merge: its own fields and
/// relations, not its merge history. Its merge records move to the
/// destination (and back on unmerge), so a snapshot holding them too made
/// every merge of a chain double the history (16 merges: a 91 MB snapshot).
/// Snapshots stored before carry a `mergeHistory` key, ignored on reading
/// (and removed by migration m20261130_000006).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    id: Uuid,
    display_name: Option<String>,
    avatar_url: Option<String>,
    title: Option<String>,
    timezone: Option<String>,
    gender: Option<String>,
    locale: Option<String>,
    organization_name: Option<String>,
    description: Option<String>,
    contact_type: String,
    is_spammer: bool,
    external_id: Option<String>,
    group_names: Vec<String>,
    links: Vec<String>,
    via: Vec<SnapshotHandle>,
    address: SnapshotAddress,
    metadata: Map<String, Value>,
    conversations: Vec<SnapshotConversation>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SnapshotHandle {
    source: String,
    handle: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotAddress {
    organization_name: Option<String>,
    address_line1: Option<String>,
    address_line2: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
    state: Option<String>,
    country: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotConversation {
    id: Uuid,
    channel: String,
    created_at: DateTime<Utc>,
}

/// What a merge moved onto and filled in the destination.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Moved {
    handles: Vec<(String, String)>,
    conversations: Vec<Uuid>,
    /// Destination fields that were empty, with the value the source gave them.
    filled: Vec<(String, String)>,
    /// Metadata paths added to the destination, with their values.
    metadata: Vec<(Vec<String>, Value)>,
    groups: Vec<String>,
    links: Vec<String>,
    /// The source's own merge records, now on the destination.
    merge_records: Vec<Uuid>,
    /// Redirects that pointed at the source, now at the destination.
    redirects: Vec<Uuid>,
}

fn links_of(m: &contact::Model) -> Vec<String> {
    m.links
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn set_links(m: &mut contact::Model, links: Vec<String>) {
    m.links = Value::Array(links.into_iter().map(Value::String).collect());
}

/// The contact an id stands for now: itself, or where it was merged into.
pub async fn resolve<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<Option<contact::Model>> {
    if let Some(c) = contacts::get(conn, id).await? {
        return Ok(Some(c));
    }
    match contact_redirect::Entity::find_by_id(id).one(conn).await? {
        Some(r) => contacts::get(conn, r.contact_id).await,
        None => Ok(None),
    }
}

/// Merges `source_id` into `destination_id`; returns the destination.
pub async fn merge(
    db: &DatabaseConnection,
    events: &EventBus,
    source_id: Uuid,
    destination_id: Uuid,
) -> AppResult<contact::Model> {
    if source_id == destination_id {
        return Err(AppError::bad_input(
            "destinationId",
            "destinationId: a contact cannot be merged into itself",
        ));
    }
    tx::write(
        db,
        events,
        &(source_id, destination_id),
        |txn, (source_id, destination_id)| Box::pin(merge_in(txn, *source_id, *destination_id)),
    )
    .await
}

/// Locks both contacts (in id order, so crossed merges cannot deadlock) and
/// returns them; a contact gone meanwhile is NOT_FOUND.
async fn lock_pair<C: ConnectionTrait>(
    conn: &C,
    source_id: Uuid,
    destination_id: Uuid,
) -> AppResult<(contact::Model, contact::Model)> {
    let mut ids = [source_id, destination_id];
    ids.sort();
    let mut found = Vec::new();
    for id in ids {
        if let Some(c) = contact::Entity::find_by_id(id)
            .lock_exclusive()
            .one(conn)
            .await?
        {
            found.push(c);
        }
    }
    let take = |id: Uuid, field: &str, found: &mut Vec<contact::Model>| {
        let i = found.iter().position(|c| c.id == id).ok_or_else(|| {
            AppError::not_found(field, format!("{field}: no contact with id {id}"))
        })?;
        Ok::<_, AppError>(found.remove(i))
    };
    let source = take(source_id, "sourceId", &mut found)?;
    let destination = take(destination_id, "destinationId", &mut found)?;
    Ok((source, destination))
}

async fn merge_in<C: ConnectionTrait>(
    conn: &C,
    source_id: Uuid,
    destination_id: Uuid,
) -> AppResult<contact::Model> {
    let (source_id, destination_id) = resolve_pair(conn, source_id, destination_id).await?;
    let (source, mut destination) = lock_pair(conn, source_id, destination_id).await?;
    let before = state_of(conn, destination.id).await?;
    let relations = SourceRelations::load(conn, source.id).await?;
    let snapshot = snapshot_of(&source, &relations);
    let mut moved = Moved {
        handles: relations
            .handles
            .iter()
            .map(|h| (h.source.clone(), h.handle.clone()))
            .collect(),
        conversations: relations.conversations.iter().map(|c| c.id).collect(),
        merge_records: relations.records.iter().map(|r| r.id).collect(),
        ..Moved::default()
    };
    move_relations(conn, source.id, destination.id, &mut moved).await?;
    contact::Entity::delete_by_id(source.id).exec(conn).await?;
    fill_fields(&mut destination, &source, &mut moved);
    fill_metadata_and_groups(conn, destination.id, relations, &mut moved).await?;
    record_merge(conn, source.id, &mut destination, &snapshot, &moved).await?;
    let after = state_of(conn, destination.id).await?;
    changes::record(Change {
        merged_into_id: Some(destination.id),
        ..Change::new(ChangeKind::Merged, source.id, Vec::new()).from_source(ChangeSource::Merge)
    });
    changes::record(
        Change::new(
            ChangeKind::Updated,
            destination.id,
            after.changes_from(&before),
        )
        .from_source(ChangeSource::Merge)
        .with_counterpart(source.id),
    );
    Ok(destination)
}

/// A contact's whole state, for the log (empty if it does not exist).
async fn state_of<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<ContactState> {
    Ok(ContactState::load(conn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default())
}

/// Both ids as they stand now (a merged-away id stands for its
/// destination); the same contact twice is a CONFLICT.
async fn resolve_pair<C: ConnectionTrait>(
    conn: &C,
    source_id: Uuid,
    destination_id: Uuid,
) -> AppResult<(Uuid, Uuid)> {
    let resolved = |id: Uuid, field: &'static str| async move {
        resolve(conn, id)
            .await?
            .map(|c| c.id)
            .ok_or_else(|| AppError::not_found(field, format!("{field}: no contact with id {id}")))
    };
    let source_id = resolved(source_id, "sourceId").await?;
    let destination_id = resolved(destination_id, "destinationId").await?;
    if source_id == destination_id {
        return Err(AppError::conflict(
            "sourceId",
            "sourceId: already merged into destinationId",
        ));
    }
    Ok((source_id, destination_id))
}

/// What hangs on the source, read before anything moves.
struct SourceRelations {
    handles: Vec<contact_handle::Model>,
    metadata: Map<String, Value>,
    groups: Vec<String>,
    conversations: Vec<conversation::Model>,
    records: Vec<merge_record::Model>,
}

impl SourceRelations {
    async fn load<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<Self> {
        let ids = [id];
        Ok(Self {
            handles: of(id, relations::handles_for(conn, &ids).await?),
            metadata: of(id, relations::metadata_for(conn, &ids).await?),
            groups: of(id, relations::group_names_for(conn, &ids).await?),
            conversations: of(id, relations::conversations_for(conn, &ids).await?),
            records: of(id, relations::merge_records_for(conn, &ids).await?),
        })
    }
}

/// One contact's entry of a relation loader's answer (by contact id).
fn of<V: Default>(id: Uuid, mut by_id: std::collections::HashMap<Uuid, V>) -> V {
    by_id.remove(&id).unwrap_or_default()
}

/// The source as it is: its own fields and relations, not its history.
fn snapshot_of(source: &contact::Model, relations: &SourceRelations) -> Snapshot {
    Snapshot {
        id: source.id,
        display_name: source.display_name.clone(),
        avatar_url: source.avatar_url.clone(),
        title: source.title.clone(),
        timezone: source.timezone.clone(),
        gender: source.gender.clone(),
        locale: source.locale.clone(),
        organization_name: source.organization_name.clone(),
        description: source.description.clone(),
        contact_type: source.contact_type.clone(),
        is_spammer: source.is_spammer,
        external_id: source.external_id.clone(),
        group_names: relations.groups.clone(),
        links: links_of(source),
        via: relations
            .handles
            .iter()
            .map(|h| SnapshotHandle {
                source: h.source.clone(),
                handle: h.handle.clone(),
            })
            .collect(),
        address: SnapshotAddress {
            organization_name: source.address_organization_name.clone(),
            address_line1: source.address_line1.clone(),
            address_line2: source.address_line2.clone(),
            postcode: source.address_postcode.clone(),
            city: source.address_city.clone(),
            state: source.address_state.clone(),
            country: source.address_country.clone(),
        },
        metadata: relations.metadata.clone(),
        conversations: relations
            .conversations
            .iter()
            .map(|c| SnapshotConversation {
                id: c.id,
                channel: c.channel.clone(),
                created_at: c.created_at,
            })
            .collect(),
        created_at: source.created_at,
        updated_at: source.updated_at,
    }
}

/// Moves the source's handles (after the destination's), conversations,
/// merge records and the redirects pointing at it over to the destination,
/// before the source row goes (its cascades would take them). Redirects
/// follow it, which keeps every chain one hop long.
async fn move_relations<C: ConnectionTrait>(
    conn: &C,
    source_id: Uuid,
    destination_id: Uuid,
    moved: &mut Moved,
) -> AppResult<()> {
    let offset = relations::handles_of(conn, destination_id).await?.len() as i32;
    contact_handle::Entity::update_many()
        .col_expr(
            contact_handle::Column::ContactId,
            Expr::value(destination_id),
        )
        .col_expr(
            contact_handle::Column::Position,
            Expr::col(contact_handle::Column::Position).add(offset),
        )
        .filter(contact_handle::Column::ContactId.eq(source_id))
        .exec(conn)
        .await?;
    conversation::Entity::update_many()
        .col_expr(conversation::Column::ContactId, Expr::value(destination_id))
        .filter(conversation::Column::ContactId.eq(source_id))
        .exec(conn)
        .await?;
    merge_record::Entity::update_many()
        .col_expr(merge_record::Column::ContactId, Expr::value(destination_id))
        .filter(merge_record::Column::ContactId.eq(source_id))
        .exec(conn)
        .await?;
    moved.redirects = contact_redirect::Entity::find()
        .select_only()
        .column(contact_redirect::Column::OldId)
        .filter(contact_redirect::Column::ContactId.eq(source_id))
        .into_tuple()
        .all(conn)
        .await?;
    contact_redirect::Entity::update_many()
        .col_expr(
            contact_redirect::Column::ContactId,
            Expr::value(destination_id),
        )
        .filter(contact_redirect::Column::ContactId.eq(source_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The destination keeps what it has; its empty text fields take the
/// source's values, and the source's links join its own.
fn fill_fields(destination: &mut contact::Model, source: &contact::Model, moved: &mut Moved) {
    let mut from = source.clone();
    for ((name, slot), (_, value)) in text_fields(destination).zip(text_fields(&mut from)) {
        if slot.is_none() {
            if let Some(v) = value.clone() {
                moved.filled.push((name.to_owned(), v.clone()));
                *slot = Some(v);
            }
        }
    }
    destination.refresh_keys();
    // A set, not Vec::contains: two contacts of 40,000 links each made the
    // quadratic union a 14 s merge holding a worker thread.
    let mut links = links_of(destination);
    let mut known: std::collections::HashSet<String> = links.iter().cloned().collect();
    for link in links_of(source) {
        if known.insert(link.clone()) {
            moved.links.push(link.clone());
            links.push(link);
        }
    }
    set_links(destination, links);
}

/// Metadata keys the destination lacks (recursively) and groups it is not
/// in come from the source.
async fn fill_metadata_and_groups<C: ConnectionTrait>(
    conn: &C,
    destination_id: Uuid,
    source: SourceRelations,
    moved: &mut Moved,
) -> AppResult<()> {
    let mut dest_metadata = relations::metadata_of(conn, destination_id).await?;
    fill_missing(
        &mut dest_metadata,
        &source.metadata,
        &mut Vec::new(),
        &mut moved.metadata,
    );
    replace_metadata(conn, destination_id, dest_metadata).await?;
    let dest_groups: BTreeSet<String> = relations::group_names_of(conn, destination_id)
        .await?
        .into_iter()
        .collect();
    moved.groups = source
        .groups
        .into_iter()
        .filter(|g| !dest_groups.contains(g))
        .collect();
    write::add_memberships(conn, destination_id, &moved.groups).await
}

/// The source's id now leads to the destination; the merge record keeps the
/// snapshot and what moved, for unmerge; the destination is written back.
async fn record_merge<C: ConnectionTrait>(
    conn: &C,
    source_id: Uuid,
    destination: &mut contact::Model,
    snapshot: &Snapshot,
    moved: &Moved,
) -> AppResult<()> {
    let at = now();
    contact_redirect::ActiveModel {
        old_id: Set(source_id),
        contact_id: Set(destination.id),
        merged_at: Set(at),
    }
    .insert(conn)
    .await?;
    merge_record::ActiveModel {
        id: Set(Uuid::now_v7()),
        contact_id: Set(destination.id),
        source_id: Set(source_id),
        snapshot: Set(to_json(snapshot)?),
        merged_at: Set(at),
        moved: Set(Some(to_json(moved)?)),
    }
    .insert(conn)
    .await?;
    destination.updated_at = at;
    destination
        .clone()
        .into_active_model()
        .reset_all()
        .update(conn)
        .await?;
    Ok(())
}

/// Undoes a merge; returns the restored source.
pub async fn unmerge(
    db: &DatabaseConnection,
    events: &EventBus,
    merge_record_id: Uuid,
) -> AppResult<contact::Model> {
    tx::write(db, events, &merge_record_id, |txn, record_id| {
        Box::pin(unmerge_in(txn, *record_id))
    })
    .await
}

async fn unmerge_in<C: ConnectionTrait>(conn: &C, record_id: Uuid) -> AppResult<contact::Model> {
    let (record, mut destination) = lock_record(conn, record_id).await?;
    let before = state_of(conn, destination.id).await?;
    let snapshot: Snapshot = from_json(&record.snapshot)?;
    let moved: Moved = record
        .moved
        .as_ref()
        .map(from_json)
        .transpose()?
        .unwrap_or_default();
    take_back_fields(conn, &mut destination, &moved).await?;
    take_back_metadata_and_groups(conn, destination.id, &moved).await?;
    let source = restore_source(conn, &snapshot).await?;
    give_back_relations(conn, source.id, destination.id, &snapshot, &moved).await?;
    replace_metadata(conn, source.id, snapshot.metadata.clone()).await?;
    write::add_memberships(conn, source.id, &snapshot.group_names).await?;
    merge_record::Entity::delete_by_id(record.id)
        .exec(conn)
        .await?;
    let mut after = ContactState::load(conn, &[source.id, destination.id]).await?;
    let restored = after.remove(&source.id).unwrap_or_default();
    let kept = after.remove(&destination.id).unwrap_or_default();
    changes::record(
        Change::whole(ChangeKind::Unmerged, source.id, restored).from_source(ChangeSource::Unmerge),
    );
    changes::record(
        Change::new(
            ChangeKind::Updated,
            destination.id,
            kept.changes_from(&before),
        )
        .from_source(ChangeSource::Unmerge)
        .with_counterpart(source.id),
    );
    Ok(source)
}

/// The merge record and its destination, both locked: the contact first,
/// then the record that hangs on it, the order a merge takes them in (it
/// locks its contacts, then moves their records).
async fn lock_record<C: ConnectionTrait>(
    conn: &C,
    record_id: Uuid,
) -> AppResult<(merge_record::Model, contact::Model)> {
    let not_found = || {
        AppError::not_found(
            "mergeRecordId",
            format!("mergeRecordId: no merge record {record_id}"),
        )
    };
    let seen = merge_record::Entity::find_by_id(record_id)
        .one(conn)
        .await?
        .ok_or_else(not_found)?;
    let destination = contact::Entity::find_by_id(seen.contact_id)
        .lock_exclusive()
        .one(conn)
        .await?;
    let record = merge_record::Entity::find_by_id(record_id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(not_found)?;
    match destination {
        Some(destination) if destination.id == record.contact_id => Ok((record, destination)),
        // Its destination was merged on (or deleted) meanwhile: the next
        // run starts from where the record is now.
        _ => Err(AppError::Contended),
    }
}

/// Fields the merge filled and that still hold the merged value are
/// cleared, and the links it brought leave; the destination is written.
async fn take_back_fields<C: ConnectionTrait>(
    conn: &C,
    destination: &mut contact::Model,
    moved: &Moved,
) -> AppResult<()> {
    for (name, slot) in text_fields(destination) {
        if moved
            .filled
            .iter()
            .any(|(f, v)| f == name && slot.as_deref() == Some(v.as_str()))
        {
            *slot = None;
        }
    }
    destination.refresh_keys();
    let brought: std::collections::HashSet<&String> = moved.links.iter().collect();
    let links: Vec<String> = links_of(destination)
        .into_iter()
        .filter(|l| !brought.contains(l))
        .collect();
    set_links(destination, links);
    destination.updated_at = now();
    destination
        .clone()
        .into_active_model()
        .reset_all()
        .update(conn)
        .await?;
    Ok(())
}

/// Metadata the merge added (where unchanged since) and the group
/// memberships it added leave the destination.
async fn take_back_metadata_and_groups<C: ConnectionTrait>(
    conn: &C,
    destination_id: Uuid,
    moved: &Moved,
) -> AppResult<()> {
    let mut dest_metadata = relations::metadata_of(conn, destination_id).await?;
    for (path, value) in &moved.metadata {
        remove_if_equal(&mut dest_metadata, path, value);
    }
    replace_metadata(conn, destination_id, dest_metadata).await?;
    // Merges unite groups without bound: in chunks the driver accepts.
    for names in moved.groups.chunks(id_chunk(conn)) {
        let group_ids: Vec<Uuid> = contact_group::Entity::find()
            .select_only()
            .column(contact_group::Column::Id)
            .filter(contact_group::Column::Name.is_in(names.iter().cloned()))
            .into_tuple()
            .all(conn)
            .await?;
        contact_group_member::Entity::delete_many()
            .filter(contact_group_member::Column::ContactId.eq(destination_id))
            .filter(contact_group_member::Column::GroupId.is_in(group_ids))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// The source comes back under its old id from its snapshot; its
/// externalId only if no contact has taken it since.
async fn restore_source<C: ConnectionTrait>(
    conn: &C,
    snapshot: &Snapshot,
) -> AppResult<contact::Model> {
    let external_id = match &snapshot.external_id {
        Some(e) if contacts::find_by_external_id(conn, e).await?.is_none() => Some(e.clone()),
        _ => None,
    };
    let mut source = contact::Model {
        id: snapshot.id,
        display_name: snapshot.display_name.clone(),
        sort_name: String::new(),
        avatar_url: snapshot.avatar_url.clone(),
        title: snapshot.title.clone(),
        timezone: snapshot.timezone.clone(),
        gender: snapshot.gender.clone(),
        locale: snapshot.locale.clone(),
        organization_name: snapshot.organization_name.clone(),
        description: snapshot.description.clone(),
        contact_type: snapshot.contact_type.clone(),
        is_spammer: snapshot.is_spammer,
        external_id,
        links: Value::Null,
        address_organization_name: snapshot.address.organization_name.clone(),
        address_line1: snapshot.address.address_line1.clone(),
        address_line2: snapshot.address.address_line2.clone(),
        address_postcode: snapshot.address.postcode.clone(),
        address_city: snapshot.address.city.clone(),
        address_state: snapshot.address.state.clone(),
        address_country: snapshot.address.country.clone(),
        created_at: snapshot.created_at,
        updated_at: now(),
        search_text: String::new(),
    };
    source.refresh_keys();
    set_links(&mut source, snapshot.links.clone());
    contact_redirect::Entity::delete_by_id(source.id)
        .exec(conn)
        .await?;
    source.clone().into_active_model().insert(conn).await?;
    Ok(source)
}

/// Handles, conversations, merge records and redirects the source brought
/// go back to it, where they still are on the destination.
async fn give_back_relations<C: ConnectionTrait>(
    conn: &C,
    source_id: Uuid,
    destination_id: Uuid,
    snapshot: &Snapshot,
    moved: &Moved,
) -> AppResult<()> {
    let brought: std::collections::HashSet<(&str, &str)> = moved
        .handles
        .iter()
        .map(|(s, h)| (s.as_str(), h.as_str()))
        .collect();
    for (position, h) in snapshot.via.iter().enumerate() {
        if !brought.contains(&(h.source.as_str(), h.handle.as_str())) {
            continue;
        }
        contact_handle::Entity::update_many()
            .col_expr(contact_handle::Column::ContactId, Expr::value(source_id))
            .col_expr(
                contact_handle::Column::Position,
                Expr::value(position as i32),
            )
            .filter(
                Condition::all()
                    .add(contact_handle::Column::ContactId.eq(destination_id))
                    .add(contact_handle::Column::Source.eq(h.source.as_str()))
                    .add(contact_handle::Column::Handle.eq(h.handle.as_str())),
            )
            .exec(conn)
            .await?;
    }
    // Each list grows without bound over time: in chunks the driver accepts.
    let chunk = id_chunk(conn);
    for ids in moved.conversations.chunks(chunk) {
        conversation::Entity::update_many()
            .col_expr(conversation::Column::ContactId, Expr::value(source_id))
            .filter(conversation::Column::ContactId.eq(destination_id))
            .filter(conversation::Column::Id.is_in(ids.iter().copied()))
            .exec(conn)
            .await?;
    }
    for ids in moved.merge_records.chunks(chunk) {
        merge_record::Entity::update_many()
            .col_expr(merge_record::Column::ContactId, Expr::value(source_id))
            .filter(merge_record::Column::ContactId.eq(destination_id))
            .filter(merge_record::Column::Id.is_in(ids.iter().copied()))
            .exec(conn)
            .await?;
    }
    for ids in moved.redirects.chunks(chunk) {
        contact_redirect::Entity::update_many()
            .col_expr(contact_redirect::Column::ContactId, Expr::value(source_id))
            .filter(contact_redirect::Column::ContactId.eq(destination_id))
            .filter(contact_redirect::Column::OldId.is_in(ids.iter().copied()))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Values per `IN (...)` list: one bind parameter each, within the driver's limit.
fn id_chunk<C: ConnectionTrait>(conn: &C) -> usize {
    super::chunk_len(conn.get_database_backend(), 1)
}

/// Adds to `dest` every key of `src` it lacks, recursively; records the paths added.
fn fill_missing(
    dest: &mut Map<String, Value>,
    src: &Map<String, Value>,
    path: &mut Vec<String>,
    added: &mut Vec<(Vec<String>, Value)>,
) {
    for (key, value) in src {
        path.push(key.clone());
        match (dest.get_mut(key), value) {
            (None, _) => {
                dest.insert(key.clone(), value.clone());
                added.push((path.clone(), value.clone()));
            }
            (Some(Value::Object(d)), Value::Object(s)) => fill_missing(d, s, path, added),
            _ => {}
        }
        path.pop();
    }
}

/// Removes the value at `path` if it is still `value`.
fn remove_if_equal(map: &mut Map<String, Value>, path: &[String], value: &Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = map;
    for key in parents {
        match at.get_mut(key) {
            Some(Value::Object(inner)) => at = inner,
            _ => return,
        }
    }
    if at.get(last) == Some(value) {
        at.remove(last);
    }
}

async fn replace_metadata<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    map: Map<String, Value>,
) -> AppResult<()> {
    contact_metadata::Entity::delete_many()
        .filter(contact_metadata::Column::ContactId.eq(contact_id))
        .exec(conn)
        .await?;
    if map.is_empty() {
        return Ok(());
    }
    contact_metadata::Entity::insert_many(map.into_iter().map(|(key, value)| {
        contact_metadata::ActiveModel {
            contact_id: Set(contact_id),
            key: Set(key),
            value: Set(value),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

fn to_json<T: Serialize>(value: &T) -> AppResult<Value> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.into()))
}

fn from_json<T: for<'de> Deserialize<'de>>(value: &Value) -> AppResult<T> {
    serde_json::from_value(value.clone()).map_err(|e| AppError::Internal(e.into()))
}

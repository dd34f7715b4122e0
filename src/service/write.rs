//! The steps of a contact write, run inside the caller's transaction.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::contact_state::{
    self, conversation_value, group_value, handle_changes, metadata_changes, row_changes,
    set_changes, FieldChange, StateHandle,
};
use entity::{
    contact, contact_group, contact_group_member, contact_handle, contact_metadata, conversation,
    handle_move,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::changes::{self, Change, ChangeKind};
use super::{contacts, conversations, now, relations};
use crate::domain::{
    merge_patch, validate_metadata, ContactChanges, ConversationLink, MetadataChange,
    NormalizedHandle, Patch, PathedHandle, TEXT_FIELDS,
};
use crate::error::{AppError, AppResult};

pub(super) async fn insert_contact<C: ConnectionTrait>(
    conn: &C,
    changes: &ContactChanges,
) -> AppResult<contact::Model> {
    let model = new_contact(changes, now());
    ensure_external_id_free(conn, &model, changes).await?;
    // The row is in hand: nothing to read back.
    contact::Entity::insert(model.clone().into_active_model())
        .exec_without_returning(conn)
        .await?;
    let mut logged = row_changes(None, &model);
    logged.extend(write_related(conn, model.id, changes, false).await?);
    changes::record(Change::new(ChangeKind::Created, model.id, logged));
    Ok(model)
}

/// The contacts row a create makes, not yet written.
pub(super) fn new_contact(changes: &ContactChanges, at: DateTime<Utc>) -> contact::Model {
    let mut model = contact::Model {
        id: Uuid::now_v7(),
        display_name: None,
        sort_name: String::new(),
        avatar_url: None,
        title: None,
        timezone: None,
        gender: None,
        locale: None,
        organization_name: None,
        description: None,
        contact_type: String::new(),
        is_spammer: false,
        external_id: None,
        links: Value::Array(vec![]),
        address_organization_name: None,
        address_line1: None,
        address_line2: None,
        address_postcode: None,
        address_city: None,
        address_state: None,
        address_country: None,
        created_at: at,
        updated_at: at,
        search_text: String::new(),
    };
    apply_row_changes(&mut model, changes);
    model
}

pub(super) async fn update_contact<C: ConnectionTrait>(
    conn: &C,
    current: contact::Model,
    changes: &ContactChanges,
) -> AppResult<contact::Model> {
    let mut model = current.clone();
    apply_row_changes(&mut model, changes);
    if model.external_id != current.external_id {
        ensure_external_id_free(conn, &model, changes).await?;
    }
    let related = write_related(conn, model.id, changes, true).await?;
    if model == current && related.is_empty() {
        return Ok(model);
    }
    let mut logged = row_changes(Some(&current), &model);
    logged.extend(related);
    changes::record(Change::new(ChangeKind::Updated, model.id, logged));
    contacts::touch(conn, model).await
}

fn set(field: &mut Option<String>, patch: &Patch<String>) {
    *field = patch.clone().apply(field.take());
}

/// Applies the changes that live on the contacts row itself.
fn apply_row_changes(model: &mut contact::Model, c: &ContactChanges) {
    for (slot, patch) in model.text_columns_mut().into_iter().zip(c.text_patches()) {
        set(slot, patch);
    }
    model.refresh_keys();
    if let Some(t) = &c.contact_type {
        model.contact_type = t.clone();
    }
    if let Some(s) = c.is_spammer {
        model.is_spammer = s;
    }
    if let Some(links) = &c.links {
        model.links = Value::Array(links.iter().cloned().map(Value::String).collect());
    }
}

/// Each optional text column beside its input path (see TEXT_FIELDS).
pub(super) fn text_fields(
    model: &mut contact::Model,
) -> impl Iterator<Item = (&'static str, &mut Option<String>)> {
    TEXT_FIELDS.into_iter().zip(model.text_columns_mut())
}

async fn ensure_external_id_free<C: ConnectionTrait>(
    conn: &C,
    model: &contact::Model,
    changes: &ContactChanges,
) -> AppResult<()> {
    let Some(external_id) = &model.external_id else {
        return Ok(());
    };
    match contacts::find_by_external_id(conn, external_id).await? {
        Some(owner) if owner.id != model.id => {
            let field = changes.field("externalId");
            Err(AppError::conflict(
                &field,
                format!(
                    "{field}: {external_id:?} already belongs to contact {}",
                    owner.id
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// Writes handles, groups, metadata and conversations. Returns what
/// changed (empty: nothing).
async fn write_related<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    changes: &ContactChanges,
    existing: bool,
) -> AppResult<Vec<FieldChange>> {
    let mut changed = Vec::new();
    if let Some(via) = &changes.via {
        changed.extend(
            replace_handles(conn, contact_id, via, existing, changes.handles_verified).await?,
        );
    }
    if let Some(names) = &changes.group_names {
        changed.extend(replace_groups(conn, contact_id, names, existing).await?);
    }
    changed.extend(write_metadata(conn, contact_id, changes, existing).await?);
    changed.extend(link_conversations(conn, contact_id, &changes.conversations).await?);
    Ok(changed)
}

async fn replace_handles<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    via: &[PathedHandle],
    existing: bool,
    verified: bool,
) -> AppResult<Vec<FieldChange>> {
    if !via.is_empty() {
        claim_handles(conn, contact_id, via, verified).await?;
    }
    // Handles this contact keeps stay verified if they were.
    let mut was_verified: HashMap<(String, String), bool> = HashMap::new();
    let mut old: Vec<StateHandle> = Vec::new();
    if existing {
        let current: Vec<contact_handle::Model> = relations::handles_of(conn, contact_id).await?;
        old = current.iter().map(StateHandle::of).collect();
        let same_list = current.len() == via.len()
            && current.iter().zip(via).all(|(c, w)| {
                c.source == w.handle.source
                        && c.handle == w.handle.handle
                        // Blocked since (or no longer): rewritten.
                        && c.match_key.is_some() == w.handle.match_key.is_some()
            });
        if same_list {
            // A token holder repeating a visitor's handles vouches for them.
            if verified && current.iter().any(|h| !h.verified) {
                contact_handle::Entity::update_many()
                    .col_expr(contact_handle::Column::Verified, Expr::value(true))
                    .filter(contact_handle::Column::ContactId.eq(contact_id))
                    .exec(conn)
                    .await?;
                let vouched: Vec<StateHandle> = old
                    .iter()
                    .map(|h| StateHandle {
                        verified: true,
                        ..h.clone()
                    })
                    .collect();
                return Ok(handle_changes(&old, &vouched));
            }
            return Ok(Vec::new());
        }
        was_verified = current
            .into_iter()
            .map(|h| ((h.source, h.handle), h.verified))
            .collect();
        contact_handle::Entity::delete_many()
            .filter(contact_handle::Column::ContactId.eq(contact_id))
            .exec(conn)
            .await?;
    }
    if via.is_empty() {
        return Ok(handle_changes(&old, &[]));
    }
    let new: Vec<StateHandle> = via
        .iter()
        .map(|h| {
            let key = (h.handle.source.clone(), h.handle.handle.clone());
            StateHandle {
                verified: verified || was_verified.get(&key).copied().unwrap_or(false),
                source: key.0,
                handle: key.1,
            }
        })
        .collect();
    let ids: Vec<Uuid> = via.iter().map(|_| Uuid::now_v7()).collect();
    let keys = match_keys(via.iter().map(|h| &h.handle).zip(ids.iter().copied()));
    let rows = via
        .iter()
        .zip(&new)
        .zip(ids.into_iter().zip(keys))
        .enumerate()
        .map(
            |(i, ((h, state), (id, match_key)))| contact_handle::ActiveModel {
                id: Set(id),
                contact_id: Set(contact_id),
                source: Set(h.handle.source.clone()),
                handle: Set(h.handle.handle.clone()),
                search_key: Set(h.handle.search_key.clone()),
                position: Set(i as i32),
                verified: Set(state.verified),
                match_key: Set(match_key),
            },
        );
    contact_handle::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(handle_changes(&old, &new))
}

/// Makes sure no other contact holds the wanted handles. One that another
/// contact holds verified is a CONFLICT; one it holds unverified (a
/// visitor's) is taken over when the writer is a token holder (`verified`),
/// so that a visitor claiming an address cannot capture staff's writes.
async fn claim_handles<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    via: &[PathedHandle],
    verified: bool,
) -> AppResult<()> {
    // (source, match key) pairs, so that the unique index answers the
    // lookup; a blocked identifier matches nobody.
    let taken = contact_handle::Entity::find()
        .filter(handle_keys_in(via.iter().map(|h| &h.handle)))
        .all(conn)
        .await?;
    let mut released: Vec<HeldHandle> = Vec::new();
    for wanted in via {
        let Some(key) = &wanted.handle.match_key else {
            continue;
        };
        let owner = taken.iter().find(|t| {
            t.source == wanted.handle.source
                && t.match_key.as_ref() == Some(key)
                && t.contact_id != contact_id
        });
        match owner {
            None => {}
            Some(owner) if verified && !owner.verified => released.push(HeldHandle::of(owner)),
            Some(owner) => {
                return Err(AppError::conflict(
                    &wanted.path,
                    format!(
                        "{}: {} handle {:?} already belongs to contact {}{}",
                        wanted.path,
                        wanted.handle.source,
                        wanted.handle.handle,
                        owner.contact_id,
                        variant_note(&wanted.handle.handle, &owner.handle),
                    ),
                ))
            }
        }
    }
    release_handles(conn, &released).await
}

/// `(source, match_key) IN ((..), (..), ...)` for the handles that match
/// (blocked ones do not): one flat list, however many handles. (A fold of
/// OR conditions renders as a left-deep tree whose recursion overflowed the
/// stack at about 700 handles.) No handle matching: a condition that is
/// false.
pub(super) fn handle_keys_in<'a>(
    handles: impl IntoIterator<Item = &'a NormalizedHandle>,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let pairs: Vec<(String, String)> = handles
        .into_iter()
        .filter_map(|h| h.match_key.clone().map(|k| (h.source.clone(), k)))
        .collect();
    if pairs.is_empty() {
        return Expr::value(false);
    }
    Expr::tuple([
        Expr::col(contact_handle::Column::Source),
        Expr::col(contact_handle::Column::MatchKey),
    ])
    .in_tuples(pairs)
}

/// The stored match key of each handle of one contact's list, given the
/// row ids they get: None for a blocked identifier; a key matching nothing
/// for a later form of a number the list holds already (both forms are
/// kept; the first one matches).
pub(super) fn match_keys<'a>(
    handles: impl IntoIterator<Item = (&'a NormalizedHandle, Uuid)>,
) -> Vec<Option<String>> {
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    handles
        .into_iter()
        .map(|(h, id)| {
            let key = h.match_key.as_deref()?;
            Some(if seen.insert((h.source.as_str(), key)) {
                key.to_owned()
            } else {
                contact_handle::unmatched_key(id)
            })
        })
        .collect()
}

/// Says so when a number matched another national form of itself.
pub(super) fn variant_note(wanted: &str, held: &str) -> String {
    if wanted == held {
        String::new()
    } else {
        format!(" (as {held:?}, the same line in another national form)")
    }
}

/// A handle row held by some contact.
#[derive(Debug, Clone)]
pub(super) struct HeldHandle {
    pub id: Uuid,
    pub source: String,
    pub handle: String,
    pub match_key: Option<String>,
    pub contact_id: Uuid,
}

impl HeldHandle {
    pub fn of(row: &contact_handle::Model) -> Self {
        Self {
            id: row.id,
            source: row.source.clone(),
            handle: row.handle.clone(),
            match_key: row.match_key.clone(),
            contact_id: row.contact_id,
        }
    }
}

/// Takes unverified handles from the contacts holding them, recording each
/// move and touching the contact that lost it.
pub(super) async fn release_handles<C: ConnectionTrait>(
    conn: &C,
    handles: &[HeldHandle],
) -> AppResult<()> {
    if handles.is_empty() {
        return Ok(());
    }
    let at = now();
    let backend = conn.get_database_backend();
    for chunk in handles.chunks(super::chunk_len(
        backend,
        super::columns_of::<handle_move::Entity>(),
    )) {
        contact_handle::Entity::delete_many()
            .filter(contact_handle::Column::Id.is_in(chunk.iter().map(|h| h.id)))
            .exec(conn)
            .await?;
        handle_move::Entity::insert_many(chunk.iter().map(|h| handle_move::ActiveModel {
            id: Set(Uuid::now_v7()),
            source: Set(h.source.clone()),
            handle: Set(h.handle.clone()),
            from_contact_id: Set(h.contact_id),
            moved_at: Set(at),
        }))
        .exec_without_returning(conn)
        .await?;
        contact::Entity::update_many()
            .col_expr(contact::Column::UpdatedAt, Expr::value(at))
            .filter(contact::Column::Id.is_in(chunk.iter().map(|h| h.contact_id)))
            .exec(conn)
            .await?;
    }
    // Each contact that lost handles: one entry naming them (a visitor's,
    // so unverified).
    let mut lost: HashMap<Uuid, Vec<StateHandle>> = HashMap::new();
    for h in handles {
        lost.entry(h.contact_id).or_default().push(StateHandle {
            source: h.source.clone(),
            handle: h.handle.clone(),
            verified: false,
        });
    }
    for (contact_id, removed) in lost {
        let logged = handle_changes(&removed, &[]);
        changes::record(Change::new(ChangeKind::Updated, contact_id, logged));
    }
    tracing::info!(
        count = handles.len(),
        "a token holder's write took over handles a visitor had set"
    );
    Ok(())
}

async fn replace_groups<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    names: &[String],
    existing: bool,
) -> AppResult<Vec<FieldChange>> {
    let wanted: BTreeSet<String> = names.iter().cloned().collect();
    let mut current = BTreeSet::new();
    if existing {
        current = relations::group_names_of(conn, contact_id)
            .await?
            .into_iter()
            .collect();
        if current == wanted {
            return Ok(Vec::new());
        }
        contact_group_member::Entity::delete_many()
            .filter(contact_group_member::Column::ContactId.eq(contact_id))
            .exec(conn)
            .await?;
    }
    add_memberships(conn, contact_id, names).await?;
    Ok(set_changes(
        contact_state::GROUP_NAMES,
        &current,
        &wanted,
        |g| group_value(g),
    ))
}

/// Creates the groups not seen before; returns name -> id for all of them.
/// Groups are created on first use; a concurrent creator of the same group is
/// fine, the unique name makes one of the inserts a no-op.
pub(super) async fn ensure_groups<C: ConnectionTrait>(
    conn: &C,
    names: &[&str],
) -> AppResult<HashMap<String, Uuid>> {
    let at = now();
    let mut ids = HashMap::new();
    for chunk in names.chunks(super::chunk_len(
        conn.get_database_backend(),
        super::columns_of::<contact_group::Entity>(),
    )) {
        contact_group::Entity::insert_many(chunk.iter().map(|name| contact_group::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set((*name).to_owned()),
            created_at: Set(at),
        }))
        .on_conflict(
            OnConflict::column(contact_group::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        let found: Vec<(Uuid, String)> = contact_group::Entity::find()
            .select_only()
            .columns([contact_group::Column::Id, contact_group::Column::Name])
            .filter(contact_group::Column::Name.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        ids.extend(found.into_iter().map(|(id, name)| (name, id)));
    }
    Ok(ids)
}

/// Puts the contact in the named groups (creating them), keeping the
/// memberships it already has.
pub(super) async fn add_memberships<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    names: &[String],
) -> AppResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let ids: Vec<Uuid> = ensure_groups(conn, &names).await?.into_values().collect();
    // Merges unite groups without bound: in chunks the driver accepts.
    let rows = super::chunk_len(
        conn.get_database_backend(),
        super::columns_of::<contact_group_member::Entity>(),
    );
    for chunk in ids.chunks(rows) {
        contact_group_member::Entity::insert_many(chunk.iter().map(|group_id| {
            contact_group_member::ActiveModel {
                contact_id: Set(contact_id),
                group_id: Set(*group_id),
            }
        }))
        .on_conflict(
            OnConflict::columns([
                contact_group_member::Column::ContactId,
                contact_group_member::Column::GroupId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

async fn write_metadata<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    changes: &ContactChanges,
    existing: bool,
) -> AppResult<Vec<FieldChange>> {
    let current = if existing {
        relations::metadata_of(conn, contact_id).await?
    } else {
        Map::new()
    };
    let next = match &changes.metadata {
        MetadataChange::Keep => return Ok(Vec::new()),
        MetadataChange::Clear => Map::new(),
        MetadataChange::MergePatch(patch) => {
            let mut next = current.clone();
            merge_patch(&mut next, patch);
            // The patch was checked alone; the merged object must fit too.
            validate_metadata(&changes.field("metadata"), &Value::Object(next.clone()))?;
            next
        }
    };
    if next == current {
        return Ok(Vec::new());
    }
    let logged = metadata_changes(&current, &next);
    let removed: Vec<String> = current
        .keys()
        .filter(|k| !next.contains_key(*k))
        .cloned()
        .collect();
    if !removed.is_empty() {
        contact_metadata::Entity::delete_many()
            .filter(contact_metadata::Column::ContactId.eq(contact_id))
            .filter(contact_metadata::Column::Key.is_in(removed))
            .exec(conn)
            .await?;
    }
    let upserts: Vec<contact_metadata::ActiveModel> = next
        .into_iter()
        .filter(|(k, v)| current.get(k) != Some(v))
        .map(|(key, value)| contact_metadata::ActiveModel {
            contact_id: Set(contact_id),
            key: Set(key),
            value: Set(value),
        })
        .collect();
    if !upserts.is_empty() {
        contact_metadata::Entity::insert_many(upserts)
            .on_conflict(
                OnConflict::columns([
                    contact_metadata::Column::ContactId,
                    contact_metadata::Column::Key,
                ])
                .update_column(contact_metadata::Column::Value)
                .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    Ok(logged)
}

/// Links conversations to the contact, creating those not seen before. A
/// conversation already linked to another contact is a CONFLICT.
async fn link_conversations<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    links: &[ConversationLink],
) -> AppResult<Vec<FieldChange>> {
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let known: HashMap<Uuid, conversation::Model> = conversation::Entity::find()
        .filter(conversation::Column::Id.is_in(links.iter().map(|l| l.id)))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut to_link = Vec::new();
    let mut to_insert = Vec::new();
    for link in links {
        match known.get(&link.id) {
            Some(c) if c.contact_id == Some(contact_id) => {}
            Some(c) if c.contact_id.is_some() => {
                return Err(AppError::conflict(
                    &link.path,
                    format!(
                        "{}: conversation {} belongs to contact {}",
                        link.path,
                        link.id,
                        c.contact_id.unwrap_or_default()
                    ),
                ))
            }
            Some(_) => to_link.push(link.id),
            None => to_insert.push(conversation::ActiveModel {
                id: Set(link.id),
                channel: Set(link.channel.clone()),
                contact_id: Set(Some(contact_id)),
                created_at: Set(now()),
            }),
        }
    }
    let linked: BTreeSet<Uuid> = to_link
        .iter()
        .copied()
        .chain(to_insert.iter().filter_map(|c| c.id.try_as_ref().copied()))
        .collect();
    let logged = set_changes(
        contact_state::CONVERSATIONS,
        &BTreeSet::new(),
        &linked,
        conversation_value,
    );
    if !to_link.is_empty() {
        conversation::Entity::update_many()
            .col_expr(
                conversation::Column::ContactId,
                sea_orm::sea_query::Expr::value(contact_id),
            )
            .filter(conversation::Column::Id.is_in(to_link))
            .filter(conversation::Column::ContactId.is_null())
            .exec(conn)
            .await?;
    }
    let new_ids: Vec<Uuid> = to_insert
        .iter()
        .filter_map(|c| c.id.try_as_ref().copied())
        .collect();
    let taken = conversations::contact_ids_among(conn, &new_ids).await?;
    if let Some(link) = links.iter().find(|l| taken.contains(&l.id)) {
        return Err(conversations::names_a_contact(&link.path, link.id));
    }
    if !to_insert.is_empty() {
        conversation::Entity::insert_many(to_insert)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(logged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AddressInput;

    /// Each field of TEXT_FIELDS, set to its own name, lands in the column
    /// that field names: the domain's list and the entity's accessor agree.
    #[test]
    fn every_text_field_lands_in_its_own_column() {
        let set = |name: &str| Patch::Set(name.to_owned());
        let changes = ContactChanges {
            path: "input".into(),
            display_name: set("displayName"),
            avatar_url: set("avatarUrl"),
            title: set("title"),
            timezone: set("timezone"),
            gender: set("gender"),
            locale: set("locale"),
            organization_name: set("organizationName"),
            description: set("description"),
            contact_type: None,
            is_spammer: None,
            external_id: set("externalId"),
            group_names: None,
            links: None,
            via: None,
            address: Patch::Set(AddressInput {
                organization_name: set("address.organizationName"),
                address_line1: set("address.addressLine1"),
                address_line2: set("address.addressLine2"),
                postcode: set("address.postcode"),
                city: set("address.city"),
                state: set("address.state"),
                country: set("address.country"),
            }),
            metadata: MetadataChange::Keep,
            conversations: Vec::new(),
            handles_verified: true,
        };
        let m = new_contact(&changes, now());
        let columns = [
            (&m.display_name, "displayName"),
            (&m.avatar_url, "avatarUrl"),
            (&m.title, "title"),
            (&m.timezone, "timezone"),
            (&m.gender, "gender"),
            (&m.locale, "locale"),
            (&m.organization_name, "organizationName"),
            (&m.description, "description"),
            (&m.external_id, "externalId"),
            (&m.address_organization_name, "address.organizationName"),
            (&m.address_line1, "address.addressLine1"),
            (&m.address_line2, "address.addressLine2"),
            (&m.address_postcode, "address.postcode"),
            (&m.address_city, "address.city"),
            (&m.address_state, "address.state"),
            (&m.address_country, "address.country"),
        ];
        assert_eq!(TEXT_FIELDS.len(), columns.len());
        for (column, name) in columns {
            assert_eq!(column.as_deref(), Some(name));
        }
        let mut m = m.clone();
        for (name, slot) in text_fields(&mut m) {
            assert_eq!(slot.as_deref(), Some(name));
        }
    }
}

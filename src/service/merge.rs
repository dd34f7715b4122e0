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
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::changes::{self, Change, ChangeKind, ChangeSource};
use super::events::EventBus;
use super::merge_choices::{self, FieldChoice, Replaced};
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
pub struct Moved {
    pub handles: Vec<(String, String)>,
    pub conversations: Vec<Uuid>,
    /// Destination fields that were empty, with the value the source gave them.
    pub filled: Vec<(String, String)>,
    /// Metadata paths added to the destination, with their values.
    pub metadata: Vec<(Vec<String>, Value)>,
    pub groups: Vec<String>,
    pub links: Vec<String>,
    /// The source's own merge records, now on the destination.
    pub merge_records: Vec<Uuid>,
    /// Redirects that pointed at the source, now at the destination.
    pub redirects: Vec<Uuid>,
    /// Destination values that `fieldChoices` of this source replaced
    /// (records written before field choices have none).
    #[serde(default)]
    pub replaced: Vec<Replaced>,
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

/// Sources one merge may take: `sourceId` and up to 49 more (Front's 50).
pub const MAX_SOURCES: usize = 50;

/// A merge asked for: `sources` merged into `destination`, in that order,
/// with `choices` picking where single fields' values come from. Each id
/// comes with the input path that names it in errors.
#[derive(Debug, Clone)]
pub struct MergePlan {
    pub sources: Vec<(Uuid, String)>,
    pub destination: (Uuid, String),
    pub choices: Vec<FieldChoice>,
    /// The input path of `fieldChoices` (`fieldChoices`).
    pub choices_field: String,
    /// The input path of the list of sources (`additionalSourceIds` of a
    /// merge, `sourceIds` of a preview).
    pub sources_field: String,
}

impl MergePlan {
    /// A merge of one source, as the contract's two arguments name it.
    pub fn pair(source_id: Uuid, destination_id: Uuid) -> Self {
        Self {
            sources: vec![(source_id, "sourceId".into())],
            destination: (destination_id, "destinationId".into()),
            choices: Vec::new(),
            choices_field: "fieldChoices".into(),
            sources_field: "additionalSourceIds".into(),
        }
    }

    /// Every problem of the arguments themselves, before any contact is
    /// read (the preview lists them all; a merge answers the first).
    pub fn problems(&self) -> Vec<AppError> {
        // The counts first, and alone: a list of 100,000 ids is refused
        // before anything is done for each of them.
        if let Some(too_many) = self.too_many() {
            return vec![too_many];
        }
        let mut problems = Vec::new();
        if self.sources.is_empty() {
            let field = &self.sources_field;
            problems.push(AppError::bad_input(
                field,
                format!("{field}: name at least one contact to merge"),
            ));
        }
        let mut seen: std::collections::HashMap<Uuid, &str> =
            std::collections::HashMap::from([(self.destination.0, self.destination.1.as_str())]);
        for (i, (id, field)) in self.sources.iter().enumerate() {
            match seen.get(id) {
                None => {
                    seen.insert(*id, field);
                }
                Some(_) if *id == self.destination.0 => {
                    // The contract's pair names the destination, as it always has.
                    let field = if i == 0 { &self.destination.1 } else { field };
                    problems.push(AppError::bad_input(
                        field,
                        format!("{field}: a contact cannot be merged into itself"),
                    ));
                }
                Some(first) => problems.push(AppError::bad_input(
                    field,
                    format!("{field}: the same id as {first}"),
                )),
            }
        }
        let mut chosen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for (i, choice) in self.choices.iter().enumerate() {
            let at = format!("{}.{i}", self.choices_field);
            if !merge_choices::is_choosable(&choice.field) {
                problems.push(AppError::bad_input(
                    format!("{at}.field"),
                    format!(
                        "{at}.field: {:?} is not a field that can be chosen; one of {}",
                        choice.field,
                        merge_choices::choosable()
                    ),
                ));
            } else if !chosen.insert(&choice.field) {
                problems.push(AppError::bad_input(
                    format!("{at}.field"),
                    format!("{at}.field: {:?} is chosen twice", choice.field),
                ));
            }
            if !seen.contains_key(&choice.from) {
                problems.push(AppError::bad_input(
                    format!("{at}.fromContactId"),
                    format!(
                        "{at}.fromContactId: {} is not one of the contacts merged",
                        choice.from
                    ),
                ));
            }
        }
        problems
    }

    /// LIMIT_EXCEEDED when the plan names more sources or choices than a
    /// merge takes.
    fn too_many(&self) -> Option<AppError> {
        if self.sources.len() > MAX_SOURCES {
            return Some(too_many_sources(
                &self.sources_field,
                self.sources.len(),
                self.sources_field == "additionalSourceIds",
            ));
        }
        too_many_choices(&self.choices_field, self.choices.len())
    }
}

/// LIMIT_EXCEEDED for `count` sources; `additional`: counted beside
/// `sourceId` (mergeContacts' `additionalSourceIds`).
pub fn too_many_sources(field: &str, count: usize, additional: bool) -> AppError {
    let (most, given) = if additional {
        (MAX_SOURCES - 1, count.saturating_sub(1))
    } else {
        (MAX_SOURCES, count)
    };
    AppError::TooLarge {
        field: field.to_owned(),
        message: format!(
            "{field}: a merge takes at most {MAX_SOURCES} sources in all, so at most {most} here ({given} given)"
        ),
    }
}

/// LIMIT_EXCEEDED when more field choices are given than there are fields.
pub fn too_many_choices(field: &str, count: usize) -> Option<AppError> {
    let most = merge_choices::COUNT;
    (count > most).then(|| AppError::TooLarge {
        field: field.to_owned(),
        message: format!(
            "{field}: at most {most} choices, one per field that can be chosen ({count} given)"
        ),
    })
}

/// What a merge did: the destination as it now is, and what each source
/// brought (in the order merged).
pub struct Merged {
    pub destination: contact::Model,
    pub sources: Vec<(Uuid, Moved)>,
}

/// Merges `source_id` into `destination_id`; returns the destination.
pub async fn merge(
    db: &DatabaseConnection,
    events: &EventBus,
    source_id: Uuid,
    destination_id: Uuid,
) -> AppResult<contact::Model> {
    merge_all(db, events, &MergePlan::pair(source_id, destination_id)).await
}

/// Runs `plan` in one transaction: each source is merged as by [`merge`],
/// one merge record each, then the choices set their fields; returns the
/// destination. The first of [`MergePlan::problems`] is answered, if any.
pub async fn merge_all(
    db: &DatabaseConnection,
    events: &EventBus,
    plan: &MergePlan,
) -> AppResult<contact::Model> {
    if let Some(problem) = plan.problems().into_iter().next() {
        return Err(problem);
    }
    tx::write(db, events, plan, |txn, plan| {
        Box::pin(async move { Ok(merge_in(txn, plan).await?.destination) })
    })
    .await
}

/// Locks the contacts (in id order, so crossed merges cannot deadlock) and
/// returns them in the order of `ids`; one gone meanwhile is NOT_FOUND
/// naming its field.
async fn lock_all<C: ConnectionTrait>(
    conn: &C,
    ids: &[(Uuid, String)],
) -> AppResult<Vec<contact::Model>> {
    let mut order: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
    order.sort();
    let mut found = std::collections::HashMap::new();
    for id in order {
        if let Some(c) = contact::Entity::find_by_id(id)
            .lock_exclusive()
            .one(conn)
            .await?
        {
            found.insert(id, c);
        }
    }
    ids.iter()
        .map(|(id, field)| {
            found.remove(id).ok_or_else(|| {
                AppError::not_found(field, format!("{field}: no contact with id {id}"))
            })
        })
        .collect()
}

/// The merge itself, in the caller's transaction (the preview's is rolled
/// back).
pub(super) async fn merge_in<C: ConnectionTrait>(conn: &C, plan: &MergePlan) -> AppResult<Merged> {
    let resolved = resolve_all(conn, plan).await?;
    let mut locked = lock_all(conn, &resolved).await?;
    let mut destination = locked.remove(0);
    let sources = locked;
    let chosen = chosen_values(plan, &resolved, &destination, &sources);
    let skip: BTreeSet<&str> = plan.choices.iter().map(|c| c.field.as_str()).collect();
    let before = state_of(conn, destination.id).await?;
    let mut merged = Vec::with_capacity(sources.len());
    for source in sources {
        let source_id = source.id;
        let own_choices: Vec<(&str, &Value)> = chosen
            .iter()
            .filter(|(_, from, _)| *from == source_id)
            .map(|(field, _, value)| (*field, value))
            .collect();
        let moved = merge_one(conn, source, &mut destination, &skip, &own_choices).await?;
        changes::record(Change {
            merged_into_id: Some(destination.id),
            ..Change::new(ChangeKind::Merged, source_id, Vec::new())
                .from_source(ChangeSource::Merge)
        });
        merged.push((source_id, moved));
    }
    let after = state_of(conn, destination.id).await?;
    changes::record(
        Change::new(
            ChangeKind::Updated,
            destination.id,
            after.changes_from(&before),
        )
        .from_source(ChangeSource::Merge)
        .with_counterpart(merged[0].0),
    );
    Ok(Merged {
        destination,
        sources: merged,
    })
}

/// Each chosen field's value, read from the contact chosen before anything
/// moves, with the (resolved) id it comes from.
fn chosen_values<'p>(
    plan: &'p MergePlan,
    resolved: &[(Uuid, String)],
    destination: &contact::Model,
    sources: &[contact::Model],
) -> Vec<(&'p str, Uuid, Value)> {
    let given: Vec<Uuid> = std::iter::once(plan.destination.0)
        .chain(plan.sources.iter().map(|s| s.0))
        .collect();
    plan.choices
        .iter()
        .filter_map(|choice| {
            let at = given.iter().position(|id| *id == choice.from)?;
            let model = if at == 0 {
                destination
            } else {
                sources.get(at - 1)?
            };
            debug_assert_eq!(model.id, resolved[at].0);
            Some((
                choice.field.as_str(),
                model.id,
                merge_choices::value_of(model, &choice.field),
            ))
        })
        .collect()
}

/// Merges one source into the destination (locked, in hand): its
/// relations move, its fields fill the destination's empty ones (but for
/// those in `skip`, which are chosen), `choices` from it set theirs, and
/// its merge record is written with the destination.
async fn merge_one<C: ConnectionTrait>(
    conn: &C,
    source: contact::Model,
    destination: &mut contact::Model,
    skip: &BTreeSet<&str>,
    choices: &[(&str, &Value)],
) -> AppResult<Moved> {
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
    fill_fields(destination, &source, skip, &mut moved);
    apply_choices(destination, choices, &mut moved);
    fill_metadata_and_groups(conn, destination.id, relations, &mut moved).await?;
    record_merge(conn, source.id, destination, &snapshot, &moved).await?;
    Ok(moved)
}

/// The fields chosen from this source take its values; the destination's
/// values they replace are kept for unmerge.
fn apply_choices(destination: &mut contact::Model, choices: &[(&str, &Value)], moved: &mut Moved) {
    for (field, value) in choices {
        let old = merge_choices::value_of(destination, field);
        if old != **value {
            merge_choices::set_value(destination, field, value);
            moved.replaced.push(Replaced {
                field: (*field).to_owned(),
                old,
                new: (*value).clone(),
            });
        }
    }
    destination.refresh_keys();
}

/// A contact's whole state, for the log (empty if it does not exist).
async fn state_of<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<ContactState> {
    Ok(ContactState::load(conn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default())
}

/// The destination and the sources as they stand now (a merged-away id
/// stands for its destination), destination first, each with its field;
/// one contact named twice is a CONFLICT.
async fn resolve_all<C: ConnectionTrait>(
    conn: &C,
    plan: &MergePlan,
) -> AppResult<Vec<(Uuid, String)>> {
    let mut resolved: Vec<(Uuid, String)> = Vec::with_capacity(plan.sources.len() + 1);
    for (id, field) in std::iter::once(&plan.destination).chain(&plan.sources) {
        let now_id = resolve(conn, *id).await?.map(|c| c.id).ok_or_else(|| {
            AppError::not_found(field, format!("{field}: no contact with id {id}"))
        })?;
        if let Some((_, first)) = resolved.iter().find(|r| r.0 == now_id) {
            return Err(AppError::conflict(
                field,
                format!("{field}: already merged into {first} (both are contact {now_id})"),
            ));
        }
        resolved.push((now_id, field.clone()));
    }
    Ok(resolved)
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
/// source's values (but for chosen fields), and the source's links join
/// its own.
fn fill_fields(
    destination: &mut contact::Model,
    source: &contact::Model,
    skip: &BTreeSet<&str>,
    moved: &mut Moved,
) {
    let mut from = source.clone();
    for ((name, slot), (_, value)) in text_fields(destination).zip(text_fields(&mut from)) {
        if slot.is_none() && !skip.contains(name) {
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
/// cleared, those its choices replaced and that still hold the chosen value
/// get their old value back, and the links it brought leave; the
/// destination is written.
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
    for r in &moved.replaced {
        if merge_choices::value_of(destination, &r.field) == r.new {
            merge_choices::set_value(destination, &r.field, &r.old);
        }
    }
    // An externalId is unique: one another contact took since the merge
    // is not put back (the field is left empty, and the source gets its
    // own back below), as a restored source's own externalId is not.
    if let Some(e) = &destination.external_id {
        if contacts::find_by_external_id(conn, e)
            .await?
            .is_some_and(|owner| owner.id != destination.id)
        {
            destination.external_id = None;
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
    // The rows by id: one read of the destination's handles, then one
    // update by primary key each (a contact may hold thousands).
    let rows: Vec<(Uuid, String, String)> = contact_handle::Entity::find()
        .select_only()
        .column(contact_handle::Column::Id)
        .column(contact_handle::Column::Source)
        .column(contact_handle::Column::Handle)
        .filter(contact_handle::Column::ContactId.eq(destination_id))
        .into_tuple()
        .all(conn)
        .await?;
    let row_of: std::collections::HashMap<(&str, &str), Uuid> = rows
        .iter()
        .map(|(id, s, h)| ((s.as_str(), h.as_str()), *id))
        .collect();
    for (position, h) in snapshot.via.iter().enumerate() {
        let key = (h.source.as_str(), h.handle.as_str());
        let Some(row) = row_of.get(&key).filter(|_| brought.contains(&key)) else {
            continue;
        };
        contact_handle::Entity::update_many()
            .col_expr(contact_handle::Column::ContactId, Expr::value(source_id))
            .col_expr(
                contact_handle::Column::Position,
                Expr::value(position as i32),
            )
            .filter(contact_handle::Column::Id.eq(*row))
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

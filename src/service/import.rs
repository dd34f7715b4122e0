//! Batch import. Every row is validated first; conflicts are resolved for the
//! whole batch with a few chunked lookups; new contacts are then written with
//! multi-row INSERTs (contacts, handles, groups, memberships, metadata,
//! conversations), all in one transaction. Rows that update an existing
//! contact (onConflict: UPDATE) go through the single-contact update path.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::contact_state::{self, ContactState, StateHandle};
use entity::{contact, contact_group_member, contact_handle, contact_metadata, conversation};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set, Statement,
};
use serde_json::Map;
use uuid::Uuid;

use super::changes::{self, Change, ChangeKind};
use super::events::EventBus;
use super::tx;
use super::{chunk_len, contacts, conversations, now, relations, write};
use crate::domain::{fill, merge_patch, ContactChanges, MetadataChange, NormalizedHandle, Patch};
use crate::error::{AppError, AppResult};

/// What a row whose handle or externalId is taken does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflictMode {
    Fail,
    Skip,
    Update,
    /// Update only what the existing contact lacks (domain::fill).
    FillBlanks,
}

impl OnConflictMode {
    /// Whether a matching row is written onto its contact, so that the row
    /// must also be validated by the update rules.
    pub fn updates(self) -> bool {
        matches!(self, Self::Update | Self::FillBlanks)
    }
}

#[derive(Debug, Clone)]
pub enum RowOutcome {
    Created(Uuid),
    Updated(Uuid),
    /// Left out; the existing contact it matched (None: a contact an
    /// earlier row of this import creates).
    Skipped(Option<Uuid>),
    Failed(AppError),
    /// Valid, but not written because the atomic batch had failures.
    NotWritten,
}

/// One input row, validated for both ways it may be written: as a new
/// contact (create rules, defaults filled) or onto an existing one (update
/// rules: absent fields stay as they are).
pub struct ImportRow {
    pub create: AppResult<ContactChanges>,
    /// Only for onConflict: UPDATE and FILL_BLANKS (validating twice costs
    /// a second phone parse per handle).
    pub update: Option<AppResult<ContactChanges>>,
    /// Where the row came from, for messages: "row 3", "line 17".
    pub origin: String,
}

/// Outcomes in input order, and, when asked for, the final state of every
/// written contact.
pub struct Imported {
    pub rows: Vec<RowOutcome>,
    pub contacts: HashMap<Uuid, contact::Model>,
}

/// What an import gives back besides the outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBack {
    /// The written contacts, read in the import's transaction.
    Contacts,
    /// Nothing: the caller only counts (a 10,000-row batch spares reading
    /// 10,000 rows back).
    Nothing,
}

pub async fn import(
    db: &DatabaseConnection,
    events: &EventBus,
    rows: &[ImportRow],
    mode: OnConflictMode,
    atomic: bool,
    read_back: ReadBack,
) -> AppResult<Imported> {
    changes::as_import(tx::write(
        db,
        events,
        &(rows, mode, atomic, read_back),
        |txn, (rows, mode, atomic, read_back)| {
            Box::pin(import_in(txn, rows, *mode, *atomic, *read_back))
        },
    ))
    .await
}

/// Plans the rows as `import` would write them, in a write transaction
/// that is rolled back: every row's outcome (as if not atomic), nothing
/// written, nothing logged, no event. Created ids are made up.
pub async fn dry_run(
    db: &DatabaseConnection,
    rows: &[ImportRow],
    mode: OnConflictMode,
) -> AppResult<Imported> {
    let mut attempt = 1;
    loop {
        let txn = super::begin_write(db).await?;
        let (result, _unlogged) =
            changes::collecting(import_in(&txn, rows, mode, false, ReadBack::Nothing)).await;
        super::roll_back(txn).await;
        match result {
            Err(AppError::Contended) if attempt < 3 => attempt += 1,
            other => return other,
        }
    }
}

/// Takes over the visitors' handles that rows about to be written name.
async fn release_taken_over<C: ConnectionTrait>(
    conn: &C,
    rows: &[ImportRow],
    plans: &[Plan],
    existing: &Existing,
) -> AppResult<()> {
    if existing.unverified.is_empty() {
        return Ok(());
    }
    let written: HashSet<(&str, &str)> = plans
        .iter()
        .zip(rows)
        .filter(|(p, _)| matches!(p, Plan::Create | Plan::Update(_)))
        .filter_map(|(_, r)| r.create.as_ref().ok())
        .flat_map(|c| c.via.iter().flatten())
        .filter_map(|h| Some((h.handle.source.as_str(), h.handle.match_key.as_deref()?)))
        .collect();
    let released: Vec<write::HeldHandle> = existing
        .unverified
        .iter()
        .filter(|h| {
            h.match_key
                .as_deref()
                .is_some_and(|key| written.contains(&(h.source.as_str(), key)))
        })
        .cloned()
        .collect();
    write::release_handles(conn, &released).await
}

/// Where a row's keys lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Existing(Uuid),
    /// The contact an earlier row of this batch creates.
    Row(usize),
}

#[derive(Debug)]
enum Plan {
    Create,
    Update(Target),
    Skip(Target),
    Fail(AppError),
}

/// What already exists for the batch's keys.
#[derive(Default)]
struct Existing {
    external_ids: HashMap<String, Uuid>,
    /// Verified handles and their owners.
    handles: HashMap<(String, String), Uuid>,
    /// Handles visitors hold unverified: an import (a token holder's
    /// write) takes them over rather than matching their contacts.
    unverified: Vec<write::HeldHandle>,
    conversations: HashMap<Uuid, Option<Uuid>>,
    /// Conversation ids of the rows that are contacts' ids (refused).
    contact_ids: HashSet<Uuid>,
}

async fn lookup_existing<C: ConnectionTrait>(
    conn: &C,
    rows: &[&ContactChanges],
) -> AppResult<Existing> {
    let mut existing = Existing::default();
    let external_ids: BTreeSet<String> = rows
        .iter()
        .filter_map(|c| match &c.external_id {
            Patch::Set(e) => Some(e.clone()),
            _ => None,
        })
        .collect();
    let external_ids: Vec<String> = external_ids.into_iter().collect();
    for chunk in external_ids.chunks(chunk_len(conn.get_database_backend(), 1)) {
        let found: Vec<(Option<String>, Uuid)> = contact::Entity::find()
            .select_only()
            .columns([contact::Column::ExternalId, contact::Column::Id])
            .filter(contact::Column::ExternalId.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(conn)
            .await?;
        existing
            .external_ids
            .extend(found.into_iter().filter_map(|(e, id)| e.map(|e| (e, id))));
    }
    // Grouped by source, so that the (source, match_key) unique index
    // answers; blocked identifiers match nobody.
    let mut by_source: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for c in rows {
        for h in c.via.iter().flatten() {
            if let Some(key) = &h.handle.match_key {
                by_source
                    .entry(h.handle.source.as_str())
                    .or_default()
                    .insert(key.as_str());
            }
        }
    }
    for (source, handles) in by_source {
        let handles: Vec<&str> = handles.into_iter().collect();
        for chunk in handles.chunks(chunk_len(conn.get_database_backend(), 1) - 1) {
            for held in handle_owners(conn, source, chunk).await? {
                match held {
                    (held, true) => {
                        if let Some(key) = held.match_key {
                            existing
                                .handles
                                .insert((source.to_owned(), key), held.contact_id);
                        }
                    }
                    (held, false) => existing.unverified.push(held),
                }
            }
        }
    }
    let conversation_ids: Vec<Uuid> = rows
        .iter()
        .flat_map(|c| c.conversations.iter().map(|l| l.id))
        .collect();
    for chunk in conversation_ids.chunks(chunk_len(conn.get_database_backend(), 1)) {
        let found: Vec<(Uuid, Option<Uuid>)> = conversation::Entity::find()
            .select_only()
            .columns([conversation::Column::Id, conversation::Column::ContactId])
            .filter(conversation::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        existing.conversations.extend(found);
    }
    // Each id is bound twice (contacts and redirects).
    for chunk in conversation_ids.chunks(chunk_len(conn.get_database_backend(), 2)) {
        existing
            .contact_ids
            .extend(conversations::contact_ids_among(conn, chunk).await?);
    }
    Ok(existing)
}

/// Owners of the handles of one source with the given match keys. The keys arrive as a VALUES
/// list joined to the table: index probes or a hash join on both databases.
/// A plain `handle IN (...)` turned quadratic on PostgreSQL once the cached
/// statement went to a generic plan (the list is then searched linearly for
/// every row the source index yields: minutes per batch at 500,000 handles).
async fn handle_owners<C: ConnectionTrait>(
    conn: &C,
    source: &str,
    keys: &[&str],
) -> AppResult<Vec<(write::HeldHandle, bool)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let backend = conn.get_database_backend();
    // Numbered placeholders: the source, bound first, comes last in the text.
    let param = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    };
    let cells: Vec<String> = (0..keys.len())
        .map(|i| format!("({})", param(i + 2)))
        .collect();
    let sql = format!(
        "SELECT h.id, h.handle, h.match_key, h.contact_id, h.verified FROM contact_handles h \
         JOIN (VALUES {}) AS k ON h.match_key = k.column1 WHERE h.source = {}",
        cells.join(", "),
        param(1)
    );
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(keys.len() + 1);
    values.push(source.into());
    values.extend(keys.iter().map(|k| sea_orm::Value::from(*k)));
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                write::HeldHandle {
                    id: r.try_get::<Uuid>("", "id")?,
                    source: source.to_owned(),
                    handle: r.try_get::<String>("", "handle")?,
                    match_key: r.try_get::<Option<String>>("", "match_key")?,
                    contact_id: r.try_get::<Uuid>("", "contact_id")?,
                },
                r.try_get::<bool>("", "verified")?,
            ))
        })
        .collect::<Result<_, DbErr>>()
        .map_err(AppError::from)
}

/// Decides every row, in input order, as if the rows were written one after
/// the other: a later row sharing a key with an earlier one meets that row's
/// contact, never a second contact.
fn plan_rows(rows: &[ImportRow], existing: &Existing, mode: OnConflictMode) -> Vec<Plan> {
    let mut claimed_keys: HashMap<Key, (Target, usize)> = HashMap::new();
    let mut claimed_conversations: HashMap<Uuid, usize> = HashMap::new();
    let mut plans = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let changes = match &row.create {
            Ok(c) => c,
            Err(e) => {
                plans.push(Plan::Fail(e.clone()));
                continue;
            }
        };
        let keys = row_keys(changes);
        let mut target: Option<(Target, String, String)> = None;
        let mut failure: Option<AppError> = None;
        for (key, field) in &keys {
            let found = match claimed_keys.get(key) {
                Some((t, row)) => Some((
                    *t,
                    format!("{field}: also in {} of this import", rows[*row].origin),
                )),
                None => key.existing(existing).map(|id| {
                    (
                        Target::Existing(id),
                        format!("{field}: already belongs to contact {id}"),
                    )
                }),
            };
            let Some((t, why)) = found else { continue };
            match &target {
                Some((first, first_field, _)) if *first != t => {
                    failure = Some(ambiguous(field, first_field, [*first, t], rows));
                    break;
                }
                Some(_) => {}
                None => target = Some((t, field.clone(), why)),
            }
        }
        let plan = match (failure, target) {
            (Some(e), _) => Plan::Fail(e),
            (None, None) => Plan::Create,
            (None, Some((t, field, why))) => match mode {
                OnConflictMode::Fail => Plan::Fail(AppError::conflict(&field, why)),
                OnConflictMode::Skip => Plan::Skip(t),
                OnConflictMode::Update | OnConflictMode::FillBlanks => Plan::Update(t),
            },
        };
        let plan = match plan {
            Plan::Create | Plan::Update(_) => {
                check_conversations(changes, &plan, existing, &claimed_conversations, rows)
                    .map_or(plan, Plan::Fail)
            }
            other => other,
        };
        let target = match &plan {
            Plan::Create => Some(Target::Row(i)),
            Plan::Update(t) => Some(*t),
            _ => None,
        };
        if let Some(t) = target {
            for (key, _) in keys {
                claimed_keys.entry(key).or_insert((t, i));
            }
            for link in &changes.conversations {
                claimed_conversations.insert(link.id, i);
            }
        }
        plans.push(plan);
    }
    plans
}

/// AMBIGUOUS_MATCH: `field` leads to `targets[1]`, `first_field` to
/// `targets[0]`; existing contacts are named by id, new ones by their row.
fn ambiguous(field: &str, first_field: &str, targets: [Target; 2], rows: &[ImportRow]) -> AppError {
    let name = |t: Target| match t {
        Target::Existing(id) => format!("contact {id}"),
        Target::Row(i) => format!("the contact {} of this import creates", rows[i].origin),
    };
    let ids = targets
        .iter()
        .filter_map(|t| match t {
            Target::Existing(id) => Some(*id),
            Target::Row(_) => None,
        })
        .collect();
    AppError::ambiguous(
        field,
        format!(
            "{field} points at {}, but {first_field} at {}: merge them (mergeContacts) or leave one key out",
            name(targets[1]),
            name(targets[0])
        ),
        ids,
    )
}

/// A conversation may go to a row's contact if nobody else has it.
fn check_conversations(
    changes: &ContactChanges,
    plan: &Plan,
    existing: &Existing,
    claimed: &HashMap<Uuid, usize>,
    rows: &[ImportRow],
) -> Option<AppError> {
    let own = match plan {
        Plan::Update(Target::Existing(id)) => Some(*id),
        _ => None,
    };
    for link in &changes.conversations {
        if existing.contact_ids.contains(&link.id) {
            return Some(conversations::names_a_contact(&link.path, link.id));
        }
        if let Some(row) = claimed.get(&link.id) {
            return Some(AppError::conflict(
                &link.path,
                format!(
                    "{}: conversation {} is also in {} of this import",
                    link.path, link.id, rows[*row].origin
                ),
            ));
        }
        if let Some(Some(owner)) = existing.conversations.get(&link.id) {
            if Some(*owner) != own {
                return Some(AppError::conflict(
                    &link.path,
                    format!(
                        "{}: conversation {} belongs to contact {owner}",
                        link.path, link.id
                    ),
                ));
            }
        }
    }
    None
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    ExternalId(String),
    /// A source and a match key.
    Handle(String, String),
}

impl Key {
    fn existing(&self, existing: &Existing) -> Option<Uuid> {
        match self {
            Key::ExternalId(e) => existing.external_ids.get(e).copied(),
            Key::Handle(s, h) => existing.handles.get(&(s.clone(), h.clone())).copied(),
        }
    }
}

/// The lookup keys of a row with their input paths, externalId first.
fn row_keys(changes: &ContactChanges) -> Vec<(Key, String)> {
    let mut keys = Vec::new();
    if let Patch::Set(e) = &changes.external_id {
        keys.push((Key::ExternalId(e.clone()), changes.field("externalId")));
    }
    for h in changes.via.iter().flatten() {
        // A blocked identifier is no key: it matches nobody.
        if let Some(key) = &h.handle.match_key {
            keys.push((
                Key::Handle(h.handle.source.clone(), key.clone()),
                h.path.clone(),
            ));
        }
    }
    keys
}

/// One batch inside the caller's transaction (the command line's atomic mode
/// spans a whole file this way).
pub async fn import_in<C: ConnectionTrait>(
    conn: &C,
    rows: &[ImportRow],
    mode: OnConflictMode,
    atomic: bool,
    read_back: ReadBack,
) -> AppResult<Imported> {
    let valid: Vec<&ContactChanges> = rows.iter().filter_map(|r| r.create.as_ref().ok()).collect();
    let existing = lookup_existing(conn, &valid).await?;
    let plans = plan_rows(rows, &existing, mode);
    if atomic && plans.iter().any(|p| matches!(p, Plan::Fail(_))) {
        return Ok(Imported {
            rows: nothing_written(plans),
            contacts: HashMap::new(),
        });
    }
    // Contacts this batch updates are locked first, in id order: imports
    // of the same people in different orders then queue instead of
    // deadlocking.
    contacts::lock_in_id_order(
        conn,
        plans.iter().filter_map(|p| match p {
            Plan::Update(Target::Existing(id)) => Some(*id),
            _ => None,
        }),
    )
    .await?;
    release_taken_over(conn, rows, &plans, &existing).await?;
    let creates: Vec<(usize, &ContactChanges)> = plans
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p, Plan::Create))
        .filter_map(|(i, _)| rows[i].create.as_ref().ok().map(|c| (i, c)))
        .collect();
    let created = insert_batch(conn, &creates, &existing).await?;
    let mut outcomes = Vec::with_capacity(rows.len());
    for (i, (plan, row)) in plans.into_iter().zip(rows).enumerate() {
        outcomes.push(carry_out(conn, i, plan, row, &created, mode).await?);
    }
    let contacts = read_written(conn, &outcomes, read_back).await?;
    Ok(Imported {
        rows: outcomes,
        contacts,
    })
}

/// An atomic batch with a failed row: the failures, and nothing written.
fn nothing_written(plans: Vec<Plan>) -> Vec<RowOutcome> {
    plans
        .into_iter()
        .map(|p| match p {
            Plan::Fail(e) => RowOutcome::Failed(e),
            _ => RowOutcome::NotWritten,
        })
        .collect()
}

/// Row `i`'s outcome once the batch's new contacts exist: an update is
/// applied now, to its (locked) contact.
async fn carry_out<C: ConnectionTrait>(
    conn: &C,
    i: usize,
    plan: Plan,
    row: &ImportRow,
    created: &HashMap<usize, Uuid>,
    mode: OnConflictMode,
) -> AppResult<RowOutcome> {
    let id_of = |row: usize| {
        created.get(&row).copied().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("an import row planned as created was not"))
        })
    };
    let target = match plan {
        Plan::Create => return Ok(RowOutcome::Created(id_of(i)?)),
        Plan::Skip(Target::Existing(id)) => return Ok(RowOutcome::Skipped(Some(id))),
        Plan::Skip(Target::Row(_)) => return Ok(RowOutcome::Skipped(None)),
        Plan::Fail(e) => return Ok(RowOutcome::Failed(e)),
        Plan::Update(target) => target,
    };
    let id = match target {
        Target::Existing(id) => id,
        Target::Row(row) => id_of(row)?,
    };
    let changes = row
        .update
        .as_ref()
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "an import row to update was not validated for updates"
            ))
        })?
        .as_ref()
        .map_err(Clone::clone)?;
    let current = contact::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(AppError::Contended)?;
    if mode == OnConflictMode::FillBlanks {
        let filled = fill_blanks_of(conn, &current, changes.clone()).await?;
        write::update_contact(conn, current, &filled).await?;
    } else {
        write::update_contact(conn, current, changes).await?;
    }
    Ok(RowOutcome::Updated(id))
}

/// A FILL_BLANKS row's changes, reduced to what `current` lacks.
async fn fill_blanks_of<C: ConnectionTrait>(
    conn: &C,
    current: &contact::Model,
    changes: ContactChanges,
) -> AppResult<ContactChanges> {
    let handles = relations::handles_of(conn, current.id).await?;
    let metadata = relations::metadata_of(conn, current.id).await?;
    let held = fill::Current {
        text: current.text_columns(),
        links: current
            .links
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        via: handles
            .into_iter()
            .map(|h| NormalizedHandle {
                source: h.source,
                handle: h.handle,
                search_key: h.search_key,
                match_key: h.match_key,
            })
            .collect(),
        group_names: relations::group_names_of(conn, current.id).await?,
        metadata: &metadata,
    };
    Ok(fill::fill_blanks(changes, &held))
}

/// The written contacts, read back in the import's transaction, if asked.
async fn read_written<C: ConnectionTrait>(
    conn: &C,
    outcomes: &[RowOutcome],
    read_back: ReadBack,
) -> AppResult<HashMap<Uuid, contact::Model>> {
    let mut contacts = HashMap::new();
    if read_back == ReadBack::Nothing {
        return Ok(contacts);
    }
    let ids: Vec<Uuid> = outcomes
        .iter()
        .filter_map(|o| match o {
            RowOutcome::Created(id) | RowOutcome::Updated(id) => Some(*id),
            _ => None,
        })
        .collect();
    for chunk in ids.chunks(chunk_len(conn.get_database_backend(), 1)) {
        for m in contacts::get_many(conn, chunk).await? {
            contacts.insert(m.id, m);
        }
    }
    Ok(contacts)
}

/// Writes the new contacts with multi-row INSERTs. Returns row index -> id.
async fn insert_batch<C: ConnectionTrait>(
    conn: &C,
    creates: &[(usize, &ContactChanges)],
    existing: &Existing,
) -> AppResult<HashMap<usize, Uuid>> {
    let at = now();
    let models: Vec<contact::Model> = creates
        .iter()
        .map(|(_, c)| write::new_contact(c, at))
        .collect();
    // Each new contact beside the changes it was made of.
    let made: Vec<(&ContactChanges, Uuid)> = creates
        .iter()
        .zip(&models)
        .map(|((_, c), m)| (*c, m.id))
        .collect();
    for ((_, c), model) in creates.iter().zip(&models) {
        let state = created_state(model, c);
        changes::record(Change::whole(ChangeKind::Created, model.id, state));
    }
    insert_contacts(conn, models).await?;
    insert_chunked(conn, handle_rows(&made)).await?;
    insert_chunked(conn, metadata_rows(&made)).await?;
    insert_memberships(conn, &made).await?;
    link_conversations(conn, &made, existing, at).await?;
    Ok(creates
        .iter()
        .zip(&made)
        .map(|((i, _), (_, id))| (*i, *id))
        .collect())
}

async fn insert_contacts<C: ConnectionTrait>(
    conn: &C,
    models: Vec<contact::Model>,
) -> AppResult<()> {
    insert_chunked(
        conn,
        models
            .into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect(),
    )
    .await
}

/// What a new contact holds once its rows are written (below), for the log.
fn created_state(model: &contact::Model, c: &ContactChanges) -> ContactState {
    let mut metadata = Map::new();
    if let MetadataChange::MergePatch(patch) = &c.metadata {
        merge_patch(&mut metadata, patch);
    }
    ContactState {
        fields: contact_state::row_fields(model),
        links: contact_state::links_of(model),
        via: c
            .via
            .iter()
            .flatten()
            .map(|h| StateHandle {
                source: h.handle.source.clone(),
                handle: h.handle.handle.clone(),
                verified: true,
            })
            .collect(),
        group_names: c.group_names.iter().flatten().cloned().collect(),
        metadata,
        conversations: c.conversations.iter().map(|l| l.id).collect(),
    }
}

/// The handles of new contacts, in the order given; an import is a token
/// holder's write, so they are verified.
fn handle_rows(made: &[(&ContactChanges, Uuid)]) -> Vec<contact_handle::ActiveModel> {
    made.iter()
        .flat_map(|(c, id)| {
            let via = c.via.as_deref().unwrap_or_default();
            let ids: Vec<Uuid> = via.iter().map(|_| Uuid::now_v7()).collect();
            let keys = write::match_keys(via.iter().map(|h| &h.handle).zip(ids.iter().copied()));
            via.iter()
                .zip(ids)
                .zip(keys)
                .enumerate()
                .map(
                    move |(pos, ((h, row_id), match_key))| contact_handle::ActiveModel {
                        id: Set(row_id),
                        contact_id: Set(*id),
                        source: Set(h.handle.source.clone()),
                        handle: Set(h.handle.handle.clone()),
                        search_key: Set(h.handle.search_key.clone()),
                        position: Set(pos as i32),
                        verified: Set(true),
                        match_key: Set(match_key),
                    },
                )
        })
        .collect()
}

/// The metadata of new contacts: their merge patch applied to nothing.
fn metadata_rows(made: &[(&ContactChanges, Uuid)]) -> Vec<contact_metadata::ActiveModel> {
    made.iter()
        .flat_map(|(c, id)| {
            let mut map = Map::new();
            if let MetadataChange::MergePatch(patch) = &c.metadata {
                merge_patch(&mut map, patch);
            }
            map.into_iter()
                .map(move |(key, value)| contact_metadata::ActiveModel {
                    contact_id: Set(*id),
                    key: Set(key),
                    value: Set(value),
                })
        })
        .collect()
}

/// Puts new contacts in their groups, creating the groups first.
async fn insert_memberships<C: ConnectionTrait>(
    conn: &C,
    made: &[(&ContactChanges, Uuid)],
) -> AppResult<()> {
    let names: BTreeSet<&str> = made
        .iter()
        .flat_map(|(c, _)| c.group_names.iter().flatten().map(String::as_str))
        .collect();
    let group_ids = write::ensure_groups(conn, &names.into_iter().collect::<Vec<_>>()).await?;
    let members: Vec<contact_group_member::ActiveModel> = made
        .iter()
        .flat_map(|(c, id)| {
            let group_ids = &group_ids;
            c.group_names.iter().flatten().filter_map(move |name| {
                group_ids
                    .get(name)
                    .map(|gid| contact_group_member::ActiveModel {
                        contact_id: Set(*id),
                        group_id: Set(*gid),
                    })
            })
        })
        .collect();
    insert_chunked(conn, members).await
}

/// Links new contacts' conversations: known ones (unlinked: plan_rows
/// refused linked ones) are pointed at them, unknown ones are created.
async fn link_conversations<C: ConnectionTrait>(
    conn: &C,
    made: &[(&ContactChanges, Uuid)],
    existing: &Existing,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let mut new_conversations = Vec::new();
    for (c, id) in made {
        for link in &c.conversations {
            if existing.conversations.contains_key(&link.id) {
                let linked = conversation::Entity::update_many()
                    .col_expr(conversation::Column::ContactId, Expr::value(*id))
                    .filter(conversation::Column::Id.eq(link.id))
                    .filter(conversation::Column::ContactId.is_null())
                    .exec(conn)
                    .await?;
                if linked.rows_affected == 0 {
                    // Linked by someone else since it was looked up.
                    return Err(AppError::Contended);
                }
            } else {
                new_conversations.push(conversation::ActiveModel {
                    id: Set(link.id),
                    channel: Set(link.channel.clone()),
                    contact_id: Set(Some(*id)),
                    created_at: Set(at),
                });
            }
        }
    }
    insert_chunked(conn, new_conversations).await
}

/// Inserts rows in statements of as many rows as the bind-parameter rule
/// allows; a row binds one parameter per column of its table.
async fn insert_chunked<C, A>(conn: &C, rows: Vec<A>) -> AppResult<()>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + Send,
{
    let columns = super::columns_of::<A::Entity>();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows
            .by_ref()
            .take(chunk_len(conn.get_database_backend(), columns))
            .collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

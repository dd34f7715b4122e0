//! The duplicate-candidate index: each contact's blocking keys
//! (domain::duplicates) and the scored pairs that share one, kept from the
//! change log rather than on every write, so that writes pay nothing for it.
//!
//! The index first builds itself from the contacts, BATCH at a time by id;
//! then it reads the log after the position the build started at and
//! re-keys every contact an entry names. Each step is one write
//! transaction that also moves the index's place (`duplicate_index`), so a
//! step is done once whichever replica runs it: PostgreSQL replicas queue
//! on that row's lock, SQLite writers on the database's.
//!
//! Freshness: computed on demand. A reader of candidates first runs the
//! steps still due ([`catch_up`]), so it sees every write committed before
//! it asked. Nothing runs while nobody reads candidates: a background
//! upkeep measured at a third fewer createContact per second on
//! PostgreSQL (bench/run.py M1), so writes pay nothing instead and the
//! first read after many writes pays for them (SERVER_BUSY, retry, when
//! that takes over READ_WAIT: a build of 200,000 contacts takes about 35 s).

use std::collections::{BTreeSet, HashMap, HashSet};

use entity::{
    contact, contact_redirect, duplicate_dismissal, duplicate_index, duplicate_key, duplicate_pair,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{begin_write, changes, finish, relations};
use crate::domain::duplicates::{self, Profile, Reason};
use crate::error::AppResult;

/// Contacts (building) or log entries (following) per step.
const BATCH: u64 = 500;
/// Contacts sharing one key beyond which the key brings no pair: a large
/// company's name or a tower block's address would otherwise pair
/// everyone with everyone. A mailbox or a line is rarely that shared.
pub const BLOCK_CAP: usize = 50;
/// Ids per IN list: within SQLite's 999 parameters, with room.
const IDS_PER_STATEMENT: usize = 500;

/// How long a read waits for the index to catch up before answering
/// SERVER_BUSY (the catching up goes on without it).
const READ_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Brings the index up to date for a read: the work runs in a task of its
/// own, so that it goes on (and a retry finds it further along) when a
/// build after an upgrade or a large import takes longer than READ_WAIT.
async fn catch_up_for_read(db: &DatabaseConnection) -> AppResult<()> {
    let work = tokio::spawn({
        let db = db.clone();
        async move { catch_up(&db).await }
    });
    match tokio::time::timeout(READ_WAIT, work).await {
        Ok(Ok(done)) => done,
        Ok(Err(panicked)) => Err(crate::error::AppError::Internal(panicked.into())),
        Err(_) => Err(crate::error::AppError::ServerBusy(
            "the duplicate index is still catching up with the change log (a build after an \
             upgrade, or a large import); retry shortly"
                .into(),
        )),
    }
}

/// Runs the index's steps until it has read the whole log. Finding nothing
/// to do takes two reads and no write transaction (on SQLite, no turn at
/// the write lock).
pub async fn catch_up(db: &DatabaseConnection) -> AppResult<()> {
    if !due(db).await? {
        return Ok(());
    }
    while step(db).await? {}
    Ok(())
}

/// Whether the index has work: a build, or log entries it has not read.
async fn due(db: &DatabaseConnection) -> AppResult<bool> {
    let state = duplicate_index::Entity::find_by_id(1).one(db).await?;
    match state {
        Some(duplicate_index::Model {
            position: Some(position),
            built: true,
            ..
        }) => {
            let (_, last) =
                changes::contacts_named_after(db, changes::Position { seq: position }, 1).await?;
            Ok(last.is_some())
        }
        _ => Ok(true),
    }
}

/// Runs one step of the index; whether there may be more to do.
async fn step(db: &DatabaseConnection) -> AppResult<bool> {
    let txn = begin_write(db).await?;
    let result = step_in(&txn).await;
    finish(txn, result).await
}

async fn step_in(txn: &DatabaseTransaction) -> AppResult<bool> {
    let state = lock_state(txn).await?;
    let Some(position) = state.position else {
        start_build(txn).await?;
        return Ok(true);
    };
    if !state.built {
        return build_step(txn, position, state.build_after).await;
    }
    follow_step(txn, changes::Position { seq: position }).await
}

/// The index's row, locked for this step on PostgreSQL (SQLite's write
/// transaction already excludes every other writer).
async fn lock_state(txn: &DatabaseTransaction) -> AppResult<duplicate_index::Model> {
    let mut select = duplicate_index::Entity::find_by_id(1);
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        select = select.lock(LockType::Update);
    }
    match select.one(txn).await? {
        Some(state) => Ok(state),
        // The migration writes the row; a database without it is rebuilt.
        None => {
            duplicate_index::Entity::insert(duplicate_index::ActiveModel {
                id: Set(1),
                position: Set(None),
                built: Set(false),
                build_after: Set(None),
            })
            .exec_without_returning(txn)
            .await?;
            Ok(duplicate_index::Model {
                id: 1,
                position: None,
                built: false,
                build_after: None,
            })
        }
    }
}

/// Starts a build from scratch: what the index held goes, and the log is
/// to be followed from its head as it is now (what changes during the
/// build is read from the log afterwards).
async fn start_build(txn: &DatabaseTransaction) -> AppResult<()> {
    duplicate_pair::Entity::delete_many().exec(txn).await?;
    duplicate_key::Entity::delete_many().exec(txn).await?;
    let head = changes::head(txn).await?;
    save_state(txn, Some(head.seq), false, None).await
}

async fn save_state(
    txn: &DatabaseTransaction,
    position: Option<i64>,
    built: bool,
    build_after: Option<Uuid>,
) -> AppResult<()> {
    duplicate_index::Entity::update_many()
        .col_expr(duplicate_index::Column::Position, position.into())
        .col_expr(duplicate_index::Column::Built, built.into())
        .col_expr(duplicate_index::Column::BuildAfter, build_after.into())
        .filter(duplicate_index::Column::Id.eq(1))
        .exec(txn)
        .await?;
    Ok(())
}

/// Retention purged the log through `last`: an index that had not read that
/// far can no longer follow it, and is rebuilt from the contacts.
pub async fn log_purged_through<C: ConnectionTrait>(
    conn: &C,
    last: changes::Position,
) -> AppResult<()> {
    duplicate_index::Entity::update_many()
        .col_expr(
            duplicate_index::Column::Position,
            Option::<i64>::None.into(),
        )
        .col_expr(duplicate_index::Column::Built, false.into())
        .col_expr(
            duplicate_index::Column::BuildAfter,
            Option::<Uuid>::None.into(),
        )
        .filter(duplicate_index::Column::Position.lt(last.seq))
        .exec(conn)
        .await?;
    Ok(())
}

/// Keys the next BATCH contacts by id. A pair is found when the later of
/// its two contacts is keyed: the earlier one's keys are there by then.
async fn build_step(
    txn: &DatabaseTransaction,
    position: i64,
    after: Option<Uuid>,
) -> AppResult<bool> {
    let mut select = contact::Entity::find()
        .select_only()
        .column(contact::Column::Id)
        .order_by_asc(contact::Column::Id)
        .limit(BATCH);
    if let Some(after) = after {
        select = select.filter(contact::Column::Id.gt(after));
    }
    let ids: Vec<Uuid> = select.into_tuple().all(txn).await?;
    match ids.last() {
        Some(&last) => {
            index_new(txn, &ids).await?;
            save_state(txn, Some(position), false, Some(last)).await?;
        }
        None => save_state(txn, Some(position), true, None).await?,
    }
    Ok(true)
}

/// Re-keys the contacts the next BATCH log entries name.
async fn follow_step(txn: &DatabaseTransaction, after: changes::Position) -> AppResult<bool> {
    let (named, last) = changes::contacts_named_after(txn, after, BATCH).await?;
    let Some(last) = last else {
        return Ok(false);
    };
    let ids: Vec<Uuid> = named.into_iter().collect();
    reindex(txn, &ids).await?;
    save_state(txn, Some(last.seq), true, None).await?;
    Ok(true)
}

/// Replaces the keys and pairs of `ids` with what the contacts hold now (a
/// contact gone, deleted or merged away, keeps none).
async fn reindex(txn: &DatabaseTransaction, ids: &[Uuid]) -> AppResult<()> {
    forget(txn, ids).await?;
    index_new(txn, ids).await
}

/// Keys `ids`, which the index holds nothing of, and stores their pairs.
async fn index_new(txn: &DatabaseTransaction, ids: &[Uuid]) -> AppResult<()> {
    let profiles = profiles_of(txn, ids).await?;
    let keys: Vec<(String, Uuid)> = profiles
        .iter()
        .flat_map(|(id, p)| duplicates::blocking_keys(p).into_iter().map(|k| (k, *id)))
        .collect();
    insert_keys(txn, &keys).await?;
    let pairs = pairs_sharing_keys(txn, &keys).await?;
    score_and_store(txn, pairs, profiles).await
}

/// Drops the keys and pairs of `ids` (before re-keying them, or for good).
pub async fn forget<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> AppResult<()> {
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        duplicate_key::Entity::delete_many()
            .filter(duplicate_key::Column::ContactId.is_in(chunk.iter().copied()))
            .exec(conn)
            .await?;
        // One statement per column: each uses its index, where an OR of
        // the two scanned the whole table.
        for column in [
            duplicate_pair::Column::LowId,
            duplicate_pair::Column::HighId,
        ] {
            duplicate_pair::Entity::delete_many()
                .filter(column.is_in(chunk.iter().copied()))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

/// Drops everything the index holds of `ids`, dismissals included (an
/// erasure: no value of theirs may stay).
pub async fn forget_for_good<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> AppResult<()> {
    // After any step of the index running now: one that read the contact
    // before it was deleted would otherwise write its keys back.
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        duplicate_index::Entity::find_by_id(1)
            .lock(LockType::Update)
            .one(conn)
            .await?;
    }
    forget(conn, ids).await?;
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        duplicate_dismissal::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(duplicate_dismissal::Column::LowId.is_in(chunk.iter().copied()))
                    .add(duplicate_dismissal::Column::HighId.is_in(chunk.iter().copied())),
            )
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// What a profile is made of: id, display name, organisation, address
/// line 1, city.
type ProfileRow = (
    Uuid,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The profiles of those of `ids` that are contacts now.
async fn profiles_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Profile>> {
    let mut profiles = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let rows: Vec<ProfileRow> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .column(contact::Column::DisplayName)
            .column(contact::Column::OrganizationName)
            .column(contact::Column::AddressLine1)
            .column(contact::Column::AddressCity)
            .filter(contact::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        let mut handles = relations::handles_for(conn, chunk).await?;
        for (id, name, organization, line1, city) in rows {
            let mut profile = Profile {
                name: duplicates::name_words(name.as_deref().unwrap_or("")),
                organization: duplicates::text_key(organization.as_deref().unwrap_or("")),
                ..Profile::default()
            };
            if let Some(line1) = line1.filter(|l| !l.trim().is_empty()) {
                profile.address =
                    duplicates::text_key(&format!("{line1} {}", city.unwrap_or_default()));
            }
            // A blocked identifier (no match key) matches nobody, here too.
            for handle in handles
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .filter(|h| h.match_key.is_some())
            {
                if entity::contact_handle::is_phone_source(&handle.source) {
                    profile
                        .phones
                        .insert(duplicates::phone_key(&handle.source, &handle.handle));
                } else if handle.source == "email" {
                    profile.emails.extend(duplicates::email_key(&handle.handle));
                }
            }
            profiles.insert(id, profile);
        }
    }
    Ok(profiles)
}

async fn insert_keys<C: ConnectionTrait>(conn: &C, keys: &[(String, Uuid)]) -> AppResult<()> {
    let rows_per_statement = super::chunk_len(conn.get_database_backend(), 2);
    for chunk in keys.chunks(rows_per_statement) {
        duplicate_key::Entity::insert_many(chunk.iter().map(|(key, id)| {
            duplicate_key::ActiveModel {
                key: Set(key.clone()),
                contact_id: Set(*id),
            }
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

/// Pairs (lower id first) of a contact of `keys` and another contact with
/// the same key, for keys held by at most BLOCK_CAP contacts.
async fn pairs_sharing_keys<C: ConnectionTrait>(
    conn: &C,
    keys: &[(String, Uuid)],
) -> AppResult<BTreeSet<(Uuid, Uuid)>> {
    let distinct: Vec<&String> = keys
        .iter()
        .map(|(k, _)| k)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut members: HashMap<String, Vec<Uuid>> = HashMap::new();
    for chunk in distinct.chunks(IDS_PER_STATEMENT) {
        let crowded: Vec<String> = duplicate_key::Entity::find()
            .select_only()
            .column(duplicate_key::Column::Key)
            .filter(duplicate_key::Column::Key.is_in(chunk.iter().map(|k| k.as_str())))
            .group_by(duplicate_key::Column::Key)
            .having(
                Expr::expr(Func::count(Expr::col(duplicate_key::Column::ContactId)))
                    .gt(BLOCK_CAP as i64),
            )
            .into_tuple()
            .all(conn)
            .await?;
        let crowded: HashSet<String> = crowded.into_iter().collect();
        let wanted: Vec<&str> = chunk
            .iter()
            .filter(|k| !crowded.contains(k.as_str()))
            .map(|k| k.as_str())
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let rows: Vec<(String, Uuid)> = duplicate_key::Entity::find()
            .select_only()
            .column(duplicate_key::Column::Key)
            .column(duplicate_key::Column::ContactId)
            .filter(duplicate_key::Column::Key.is_in(wanted))
            .into_tuple()
            .all(conn)
            .await?;
        for (key, id) in rows {
            members.entry(key).or_default().push(id);
        }
    }
    let mut pairs = BTreeSet::new();
    for (key, id) in keys {
        for &other in members.get(key).into_iter().flatten() {
            if other != *id {
                pairs.insert(ordered(other, *id));
            }
        }
    }
    Ok(pairs)
}

/// Scores `pairs` and stores those that score and are not dismissed.
/// `known` holds profiles already loaded.
async fn score_and_store<C: ConnectionTrait>(
    conn: &C,
    pairs: BTreeSet<(Uuid, Uuid)>,
    mut known: HashMap<Uuid, Profile>,
) -> AppResult<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let missing: Vec<Uuid> = pairs
        .iter()
        .flat_map(|&(a, b)| [a, b])
        .filter(|id| !known.contains_key(id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    known.extend(profiles_of(conn, &missing).await?);
    let involved: Vec<Uuid> = known.keys().copied().collect();
    let dismissed = Dismissed::load(conn, &involved).await?;
    let mut rows = Vec::new();
    for (low, high) in pairs {
        let (Some(a), Some(b)) = (known.get(&low), known.get(&high)) else {
            continue;
        };
        if dismissed.covers(low, high) {
            continue;
        }
        if let Some((score, reasons)) =
            duplicates::score(a, b).filter(|(score, _)| *score >= duplicates::KEPT_SCORE)
        {
            rows.push(duplicate_pair::ActiveModel {
                low_id: Set(low),
                high_id: Set(high),
                score: Set(score),
                reasons: Set(reason_names(&reasons)),
            });
        }
    }
    let rows_per_statement = super::chunk_len(conn.get_database_backend(), 4);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(rows_per_statement).collect();
        duplicate_pair::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The reasons as stored: their GraphQL names, comma-separated.
fn reason_names(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// Each contact's identities: its own id and the ids merged into it (which
/// dismissals made before a merge are stored under).
pub(super) async fn identities<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    let mut identities: HashMap<Uuid, Vec<Uuid>> = ids.iter().map(|&id| (id, vec![id])).collect();
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let merged: Vec<(Uuid, Uuid)> = contact_redirect::Entity::find()
            .select_only()
            .column(contact_redirect::Column::ContactId)
            .column(contact_redirect::Column::OldId)
            .filter(contact_redirect::Column::ContactId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        for (into, old) in merged {
            identities.entry(into).or_default().push(old);
        }
    }
    Ok(identities)
}

/// The dismissals that bear on some contacts: by the ids dismissed, and by
/// the ids merged into each contact since (a dismissal outlives merges).
struct Dismissed {
    /// Each contact's own id and the ids merged into it.
    identities: HashMap<Uuid, Vec<Uuid>>,
    pairs: HashSet<(Uuid, Uuid)>,
}

impl Dismissed {
    async fn load<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> AppResult<Self> {
        let identities = identities(conn, ids).await?;
        let every: Vec<Uuid> = identities.values().flatten().copied().collect();
        let mut pairs = HashSet::new();
        for chunk in every.chunks(IDS_PER_STATEMENT) {
            let rows: Vec<(Uuid, Uuid)> = duplicate_dismissal::Entity::find()
                .select_only()
                .column(duplicate_dismissal::Column::LowId)
                .column(duplicate_dismissal::Column::HighId)
                .filter(
                    Condition::any()
                        .add(duplicate_dismissal::Column::LowId.is_in(chunk.iter().copied()))
                        .add(duplicate_dismissal::Column::HighId.is_in(chunk.iter().copied())),
                )
                .into_tuple()
                .all(conn)
                .await?;
            pairs.extend(rows);
        }
        Ok(Self { identities, pairs })
    }

    fn covers(&self, a: Uuid, b: Uuid) -> bool {
        if self.pairs.is_empty() {
            return false;
        }
        let none = Vec::new();
        let ids_a = self.identities.get(&a).unwrap_or(&none);
        let ids_b = self.identities.get(&b).unwrap_or(&none);
        ids_a
            .iter()
            .any(|&x| ids_b.iter().any(|&y| self.pairs.contains(&ordered(x, y))))
    }
}

/// A pair as stored: the lower id first.
pub fn ordered(a: Uuid, b: Uuid) -> (Uuid, Uuid) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// A stored candidate, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub low_id: Uuid,
    pub high_id: Uuid,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

impl Candidate {
    fn of(row: duplicate_pair::Model) -> Self {
        Self {
            low_id: row.low_id,
            high_id: row.high_id,
            score: row.score,
            reasons: row
                .reasons
                .split(',')
                .filter_map(Reason::from_name)
                .collect(),
        }
    }

    /// Where a page that ends on this candidate resumes.
    pub fn place(&self) -> Place {
        Place {
            score: self.score,
            low_id: self.low_id,
            high_id: self.high_id,
        }
    }
}

/// A place in the candidates' order, (score desc, low id, high id): what a
/// cursor names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub score: f64,
    pub low_id: Uuid,
    pub high_id: Uuid,
}

impl Place {
    const PREFIX: &'static str = "dup:";

    /// The opaque cursor naming this place (the score by its exact bits,
    /// so that no rounding moves a page's seam).
    pub fn cursor(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "{}{:016x}:{}:{}",
            Self::PREFIX,
            self.score.to_bits(),
            self.low_id,
            self.high_id
        ))
    }

    /// Reads a cursor given as `field`; BAD_USER_INPUT naming it otherwise.
    pub fn parse(field: &str, cursor: &str) -> AppResult<Place> {
        use base64::Engine as _;
        let bad = || {
            crate::error::AppError::bad_input(
                field,
                format!("{field}: not a duplicateCandidates cursor (take an edge's cursor)"),
            )
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.strip_prefix(Self::PREFIX).ok_or_else(bad)?.split(':');
        let (Some(bits), Some(low), Some(high), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let score = u64::from_str_radix(bits, 16)
            .map(f64::from_bits)
            .ok()
            .filter(|s| (0.0..=1.0).contains(s))
            .ok_or_else(bad)?;
        Ok(Place {
            score,
            low_id: low.parse().map_err(|_| bad())?,
            high_id: high.parse().map_err(|_| bad())?,
        })
    }
}

/// What a page of candidates asks for.
#[derive(Debug, Clone, Copy)]
pub struct CandidateQuery {
    pub min_score: f64,
    /// Only this contact's candidates.
    pub contact_id: Option<Uuid>,
    pub after: Option<Place>,
    pub limit: u64,
}

/// Up to `limit` candidates after `after`, brought up to date with every
/// write committed before the call.
pub async fn page(db: &DatabaseConnection, query: CandidateQuery) -> AppResult<Vec<Candidate>> {
    catch_up_for_read(db).await?;
    let mut select = duplicate_pair::Entity::find()
        .filter(duplicate_pair::Column::Score.gte(query.min_score))
        .order_by_desc(duplicate_pair::Column::Score)
        .order_by_asc(duplicate_pair::Column::LowId)
        .order_by_asc(duplicate_pair::Column::HighId)
        .limit(query.limit);
    if let Some(id) = query.contact_id {
        select = select.filter(
            Condition::any()
                .add(duplicate_pair::Column::LowId.eq(id))
                .add(duplicate_pair::Column::HighId.eq(id)),
        );
    }
    if let Some(after) = query.after {
        select = select.filter(
            Condition::any()
                .add(duplicate_pair::Column::Score.lt(after.score))
                .add(
                    Condition::all()
                        .add(duplicate_pair::Column::Score.eq(after.score))
                        .add(
                            Condition::any()
                                .add(duplicate_pair::Column::LowId.gt(after.low_id))
                                .add(
                                    Condition::all()
                                        .add(duplicate_pair::Column::LowId.eq(after.low_id))
                                        .add(duplicate_pair::Column::HighId.gt(after.high_id)),
                                ),
                        ),
                ),
        );
    }
    Ok(select
        .all(db)
        .await?
        .into_iter()
        .map(Candidate::of)
        .collect())
}

//! The change log: every committed change to a contact, recorded in the
//! transaction of the change itself (`contact_changes`, see
//! entity::contact_change for the ordering rule), and read back as a feed
//! (`contactChanges`), as one contact's history, and by subscriptions.
//!
//! Write steps record what they changed with [`record`]; the one write path
//! (tx.rs) collects the records of each run and inserts them before it
//! commits. Who wrote (the actor) and through what (the source) come from the
//! [`Origin`] the transport or command line runs the write under.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use entity::contact_change;
use entity::contact_state::{ContactState, FieldChange, LoggedChanges};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, Value,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::now;
use crate::error::{AppError, AppResult};

/// What happened to a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
    Merged,
    Unmerged,
    /// The contact was marked "not the same person" as others
    /// (`duplicateDismissals` names them).
    DuplicateDismissed,
    /// Such a mark was taken back.
    DuplicateUndismissed,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 7] = [
        Self::Created,
        Self::Updated,
        Self::Deleted,
        Self::Merged,
        Self::Unmerged,
        Self::DuplicateDismissed,
        Self::DuplicateUndismissed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Updated => "UPDATED",
            Self::Deleted => "DELETED",
            Self::Merged => "MERGED",
            Self::Unmerged => "UNMERGED",
            Self::DuplicateDismissed => "DUPLICATE_DISMISSED",
            Self::DuplicateUndismissed => "DUPLICATE_UNDISMISSED",
        }
    }

    fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(Self::Updated)
    }
}

/// Through what a change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSource {
    /// A mutation other than those below.
    Api,
    /// The importContacts mutation.
    Import,
    /// The command line (`contacts-api import`).
    Cli,
    Merge,
    Unmerge,
    /// The baseline the change-log migration wrote for existing contacts.
    Migration,
}

impl ChangeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Import => "import",
            Self::Cli => "cli",
            Self::Merge => "merge",
            Self::Unmerge => "unmerge",
            Self::Migration => "migration",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "import" => Self::Import,
            "cli" => Self::Cli,
            "merge" => Self::Merge,
            "unmerge" => Self::Unmerge,
            "migration" => Self::Migration,
            _ => Self::Api,
        }
    }
}

/// Who is writing and through what: set around a write by its caller.
#[derive(Debug, Clone)]
pub struct Origin {
    /// An API token's name, `visitor`, `cli`, or `open` (no tokens exist).
    pub actor: Arc<str>,
    pub source: ChangeSource,
    /// The import job writing, if any (its entries are what undo reads).
    pub job: Option<Uuid>,
}

impl Origin {
    pub fn new(actor: impl Into<Arc<str>>, source: ChangeSource) -> Self {
        Self {
            actor: actor.into(),
            source,
            job: None,
        }
    }

    /// The same origin, writing for an import job.
    pub fn for_job(mut self, job: Uuid) -> Self {
        self.job = Some(job);
        self
    }

    /// The command line's writes.
    pub fn cli() -> Self {
        Self::new("cli", ChangeSource::Cli)
    }
}

tokio::task_local! {
    static ORIGIN: Origin;
    static PENDING: RefCell<Pending>;
}

/// Runs `work` with its writes recorded as made by `origin`.
pub async fn with_origin<F: Future>(origin: Origin, work: F) -> F::Output {
    ORIGIN.scope(origin, work).await
}

/// Runs `work` as an import: its writes' source is `import`, unless they
/// come from the command line (`cli`).
pub async fn as_import<F: Future>(work: F) -> F::Output {
    let mut origin = current_origin();
    if origin.source == ChangeSource::Api {
        origin.source = ChangeSource::Import;
    }
    ORIGIN.scope(origin, work).await
}

/// Who the running write is made by (`system` outside any origin).
pub(crate) fn current_actor() -> Arc<str> {
    current_origin().actor
}

/// The origin writes are made under; a write outside any (a test calling
/// the service directly) is the `system`'s.
pub(crate) fn current_origin() -> Origin {
    ORIGIN
        .try_with(Clone::clone)
        .unwrap_or_else(|_| Origin::new("system", ChangeSource::Api))
}

/// One change to one contact, as a write step records it.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: ChangeKind,
    pub contact_id: Uuid,
    pub merged_into_id: Option<Uuid>,
    /// For a merge's or unmerge's destination: the other contact.
    pub counterpart_id: Option<Uuid>,
    /// Set by merges and unmerges; otherwise the origin's.
    pub source: Option<ChangeSource>,
    pub changes: LoggedChanges,
}

impl Change {
    pub fn new(kind: ChangeKind, contact_id: Uuid, changes: Vec<FieldChange>) -> Self {
        Self {
            kind,
            contact_id,
            merged_into_id: None,
            counterpart_id: None,
            source: None,
            changes: LoggedChanges::List(changes),
        }
    }

    /// A contact that now holds `state` and held nothing before (CREATED,
    /// UNMERGED): its changes are those from the empty state, written
    /// straight from the state.
    pub fn whole(kind: ChangeKind, contact_id: Uuid, state: ContactState) -> Self {
        Self {
            changes: LoggedChanges::State(Box::new(state)),
            ..Self::new(kind, contact_id, Vec::new())
        }
    }

    pub fn from_source(mut self, source: ChangeSource) -> Self {
        self.source = Some(source);
        self
    }

    /// The other contact of a merge or unmerge, whose values it holds.
    pub fn with_counterpart(mut self, other: Uuid) -> Self {
        self.counterpart_id = Some(other);
        self
    }
}

/// Records a change made by the running write, to be logged with it. An
/// UPDATED change of a contact this write already changed joins that entry
/// (a conversation linked to the contact the same call created: one
/// CREATED entry), so that one write makes one entry per contact. (An
/// UPDATED change may name no value: the destination of a merge gained a
/// merge record even when it took no field.)
pub(crate) fn record(change: Change) {
    let recorded = PENDING.try_with(|pending| pending.borrow_mut().add(change));
    // Only a write step outside the write path could get here: a bug that
    // a test catches, not something to stop a write for.
    debug_assert!(recorded.is_ok(), "a change recorded outside tx::write");
    if recorded.is_err() {
        tracing::error!("a change was recorded outside the write path; not logged");
    }
}

/// What a write's run recorded and has not yet logged, and the last
/// position it logged already.
#[derive(Debug, Default)]
pub(super) struct Pending {
    changes: Vec<Change>,
    /// Index in `changes` of each contact's entry that later UPDATED
    /// changes of the same write join.
    open: HashMap<Uuid, usize>,
    last: Option<Position>,
}

impl Pending {
    fn add(&mut self, change: Change) {
        if change.kind == ChangeKind::Updated {
            if let Some(entry) = self
                .open
                .get(&change.contact_id)
                .and_then(|i| self.changes.get_mut(*i))
            {
                if entry.source == change.source {
                    entry.changes.extend(change.changes);
                    return;
                }
            }
        }
        match change.kind {
            ChangeKind::Created | ChangeKind::Updated | ChangeKind::Unmerged => {
                self.open.insert(change.contact_id, self.changes.len());
            }
            ChangeKind::Deleted | ChangeKind::Merged => {
                self.open.remove(&change.contact_id);
            }
            // Not a change of the contact's own values: later updates of
            // the same write do not join it.
            ChangeKind::DuplicateDismissed | ChangeKind::DuplicateUndismissed => {}
        }
        self.changes.push(change);
    }

    /// What is left to log; later changes start new entries.
    fn take_changes(&mut self) -> Vec<Change> {
        self.open.clear();
        std::mem::take(&mut self.changes)
    }
}

/// Runs one attempt of a write's work collecting what it records; returns
/// its value and what is left to log.
pub(super) async fn collecting<F, T>(work: F) -> (T, Pending)
where
    F: Future<Output = T>,
{
    PENDING
        .scope(RefCell::new(Pending::default()), async {
            let value = work.await;
            (value, PENDING.with(|p| p.take()))
        })
        .await
}

/// Logs what the running write recorded so far, in its transaction: a long
/// write (the command line's atomic import) keeps its memory flat.
pub(crate) async fn flush<C: ConnectionTrait>(conn: &C) -> AppResult<()> {
    let Ok(changes) = PENDING.try_with(|p| p.borrow_mut().take_changes()) else {
        return Ok(());
    };
    let last = append(conn, changes).await?;
    let _ = PENDING.try_with(|p| {
        let mut p = p.borrow_mut();
        p.last = p.last.max(last);
    });
    Ok(())
}

/// Logs what is left of a run's records; returns the last position the run
/// logged.
pub(super) async fn log_rest<C: ConnectionTrait>(
    conn: &C,
    pending: Pending,
) -> AppResult<Option<Position>> {
    let last = append(conn, pending.changes).await?;
    Ok(pending.last.max(last))
}

/// A place in the log: entries are read in `seq` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub seq: i64,
}

impl Position {
    /// Before every entry.
    pub const START: Position = Position { seq: 0 };

    const PREFIX: &'static str = "log:";

    /// The opaque cursor naming this position (`contactChanges` edges,
    /// `history` edges and subscription events share it).
    pub fn cursor(self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "{}{}",
            Self::PREFIX,
            self.seq
        ))
    }

    /// Reads a cursor given as `field`; BAD_USER_INPUT naming it otherwise.
    pub fn parse(field: &str, cursor: &str) -> AppResult<Position> {
        let bad = || {
            AppError::bad_input(
                field,
                format!("{field}: not a change-log cursor (take one from contactChanges, history or a contactEvents event)"),
            )
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let seq: i64 = text
            .strip_prefix(Self::PREFIX)
            .and_then(|seq| seq.parse().ok())
            .ok_or_else(bad)?;
        if seq < 1 {
            return Err(bad());
        }
        Ok(Position { seq })
    }
}

/// A logged change, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub position: Position,
    pub at: DateTime<Utc>,
    pub kind: ChangeKind,
    pub contact_id: Uuid,
    pub merged_into_id: Option<Uuid>,
    pub actor: String,
    pub source: ChangeSource,
    pub changes: Vec<FieldChange>,
}

impl Entry {
    fn of(model: contact_change::Model) -> Self {
        Self {
            position: Position {
                seq: model.position,
            },
            at: model.at,
            kind: ChangeKind::parse(&model.kind),
            contact_id: model.contact_id,
            merged_into_id: model.merged_into_id,
            actor: model.actor,
            source: ChangeSource::parse(&model.source),
            // Entries are written by this code: a shape it cannot read is
            // shown without its changes rather than failing the page.
            changes: serde_json::from_value(model.changes).unwrap_or_default(),
        }
    }

    /// Whether a reader filtering by `filter` wants it.
    pub fn matches(&self, filter: &ChangeFilter) -> bool {
        filter.kinds.as_ref().is_none_or(|k| k.contains(&self.kind))
            && filter.contact_ids.as_ref().is_none_or(|ids| {
                ids.contains(&self.contact_id)
                    || self.merged_into_id.is_some_and(|m| ids.contains(&m))
            })
    }
}

/// Which entries a reader wants; None: all.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    /// The contact itself, or the destination of a MERGED entry.
    pub contact_ids: Option<Vec<Uuid>>,
    pub kinds: Option<Vec<ChangeKind>>,
}

/// Inserts a write's changes in its transaction; returns the position of
/// the last (what readers must reach to have seen them all). It comes last
/// in a write, once every contact it changes is locked: two writes of one
/// contact get positions in the order they were applied.
async fn append<C: ConnectionTrait>(conn: &C, changes: Vec<Change>) -> AppResult<Option<Position>> {
    if changes.is_empty() {
        return Ok(None);
    }
    let origin = current_origin();
    let backend = conn.get_database_backend();
    let at = now();
    let mut last = None;
    for chunk in changes.chunks(rows_per_insert(backend)) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * COLUMNS.len());
        for change in chunk {
            // Text, cast to json on PostgreSQL: no JSON tree built twice.
            let json = change
                .changes
                .to_json()
                .map_err(|e| AppError::Internal(e.into()))?;
            values.extend([
                at.into(),
                change.kind.as_str().into(),
                change.contact_id.into(),
                change.merged_into_id.into(),
                change.counterpart_id.into(),
                origin.actor.to_string().into(),
                change.source.unwrap_or(origin.source).as_str().into(),
                json.into(),
                origin.job.into(),
            ]);
        }
        let sql = insert_sql(backend, chunk.len());
        let rows = conn
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        for row in rows {
            let seq: i64 = row.try_get("", "position")?;
            last = std::cmp::max(last, Some(Position { seq }));
        }
    }
    Ok(last)
}

/// Entries per INSERT: on SQLite fewer than its parameter limit allows,
/// since binding there costs the square of a statement's parameters.
fn rows_per_insert(backend: DatabaseBackend) -> usize {
    match backend {
        DatabaseBackend::Postgres => super::chunk_len(backend, COLUMNS.len()),
        _ => 50,
    }
}

/// The columns an entry is inserted with (`position` is the database's).
const COLUMNS: [&str; 9] = [
    "at",
    "kind",
    "contact_id",
    "merged_into_id",
    "counterpart_id",
    "actor",
    "source",
    "changes",
    "job_id",
];

/// The advisory-lock key that announces position 0 in this schema, in SQL:
/// bit 62 set (out of the way of the small keys other tools use), 16 bits
/// of the schema's hash (deployments in two schemas of one database do not
/// hold each other's readers back; a collision only delays), 46 bits of
/// position (70 trillion entries).
const LOCK_BASE: &str =
    "((1::bigint << 62) | ((hashtext(current_schema()) & 65535)::bigint << 46))";

/// `INSERT ... RETURNING position` of `rows` entries. On PostgreSQL the
/// statement first takes a shared advisory lock, until the commit, keyed by
/// the sequence's last position: every position it then takes is above that
/// key, and readers see no position above the lowest key held (see
/// horizon_sql), so an entry committing later never lands behind a cursor.
fn insert_sql(backend: DatabaseBackend, rows: usize) -> String {
    let mut n = 0;
    let mut param = || {
        n += 1;
        match backend {
            DatabaseBackend::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        }
    };
    let tuples: Vec<String> = (0..rows)
        .map(|_| {
            let cells: Vec<String> = COLUMNS
                .iter()
                .map(|column| match (backend, *column) {
                    (DatabaseBackend::Postgres, "changes") => format!("{}::json", param()),
                    _ => param(),
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let columns = COLUMNS.join(", ");
    match backend {
        DatabaseBackend::Postgres => format!(
            "INSERT INTO contact_changes ({columns}) \
             SELECT v.* FROM (VALUES {}) AS v({columns}) \
             CROSS JOIN (SELECT pg_advisory_xact_lock_shared({LOCK_BASE} + {LAST_TAKEN}) \
                         FROM contact_changes_position_seq) AS announced \
             RETURNING position",
            tuples.join(", ")
        ),
        _ => format!(
            "INSERT INTO contact_changes ({columns}) VALUES {} RETURNING position",
            tuples.join(", ")
        ),
    }
}

/// The last position the sequence handed out (0 before the first), read
/// from `contact_changes_position_seq`.
const LAST_TAKEN: &str = "CASE WHEN is_called THEN last_value ELSE 0 END";

/// The highest position below which (inclusive) every entry is committed
/// or rolled back, on PostgreSQL; readers read it in a statement of its own,
/// *before* the statement that reads entries (whose snapshot then holds
/// every commit up to it):
/// - first the sequence's last position `L`: a write that starts later takes
///   positions above it;
/// - then (after: the subquery depends on `L`) the announcing locks: a write
///   that took a position up to `L` announced a key below that position
///   before taking it, so while it runs the bound stays under it.
///
/// A key is this schema's when its bits above the 46 of position are the
/// base's (compared shifted: `LOCK_BASE + 2^46` overflows a bigint for a
/// schema whose 16 hash bits are all set).
fn horizon_sql() -> String {
    format!(
        "SELECT LEAST(s.taken, ( \
           SELECT min((l.classid::bigint << 32) | l.objid::bigint) - {LOCK_BASE} \
           FROM pg_locks l \
           WHERE s.taken IS NOT NULL AND l.locktype = 'advisory' AND l.objsubid = 1 \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND (((l.classid::bigint << 32) | l.objid::bigint) >> 46) = ({LOCK_BASE} >> 46) \
         )) AS horizon \
         FROM (SELECT {LAST_TAKEN} AS taken FROM contact_changes_position_seq) AS s"
    )
}

/// Which entries a reader may see now: on PostgreSQL those up to the
/// horizon (see horizon_sql); on SQLite every committed one (writers take
/// turns, so position order is commit order).
async fn settled<C: ConnectionTrait>(conn: &C) -> AppResult<Condition> {
    let backend = conn.get_database_backend();
    if backend != DatabaseBackend::Postgres {
        return Ok(Condition::all());
    }
    let row = conn
        .query_one_raw(Statement::from_string(backend, horizon_sql()))
        .await?;
    let horizon: i64 = match row {
        Some(row) => row.try_get("", "horizon")?,
        None => 0,
    };
    Ok(Condition::all().add(contact_change::Column::Position.lte(horizon)))
}

fn after_position(after: Position) -> SimpleExpr {
    contact_change::Column::Position.gt(after.seq)
}

fn filtered(filter: &ChangeFilter) -> Condition {
    let mut condition = Condition::all();
    if let Some(ids) = &filter.contact_ids {
        condition = condition.add(
            Condition::any()
                .add(contact_change::Column::ContactId.is_in(ids.iter().copied()))
                .add(contact_change::Column::MergedIntoId.is_in(ids.iter().copied())),
        );
    }
    if let Some(kinds) = &filter.kinds {
        condition =
            condition.add(contact_change::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())));
    }
    condition
}

/// What one read returns: entries in log order, and whether it stopped
/// early because they reached PAGE_BYTES (more may follow even when fewer
/// than asked came back).
#[derive(Debug, Default)]
pub struct Batch {
    pub entries: Vec<Entry>,
    pub cut: bool,
}

/// Bytes of values (roughly) one read returns at most; always at least one
/// entry, whatever its size. A contact with thousands of long values makes
/// entries of megabytes: a page of a thousand of them must not be read
/// into memory at once.
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Rows fetched per statement while filling a read.
const FETCH_ROWS: u64 = 50;

/// Up to `limit` entries after `after` that `filter` wants, in log order,
/// within PAGE_BYTES.
pub async fn read<C: ConnectionTrait>(
    conn: &C,
    after: Position,
    limit: u64,
    filter: &ChangeFilter,
) -> AppResult<Batch> {
    read_where(conn, after, limit, filtered(filter)).await
}

/// Up to `limit` entries after `after` matching `condition`, fetched
/// FETCH_ROWS at a time until `limit` or PAGE_BYTES is reached.
async fn read_where<C: ConnectionTrait>(
    conn: &C,
    after: Position,
    limit: u64,
    condition: Condition,
) -> AppResult<Batch> {
    let settled = settled(conn).await?;
    let mut batch = Batch::default();
    let mut bytes = 0;
    let mut from = after;
    while (batch.entries.len() as u64) < limit {
        let want = (limit - batch.entries.len() as u64).min(FETCH_ROWS);
        let rows = contact_change::Entity::find()
            .filter(settled.clone())
            .filter(after_position(from))
            .filter(condition.clone())
            .order_by_asc(contact_change::Column::Position)
            .limit(want)
            .all(conn)
            .await?;
        let got = rows.len() as u64;
        for row in rows {
            bytes += json_bytes(&row.changes);
            from = Position { seq: row.position };
            batch.entries.push(Entry::of(row));
            if bytes >= PAGE_BYTES {
                batch.cut = true;
                return Ok(batch);
            }
        }
        if got < want {
            break;
        }
    }
    Ok(batch)
}

/// About how many bytes a JSON value takes (its texts and a few per item).
fn json_bytes(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::String(s) => s.len() + 2,
        serde_json::Value::Array(items) => items.iter().map(json_bytes).sum::<usize>() + 2,
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| k.len() + 3 + json_bytes(v))
            .sum::<usize>()
            .saturating_add(2),
        _ => 8,
    }
}

/// The contacts the next `limit` entries after `after` name (each entry's
/// contact, the destination of a merge, the other side of an unmerge), and
/// the last of those entries' positions (None: nothing new).
pub async fn contacts_named_after<C: ConnectionTrait>(
    conn: &C,
    after: Position,
    limit: u64,
) -> AppResult<(BTreeSet<Uuid>, Option<Position>)> {
    let rows: Vec<(i64, Uuid, Option<Uuid>, Option<Uuid>)> = contact_change::Entity::find()
        .select_only()
        .column(contact_change::Column::Position)
        .column(contact_change::Column::ContactId)
        .column(contact_change::Column::MergedIntoId)
        .column(contact_change::Column::CounterpartId)
        .filter(settled(conn).await?)
        .filter(after_position(after))
        .order_by_asc(contact_change::Column::Position)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    let last = rows.last().map(|row| Position { seq: row.0 });
    let named = rows
        .into_iter()
        .flat_map(|(_, contact, merged_into, counterpart)| {
            std::iter::once(contact)
                .chain(merged_into)
                .chain(counterpart)
        })
        .collect();
    Ok((named, last))
}

/// The last entry readers may see now (START when the log is empty).
pub async fn head<C: ConnectionTrait>(conn: &C) -> AppResult<Position> {
    let last: Option<i64> = contact_change::Entity::find()
        .select_only()
        .column(contact_change::Column::Position)
        .filter(settled(conn).await?)
        .order_by_desc(contact_change::Column::Position)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(last.map_or(Position::START, |seq| Position { seq }))
}

/// Where a reader given `cursor` as `field` resumes: after the position it
/// names (BAD_USER_INPUT if it names none, CURSOR_EXPIRED once retention
/// purged it), or None without one. The one reading of `after` for
/// contactChanges, history and contactEvents.
pub async fn resume_after<C: ConnectionTrait>(
    conn: &C,
    field: &str,
    cursor: Option<&str>,
) -> AppResult<Option<Position>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let after = Position::parse(field, cursor)?;
    ensure_held(conn, field, after).await?;
    Ok(Some(after))
}

/// Checks that the log still holds the entry `after` names, as `field`:
/// CURSOR_EXPIRED once retention purged it.
async fn ensure_held<C: ConnectionTrait>(conn: &C, field: &str, after: Position) -> AppResult<()> {
    let held = contact_change::Entity::find()
        .select_only()
        .column(contact_change::Column::Position)
        .filter(contact_change::Column::Position.eq(after.seq))
        .into_tuple::<i64>()
        .one(conn)
        .await?;
    match held {
        Some(_) => Ok(()),
        None => Err(AppError::CursorExpired {
            field: field.to_owned(),
            message: format!(
                "{field}: the change log no longer holds this position (entries are kept \
                 --change-retention-days); read the contacts again, then sync from a new cursor"
            ),
        }),
    }
}

/// The ids whose entries make up `id`'s history: itself and the contacts
/// merged into it (their redirects point at it).
pub async fn history_ids<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<Vec<Uuid>> {
    let mut ids: Vec<Uuid> = entity::contact_redirect::Entity::find()
        .select_only()
        .column(entity::contact_redirect::Column::OldId)
        .filter(entity::contact_redirect::Column::ContactId.eq(id))
        .into_tuple()
        .all(conn)
        .await?;
    ids.insert(0, id);
    Ok(ids)
}

/// Entries of `ids` only (no MERGED destinations): a contact's history,
/// within PAGE_BYTES.
pub async fn read_history<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
    after: Position,
    limit: u64,
) -> AppResult<Batch> {
    let of_ids = Condition::all().add(contact_change::Column::ContactId.is_in(ids.iter().copied()));
    read_where(conn, after, limit, of_ids).await
}

/// Deletes the oldest entries written before `before`, at most `batch` of
/// them, stopping at the first one written later; returns how many went.
/// Retention calls it until it returns less than `batch`.
pub async fn purge_older_than<C: ConnectionTrait>(
    conn: &C,
    before: DateTime<Utc>,
    batch: u64,
) -> AppResult<u64> {
    // The oldest by position (the primary key: no index on `at` for every
    // write to keep up), up to the first one young enough to stay.
    let oldest: Vec<(i64, DateTime<Utc>)> = contact_change::Entity::find()
        .select_only()
        .column(contact_change::Column::Position)
        .column(contact_change::Column::At)
        .order_by_asc(contact_change::Column::Position)
        .limit(batch)
        .into_tuple()
        .all(conn)
        .await?;
    let doomed: Vec<i64> = oldest
        .iter()
        .take_while(|(_, at)| *at < before)
        .map(|(position, _)| *position)
        .collect();
    if doomed.is_empty() {
        return Ok(0);
    }
    // First: an index step between the two statements would otherwise
    // read past the purged entries as if they had never been.
    let last = doomed.last().copied().unwrap_or_default();
    super::duplicates::log_purged_through(conn, Position { seq: last }).await?;
    let gone = contact_change::Entity::delete_many()
        .filter(contact_change::Column::Position.is_in(doomed))
        .exec(conn)
        .await?;
    Ok(gone.rows_affected)
}

/// Replaces the values of `ids`' entries, and of the merge and unmerge
/// entries of other contacts that hold their values, with nothing
/// (erasure): ids, kinds, times and actors stay.
pub(super) async fn scrub<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> Result<u64, DbErr> {
    let mut scrubbed = 0;
    for chunk in ids.chunks(500) {
        let done = contact_change::Entity::update_many()
            .col_expr(
                contact_change::Column::Changes,
                Expr::value(serde_json::Value::Array(Vec::new())),
            )
            .filter(
                Condition::any()
                    .add(contact_change::Column::ContactId.is_in(chunk.iter().copied()))
                    .add(contact_change::Column::CounterpartId.is_in(chunk.iter().copied())),
            )
            .exec(conn)
            .await?;
        scrubbed += done.rows_affected;
    }
    Ok(scrubbed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let p = Position { seq: 812 };
        assert_eq!(Position::parse("after", &p.cursor()).ok(), Some(p));
        // "", "abc", "log:0", "log:-1", "log:x", "log:1:2"
        for bad in ["", "abc", "bG9nOjA", "bG9nOi0x", "bG9nOng", "bG9nOjE6Mg"] {
            let e = Position::parse("after", bad).err();
            assert!(matches!(e, Some(AppError::BadUserInput { .. })), "{bad}");
        }
    }

    #[test]
    fn kinds_and_sources_read_back() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(kind.as_str()), kind);
        }
        for source in [
            ChangeSource::Api,
            ChangeSource::Import,
            ChangeSource::Cli,
            ChangeSource::Merge,
            ChangeSource::Unmerge,
            ChangeSource::Migration,
        ] {
            assert_eq!(ChangeSource::parse(source.as_str()), source);
        }
    }
}

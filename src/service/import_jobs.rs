//! Import jobs: a file (an upload, spooled to a temporary file by the
//! transport) imported in the background, batch by batch, by the same code
//! as the command line's `import` (import_file). The job's row in
//! `import_jobs` is its progress: counters and a heartbeat written after
//! each batch and every few seconds, and the rows that failed (with their
//! lines) in `import_job_failures`, moved out of memory as they come.
//!
//! A job stops at the file's end (SUCCEEDED, whatever rows failed), when
//! the file cannot be read on or the database fails (FAILED, with why), or
//! when its server shuts down (FAILED at once). A server that dies leaves
//! its job RUNNING with a heartbeat that stops: any server marks such a job
//! FAILED once the heartbeat is older than [`STALE_AFTER`], its counts
//! recomputed from the change log, so that what it wrote is told exactly.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use entity::{contact_change, import_job, import_job_failure};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::changes::{self, ChangeKind, Origin};
use super::events::EventBus;
use super::import::OnConflictMode;
use super::import_file::{self, ImportOptions, Progress, Rejected, Summary};
use super::now;
use crate::domain::Rules;
use crate::error::{AppError, AppResult};
use crate::formats::{Detected, FileFormat, Mapping};

/// How often a running job writes its heartbeat (and counters), at least.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A RUNNING job whose heartbeat is older than this has lost its server.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
/// Rows per batch (one multi-row write each), as the command line's default.
const BATCH_ROWS: usize = 1000;
/// Jobs one server runs at once; later ones wait (RUNNING, nothing read).
/// Each holds a connection while a batch writes: more would only queue
/// requests behind them.
const RUNNING_AT_ONCE: usize = 2;

/// A job's status, as stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Running,
    Succeeded,
    Failed,
    Undone,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Undone => "UNDONE",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "RUNNING" => Self::Running,
            "SUCCEEDED" => Self::Succeeded,
            "UNDONE" => Self::Undone,
            _ => Self::Failed,
        }
    }
}

/// What to import and how.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub format: FileFormat,
    pub on_conflict: OnConflictMode,
    pub dry_run: bool,
    pub mapping: Mapping,
    pub delimiter: Option<u8>,
    pub file_name: Option<String>,
    pub bytes_total: Option<u64>,
}

/// Starts and runs jobs; one per server.
#[derive(Clone)]
pub struct Jobs {
    db: DatabaseConnection,
    events: EventBus,
    rules: Arc<Rules>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Jobs {
    pub fn new(
        db: DatabaseConnection,
        events: EventBus,
        rules: Arc<Rules>,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        Self {
            db,
            events,
            rules,
            shutdown,
            tasks,
            slots: Arc::new(tokio::sync::Semaphore::new(RUNNING_AT_ONCE)),
        }
    }

    /// Records the job and starts it in the background; returns it RUNNING.
    pub async fn start(
        &self,
        spec: JobSpec,
        file: File,
        origin: Origin,
    ) -> AppResult<import_job::Model> {
        let at = now();
        let job = import_job::Model {
            id: Uuid::now_v7(),
            status: JobStatus::Running.as_str().to_owned(),
            format: format_name(spec.format).to_owned(),
            layout: None,
            on_conflict: conflict_name(spec.on_conflict).to_owned(),
            dry_run: spec.dry_run,
            file_name: spec.file_name.clone(),
            bytes_total: spec.bytes_total.and_then(|b| i64::try_from(b).ok()),
            bytes_read: 0,
            rows_read: 0,
            created: 0,
            updated: 0,
            skipped: 0,
            failed: 0,
            error: None,
            actor: origin.actor.to_string(),
            started_at: at,
            heartbeat_at: at,
            finished_at: None,
        };
        let job = job.into_active_model().insert(&self.db).await?;
        let runner = self.clone();
        let id = job.id;
        self.tasks.spawn(async move {
            runner.run(id, spec, file, origin).await;
        });
        Ok(job)
    }

    /// Runs a job to its end and records how it ended.
    async fn run(&self, id: Uuid, spec: JobSpec, file: File, origin: Origin) {
        let progress = Arc::new(JobProgress::default());
        // Waiting for a slot, the job keeps its heartbeat (below).
        let waiting = tokio::spawn(write_progress(self.db.clone(), id, progress.clone()));
        let slot = tokio::select! {
            slot = self.slots.clone().acquire_owned() => slot.ok(),
            () = self.shutdown.cancelled() => None,
        };
        progress.stop();
        let _ = waiting.await;
        let Some(_slot) = slot else {
            let ended = Err("interrupted: the server shut down before the job started".to_owned());
            if let Err(e) = finish(&self.db, id, &progress, 0, false, ended).await {
                tracing::error!(job = %id, error = %e, "an import job's end was not recorded");
            }
            return;
        };
        let progress = Arc::new(JobProgress::default());
        let writer = tokio::spawn(write_progress(self.db.clone(), id, progress.clone()));
        let opts = ImportOptions {
            file: PathBuf::from(spec.file_name.clone().unwrap_or_else(|| "upload".into())),
            format: spec.format,
            on_conflict: spec.on_conflict,
            atomic: false,
            dry_run: spec.dry_run,
            batch_size: BATCH_ROWS,
            delimiter: spec.delimiter,
            mapping: spec.mapping.clone(),
        };
        let import = changes::with_origin(
            origin.for_job(id),
            import_file::run_reader(&self.db, &self.rules, &self.events, &opts, file, &*progress),
        );
        let ended = tokio::select! {
            summary = import => summary.map_err(|e| client_text(&e)),
            () = self.shutdown.cancelled() => Err(
                "interrupted: the server shut down; the contacts counted as created and \
                 updated were written, the rows after them were not".to_owned()
            ),
        };
        progress.stop();
        let written = writer.await.unwrap_or(0);
        if let Err(e) = finish(&self.db, id, &progress, written, spec.dry_run, ended).await {
            tracing::error!(job = %id, error = %e, "an import job's end was not recorded");
        }
    }

    /// Marks jobs whose server stopped as FAILED, every few seconds, while
    /// the server runs (the first sweep an interval after start: a job its
    /// restart interrupted is not stale before then anyway).
    pub fn spawn_sweeper(&self) {
        let (db, shutdown) = (self.db.clone(), self.shutdown.clone());
        self.tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(HEARTBEAT * 2) => {}
                    () = shutdown.cancelled() => return,
                }
                if let Err(e) = mark_stale(&db, None).await {
                    tracing::debug!(error = %e, "could not sweep stale import jobs");
                }
            }
        });
    }
}

/// The text a job's `error` shows: our own message, never the database's.
fn client_text(e: &anyhow::Error) -> String {
    match e.downcast_ref::<AppError>() {
        Some(app) => app.to_string(),
        None => format!("{e:#}"),
    }
}

pub fn format_name(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Json => "JSON",
        FileFormat::Ndjson => "NDJSON",
        FileFormat::Csv => "CSV",
        FileFormat::Vcard => "VCARD",
    }
}

pub fn conflict_name(mode: OnConflictMode) -> &'static str {
    match mode {
        OnConflictMode::Fail => "FAIL",
        OnConflictMode::Skip => "SKIP",
        OnConflictMode::Update => "UPDATE",
        OnConflictMode::FillBlanks => "FILL_BLANKS",
    }
}

/// What the import reported and the database has not been told yet.
#[derive(Default)]
struct JobProgress {
    state: Mutex<Reported>,
    changed: Notify,
    stopped: CancellationToken,
}

#[derive(Default, Clone)]
struct Reported {
    bytes_read: u64,
    rows: u64,
    created: u64,
    updated: u64,
    skipped: u64,
    failed: u64,
    layout: Option<&'static str>,
    /// Failed rows not yet written, in file order.
    failures: Vec<Rejected>,
}

impl JobProgress {
    fn stop(&self) {
        self.stopped.cancel();
        self.changed.notify_one();
    }

    fn take(&self) -> Reported {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let failures = std::mem::take(&mut state.failures);
        Reported {
            failures,
            ..state.clone()
        }
    }
}

impl Progress for JobProgress {
    fn advance(&self, bytes_read: u64, summary: &mut Summary) {
        let mut failed = std::mem::take(&mut summary.failed);
        failed.sort_by_key(|r| r.line);
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.bytes_read = bytes_read;
            state.rows = summary.rows;
            state.created = summary.created;
            state.updated = summary.updated;
            state.skipped = summary.skipped;
            state.failed += failed.len() as u64;
            state.failures.extend(failed);
        }
        self.changed.notify_one();
    }

    fn detected(&self, detected: &Detected) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.layout = detected.layout.map(|l| l.code());
    }
}

/// Writes the job's progress after each batch and at least every
/// HEARTBEAT, until the job stops (the last write is `finish`'s).
/// Returns how many failed rows it wrote.
async fn write_progress(db: DatabaseConnection, id: Uuid, progress: Arc<JobProgress>) -> i64 {
    let mut written = 0i64;
    loop {
        tokio::select! {
            () = progress.changed.notified() => {}
            () = tokio::time::sleep(HEARTBEAT) => {}
        }
        if progress.stopped.is_cancelled() {
            // `finish` writes what is left.
            return written;
        }
        let reported = progress.take();
        match save(&db, id, &reported, written).await {
            Ok(()) => written += reported.failures.len() as i64,
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "an import job's progress was not saved");
                // Put the failures back to be written next time.
                let mut state = progress.state.lock().unwrap_or_else(|p| p.into_inner());
                let later = std::mem::replace(&mut state.failures, reported.failures);
                state.failures.extend(later);
            }
        }
    }
}

/// Counters, heartbeat and new failures, in one transaction.
async fn save(
    db: &DatabaseConnection,
    id: Uuid,
    reported: &Reported,
    first_seq: i64,
) -> AppResult<()> {
    let txn = db.begin().await?;
    save_in(&txn, id, reported, first_seq).await?;
    txn.commit().await?;
    Ok(())
}

async fn save_in<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    reported: &Reported,
    seq_base: i64,
) -> AppResult<()> {
    let rows: Vec<import_job_failure::ActiveModel> = reported
        .failures
        .iter()
        .enumerate()
        .map(|(i, r)| import_job_failure::ActiveModel {
            job_id: Set(id),
            seq: Set(seq_base + i as i64),
            line: Set(r.line as i64),
            code: Set(r.code.clone()),
            field: Set(r.field.clone()),
            message: Set(r.message.clone()),
            reason: Set(r.reason.clone()),
        })
        .collect();
    for chunk in rows.chunks(super::chunk_len(conn.get_database_backend(), 7)) {
        import_job_failure::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    let count = |n: u64| Expr::value(i64::try_from(n).unwrap_or(i64::MAX));
    let mut update = import_job::Entity::update_many()
        .col_expr(import_job::Column::BytesRead, count(reported.bytes_read))
        .col_expr(import_job::Column::RowsRead, count(reported.rows))
        .col_expr(import_job::Column::Created, count(reported.created))
        .col_expr(import_job::Column::Updated, count(reported.updated))
        .col_expr(import_job::Column::Skipped, count(reported.skipped))
        .col_expr(import_job::Column::Failed, count(reported.failed))
        .col_expr(import_job::Column::HeartbeatAt, Expr::value(now()));
    if let Some(layout) = reported.layout {
        update = update.col_expr(import_job::Column::Layout, Expr::value(layout));
    }
    update
        .filter(import_job::Column::Id.eq(id))
        .filter(import_job::Column::Status.eq(JobStatus::Running.as_str()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records the job's end: what is left of its progress, then its status.
async fn finish(
    db: &DatabaseConnection,
    id: Uuid,
    progress: &JobProgress,
    written: i64,
    dry_run: bool,
    ended: Result<Summary, String>,
) -> AppResult<()> {
    let mut reported = progress.take();
    let (status, error) = match ended {
        Ok(_) => (JobStatus::Succeeded, None),
        Err(e) => (JobStatus::Failed, Some(e)),
    };
    if status == JobStatus::Failed && !dry_run {
        // A batch may have committed after the last one counted (the job
        // stopped between its commit and its tally): the log tells.
        reported.created = reported
            .created
            .max(logged(db, id, ChangeKind::Created).await? as u64);
        reported.updated = reported
            .updated
            .max(logged(db, id, ChangeKind::Updated).await? as u64);
        reported.rows = reported
            .rows
            .max(reported.created + reported.updated + reported.skipped + reported.failed);
    }
    let txn = db.begin().await?;
    save_in(&txn, id, &reported, written).await?;
    import_job::Entity::update_many()
        .col_expr(import_job::Column::Status, Expr::value(status.as_str()))
        .col_expr(import_job::Column::Error, Expr::value(error))
        .col_expr(import_job::Column::FinishedAt, Expr::value(now()))
        .filter(import_job::Column::Id.eq(id))
        .filter(import_job::Column::Status.eq(JobStatus::Running.as_str()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Marks RUNNING jobs whose heartbeat is older than STALE_AFTER (all, or
/// the one given) as FAILED. Their created and updated counts are
/// recomputed from the change log (exact even when the server died between
/// a batch's commit and its progress write); a dry run wrote nothing.
pub async fn mark_stale(db: &DatabaseConnection, only: Option<Uuid>) -> AppResult<u64> {
    let cutoff = Utc::now()
        - chrono::Duration::from_std(STALE_AFTER).unwrap_or(chrono::Duration::seconds(30));
    let mut stale = import_job::Entity::find()
        .filter(import_job::Column::Status.eq(JobStatus::Running.as_str()))
        .filter(import_job::Column::HeartbeatAt.lt(cutoff));
    if let Some(id) = only {
        stale = stale.filter(import_job::Column::Id.eq(id));
    }
    let mut marked = 0;
    for job in stale.all(db).await? {
        let (created, updated) = if job.dry_run {
            (0, 0)
        } else {
            (
                logged(db, job.id, ChangeKind::Created).await?,
                logged(db, job.id, ChangeKind::Updated).await?,
            )
        };
        let done = import_job::Entity::update_many()
            .col_expr(
                import_job::Column::Status,
                Expr::value(JobStatus::Failed.as_str()),
            )
            .col_expr(
                import_job::Column::Error,
                Expr::value(
                    "interrupted: the server running the job stopped; the contacts counted \
                     as created and updated were written, the rows after them were not read",
                ),
            )
            .col_expr(import_job::Column::Created, Expr::value(created))
            .col_expr(import_job::Column::Updated, Expr::value(updated))
            .col_expr(
                import_job::Column::RowsRead,
                Expr::value(
                    job.rows_read
                        .max(created + updated + job.skipped + job.failed),
                ),
            )
            // Its last sign of life: when it stopped, as near as is known.
            .col_expr(
                import_job::Column::FinishedAt,
                Expr::value(job.heartbeat_at),
            )
            .filter(import_job::Column::Id.eq(job.id))
            .filter(import_job::Column::Status.eq(JobStatus::Running.as_str()))
            .filter(import_job::Column::HeartbeatAt.lt(cutoff))
            .exec(db)
            .await?;
        marked += done.rows_affected;
    }
    Ok(marked)
}

/// Contacts the job's log entries of one kind name.
async fn logged(db: &DatabaseConnection, job: Uuid, kind: ChangeKind) -> AppResult<i64> {
    let count: Option<i64> = contact_change::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(DISTINCT contact_id)"), "n")
        .filter(contact_change::Column::JobId.eq(job))
        .filter(contact_change::Column::Kind.eq(kind.as_str()))
        .into_tuple()
        .one(db)
        .await?;
    Ok(count.unwrap_or(0))
}

/// A job, after marking it FAILED if its server stopped.
pub async fn get(db: &DatabaseConnection, id: Uuid) -> AppResult<Option<import_job::Model>> {
    mark_stale(db, Some(id)).await?;
    Ok(import_job::Entity::find_by_id(id).one(db).await?)
}

/// A page of a job's failed rows after `after` (a seq), in file order.
pub async fn failures(
    db: &DatabaseConnection,
    id: Uuid,
    after: Option<i64>,
    limit: u64,
) -> AppResult<Vec<import_job_failure::Model>> {
    let mut select = import_job_failure::Entity::find()
        .filter(import_job_failure::Column::JobId.eq(id))
        .order_by_asc(import_job_failure::Column::Seq)
        .limit(limit);
    if let Some(after) = after {
        select = select.filter(import_job_failure::Column::Seq.gt(after));
    }
    Ok(select.all(db).await?)
}

//! Import jobs as the API shows them.

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use base64::Engine as _;
use entity::{import_job, import_job_failure};

use super::{DateTime, PageInfo};
use crate::error::AppError;
use crate::graphql::state::ctx_state;
use crate::graphql::types::list_pages::list_page_size;
use crate::service::import_jobs::{self, JobStatus};
use crate::service::import_undo::{LeftReason, UndoReport};

/// Where an import job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ImportJobStatus {
    /// Reading and writing the file.
    Running,
    /// The file was read to its end (rows that failed are in `failures`).
    Succeeded,
    /// The job stopped before the file's end (`error` says why): what it
    /// counted as created and updated was written, nothing after.
    Failed,
    /// undoImport reverted it.
    Undone,
}

impl From<JobStatus> for ImportJobStatus {
    fn from(s: JobStatus) -> Self {
        match s {
            JobStatus::Running => Self::Running,
            JobStatus::Succeeded => Self::Succeeded,
            JobStatus::Failed => Self::Failed,
            JobStatus::Undone => Self::Undone,
        }
    }
}

/// An import job (the model it shows).
pub struct ImportJob(pub import_job::Model);

/// An import of an uploaded file (importContactsFile), run in the
/// background. Counters are written after each batch of 1,000 rows.
#[Object]
impl ImportJob {
    /// The job's id (a UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Where the job is.
    async fn status(&self) -> ImportJobStatus {
        JobStatus::parse(&self.0.status).into()
    }

    /// The file's format: JSON, NDJSON, CSV or VCARD.
    async fn format(&self) -> &str {
        &self.0.format
    }

    /// The CSV export layout recognised from the header (GOOGLE,
    /// GOOGLE_OLDER, OUTLOOK, HUBSPOT), once read; null otherwise.
    async fn layout(&self) -> Option<&str> {
        self.0.layout.as_deref()
    }

    /// What a row matching an existing contact does (FAIL, SKIP, UPDATE, FILL_BLANKS).
    async fn on_conflict(&self) -> &str {
        &self.0.on_conflict
    }

    /// Whether the job only plans the rows (writes nothing).
    async fn dry_run(&self) -> bool {
        self.0.dry_run
    }

    /// The uploaded file's name, as the client sent it.
    async fn file_name(&self) -> Option<&str> {
        self.0.file_name.as_deref()
    }

    /// The file's size in bytes.
    async fn bytes_total(&self) -> Option<f64> {
        self.0.bytes_total.map(|b| b as f64)
    }

    /// Bytes of the file read so far (a progress bar's position).
    async fn bytes_read(&self) -> f64 {
        self.0.bytes_read as f64
    }

    /// Rows (records, cards) read so far.
    async fn rows_read(&self) -> i64 {
        self.0.rows_read
    }

    /// Rows that created a contact (would create, in a dry run).
    async fn created_count(&self) -> i64 {
        self.0.created
    }

    /// Rows that updated an existing contact.
    async fn updated_count(&self) -> i64 {
        self.0.updated
    }

    /// Rows left out (SKIP).
    async fn skipped_count(&self) -> i64 {
        self.0.skipped
    }

    /// Rows that failed (listed in `failures`).
    async fn failed_count(&self) -> i64 {
        self.0.failed
    }

    /// Why the job stopped before the file's end (status FAILED).
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// Who started it: the token's name, or `open`.
    async fn started_by(&self) -> &str {
        &self.0.actor
    }

    /// When it started.
    async fn started_at(&self) -> DateTime {
        DateTime(self.0.started_at)
    }

    /// When it ended; null while it runs.
    async fn finished_at(&self) -> Option<DateTime> {
        self.0.finished_at.map(DateTime)
    }

    /// The rows that failed, in file order, with their lines (a Relay
    /// connection; `first`: 0 to 1,000, default 100).
    async fn failures(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Rows in the page: 0 to 1,000 (LIMIT_EXCEEDED beyond); default 100.")]
        first: Option<i32>,
        #[graphql(desc = "Start after this cursor (an `endCursor` of this list).")] after: Option<
            String,
        >,
    ) -> async_graphql::Result<ImportFailureConnection> {
        let limit = list_page_size(first)?;
        let after = after.as_deref().map(parse_cursor).transpose()?;
        let state = ctx_state(ctx)?;
        let mut rows = import_jobs::failures(&state.db, self.0.id, after, limit + 1).await?;
        let has_next = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let edges: Vec<ImportFailureEdge> = rows
            .into_iter()
            .map(|r| ImportFailureEdge {
                cursor: cursor_of(r.seq),
                node: ImportFailure::from(r),
            })
            .collect();
        let page_info = PageInfo::forward(edges.iter().map(|e| &e.cursor), has_next);
        Ok(ImportFailureConnection { edges, page_info })
    }
}

const CURSOR_PREFIX: &str = "failure:";

fn cursor_of(seq: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seq}"))
}

fn parse_cursor(cursor: &str) -> Result<i64, AppError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(CURSOR_PREFIX)?.parse().ok())
        .ok_or_else(|| AppError::bad_input("after", "after: not a cursor of this list"))
}

/// A row of an import job that was not imported.
#[derive(SimpleObject)]
pub struct ImportFailure {
    /// The 1-based line of the file the row starts on.
    pub line: i64,
    /// The error code (BAD_USER_INPUT, CONFLICT, ...).
    pub code: String,
    /// The offending field, e.g. row.via.0.handle.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// AMBIGUOUS_MATCH when the row's keys lead to two contacts.
    pub reason: Option<String>,
}

impl From<import_job_failure::Model> for ImportFailure {
    fn from(m: import_job_failure::Model) -> Self {
        Self {
            line: m.line,
            code: m.code,
            field: m.field,
            message: m.message,
            reason: m.reason,
        }
    }
}

/// A page of an import job's failed rows.
#[derive(SimpleObject)]
pub struct ImportFailureConnection {
    /// The rows of the page with their cursors.
    pub edges: Vec<ImportFailureEdge>,
    /// Paging information.
    pub page_info: PageInfo<'static>,
}

/// A failed row and its cursor.
#[derive(SimpleObject)]
pub struct ImportFailureEdge {
    /// Opaque cursor of this edge, for `after`.
    pub cursor: String,
    /// The failed row.
    pub node: ImportFailure,
}

/// Why undoImport left a contact the import wrote as it is.
// The API's names (CHANGED_SINCE, ...) say since when.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum UndoLeftReason {
    /// Someone changed it (or, for a contact the import updated, the named
    /// fields) since the import.
    ChangedSince,
    /// It was merged into another contact since.
    MergedSince,
    /// It was deleted or erased since.
    DeletedSince,
}

impl From<LeftReason> for UndoLeftReason {
    fn from(r: LeftReason) -> Self {
        match r {
            LeftReason::ChangedSince => Self::ChangedSince,
            LeftReason::MergedSince => Self::MergedSince,
            LeftReason::DeletedSince => Self::DeletedSince,
        }
    }
}

/// A contact (or some of its fields) undoImport did not revert.
#[derive(SimpleObject)]
pub struct UndoLeftAlone {
    /// The contact.
    pub contact_id: ID,
    /// Why.
    pub reason: UndoLeftReason,
    /// CHANGED_SINCE: the fields kept as they are (input paths,
    /// `metadata.KEY`); empty when the whole contact was kept.
    pub fields: Vec<String>,
}

/// What undoImport did.
#[derive(SimpleObject)]
pub struct UndoImportPayload {
    /// The job, now UNDONE.
    pub job: ImportJob,
    /// Contacts the import created that were deleted.
    pub deleted_count: i64,
    /// Contacts the import updated whose values were put back.
    pub restored_count: i64,
    /// How many contacts were (wholly or in part) left alone.
    pub left_alone_count: i64,
    /// The first 1,000 of them.
    pub left_alone: Vec<UndoLeftAlone>,
}

impl UndoImportPayload {
    pub fn new(report: UndoReport, job: import_job::Model) -> Self {
        Self {
            job: ImportJob(job),
            deleted_count: report.deleted as i64,
            restored_count: report.restored as i64,
            left_alone_count: report.left_alone_count as i64,
            left_alone: report
                .left_alone
                .into_iter()
                .map(|l| UndoLeftAlone {
                    contact_id: ID(l.contact_id.to_string()),
                    reason: l.reason.into(),
                    fields: l.fields,
                })
                .collect(),
        }
    }
}

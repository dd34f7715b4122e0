use sea_orm::entity::prelude::*;

/// An import of an uploaded file, run in the background (`import_jobs`).
/// Counters are written after each batch, with `heartbeat_at`; a job whose
/// heartbeat stops (its server stopped) is marked failed by whichever
/// server sees it next.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// RUNNING, SUCCEEDED, FAILED or UNDONE.
    pub status: String,
    /// JSON, NDJSON, CSV or VCARD.
    pub format: String,
    /// The CSV export layout recognised (GOOGLE, OUTLOOK, ...), once read.
    pub layout: Option<String>,
    /// FAIL, SKIP, UPDATE or FILL_BLANKS.
    pub on_conflict: String,
    pub dry_run: bool,
    pub file_name: Option<String>,
    pub bytes_total: Option<i64>,
    pub bytes_read: i64,
    pub rows_read: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    /// Why the job stopped before the file's end (FAILED).
    pub error: Option<String>,
    /// Who started it (a token's name, or `open`).
    pub actor: String,
    pub started_at: DateTimeUtc,
    pub heartbeat_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

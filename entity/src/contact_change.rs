use sea_orm::entity::prelude::*;

/// One committed change to one contact: the change log (`contact_changes`),
/// written in the transaction of the change itself.
///
/// Readers order entries by (`tx`, `position`) and, on PostgreSQL, read
/// only entries whose transaction is older than every transaction still
/// running (`tx < pg_snapshot_xmin(pg_current_snapshot())`): that set never
/// grows below what was read, so a reader paging with a cursor never skips
/// an entry that commits later with a smaller number. On SQLite writers
/// take turns (BEGIN IMMEDIATE) and `tx` is 0: `position` alone is commit
/// order.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_changes")]
pub struct Model {
    /// Assigned by the database (never reused: AUTOINCREMENT on SQLite, an
    /// identity sequence on PostgreSQL).
    #[sea_orm(primary_key)]
    pub position: i64,
    /// The writing transaction's 64-bit id on PostgreSQL
    /// (`pg_current_xact_id()`), 0 on SQLite.
    pub tx: i64,
    pub at: DateTimeUtc,
    /// CREATED, UPDATED, DELETED, MERGED or UNMERGED.
    pub kind: String,
    pub contact_id: Uuid,
    /// For MERGED: the contact it was merged into.
    pub merged_into_id: Option<Uuid>,
    /// Who wrote it: an API token's name, `visitor`, `cli`, or `open` (a
    /// server running without tokens).
    pub actor: String,
    /// api, import, cli, merge, unmerge or migration.
    pub source: String,
    /// JSON array of [`crate::contact_state::FieldChange`]; `[]` for DELETED
    /// and MERGED entries, and for entries scrubbed by erasure.
    pub changes: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

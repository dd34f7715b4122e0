use sea_orm::entity::prelude::*;

/// One committed change to one contact: the change log (`contact_changes`),
/// written in the transaction of the change itself.
///
/// Entries are read in `position` order. A position is taken as the
/// writing transaction's last step, after it locked every contact it
/// changes, so two writes of one contact get positions in the order they
/// were applied. Writes of different contacts may commit out of position
/// order: on PostgreSQL a reader therefore sees only positions below the
/// lowest one a running transaction may still commit (see
/// `service::changes`), and never skips an entry that commits later. On
/// SQLite writers take turns (BEGIN IMMEDIATE): position order is commit
/// order.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_changes")]
pub struct Model {
    /// Assigned by the database (never reused: AUTOINCREMENT on SQLite, a
    /// sequence on PostgreSQL).
    #[sea_orm(primary_key)]
    pub position: i64,
    pub at: DateTimeUtc,
    /// CREATED, UPDATED, DELETED, MERGED or UNMERGED.
    pub kind: String,
    pub contact_id: Uuid,
    /// For MERGED: the contact it was merged into.
    pub merged_into_id: Option<Uuid>,
    /// For the destination's UPDATED entry of a merge or an unmerge: the
    /// other contact, whose values it holds (erasing that one scrubs it).
    pub counterpart_id: Option<Uuid>,
    /// Who wrote it: an API token's name, `visitor`, `cli`, or `open` (a
    /// server running without tokens).
    pub actor: String,
    /// api, import, cli, merge, unmerge or migration.
    pub source: String,
    /// JSON array of [`crate::contact_state::FieldChange`]; `[]` for DELETED
    /// and MERGED entries, and for entries scrubbed by erasure. `json` on
    /// PostgreSQL: text as written, since nothing queries inside it.
    pub changes: Json,
    /// The import job that wrote it (what undoing the import reads).
    pub job_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

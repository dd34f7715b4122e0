use sea_orm::entity::prelude::*;

/// A contact merged into `contact_id`, kept whole so that the merge can be undone.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "merge_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The surviving destination contact.
    pub contact_id: Uuid,
    /// The id the merged-away contact had.
    pub source_id: Uuid,
    pub snapshot: Json,
    /// What the merge moved onto and filled in the destination (for unmerge).
    pub moved: Option<Json>,
    pub merged_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

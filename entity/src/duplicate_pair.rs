use sea_orm::entity::prelude::*;

/// A scored duplicate candidate: two contacts, the lower id first.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "duplicate_pairs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub low_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub high_id: Uuid,
    /// In [0, 1].
    pub score: f64,
    /// The reasons' names, comma-separated (`SAME_EMAIL,SAME_NAME`).
    pub reasons: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

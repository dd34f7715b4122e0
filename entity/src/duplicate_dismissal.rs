use sea_orm::entity::prelude::*;

/// "Not the same person": a pair that never comes back as a candidate, by
/// the ids the two had when dismissed (the lower first), so that it holds
/// across merges of either side and their undoing.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "duplicate_dismissals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub low_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub high_id: Uuid,
    pub dismissed_at: DateTimeUtc,
    /// Who dismissed it (a token's name, `cli`, `open`).
    pub actor: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// The duplicate index's one row: where its build from the contacts and
/// its reading of the change log stand (service::duplicates).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "duplicate_index")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// The change-log position read up to; NULL: a build must start
    /// (never built, or the log was purged past it).
    pub position: Option<i64>,
    /// Whether every contact has been keyed since the build started.
    pub built: bool,
    /// While building: the last contact id keyed (contacts go by id).
    pub build_after: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A visitor's (unverified) handle taken over by a token holder's write: the
/// handle now belongs to whatever contact that write chose.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "handle_moves")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub source: String,
    pub handle: String,
    /// The contact that held it, unverified.
    pub from_contact_id: Uuid,
    pub moved_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

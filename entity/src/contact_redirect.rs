use sea_orm::entity::prelude::*;

/// A merged-away contact id and the contact it now resolves to.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_redirects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub old_id: Uuid,
    pub contact_id: Uuid,
    pub merged_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

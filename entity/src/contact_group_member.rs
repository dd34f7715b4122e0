use sea_orm::entity::prelude::*;

/// Membership of a contact in a group.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_group_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub contact_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub group_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::contact_group::Entity",
        from = "Column::GroupId",
        to = "super::contact_group::Column::Id"
    )]
    Group,
}

impl ActiveModelBehavior for ActiveModel {}

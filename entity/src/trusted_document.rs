use sea_orm::entity::prelude::*;

/// A registered GraphQL document: its text, by the lower-case hex SHA-256
/// of that text (what Apollo's persisted queries send as `sha256Hash`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "trusted_documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub hash: String,
    pub body: String,
    /// The operation's name, as the manifest gave it (for listings).
    pub name: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

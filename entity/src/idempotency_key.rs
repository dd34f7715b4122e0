use sea_orm::entity::prelude::*;

/// A mutation sent with an `Idempotency-Key`: who runs it, whether its
/// write committed, and its response once known.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose key it is: "staff" (tokens, and the open mode) or "visitor".
    pub scope: String,
    pub key: String,
    /// SHA-256 (hex) of the document, operation name and variables.
    pub fingerprint: String,
    /// The run that holds the key; a write commits only while it does.
    pub owner: Uuid,
    /// Until when the owner may still be running.
    pub held_until: DateTimeUtc,
    /// Set in the same transaction as the mutation's write.
    pub committed: bool,
    /// The GraphQL response as JSON, once the run finished.
    #[sea_orm(column_type = "Text", nullable)]
    pub response: Option<String>,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

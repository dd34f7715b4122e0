use sea_orm::entity::prelude::*;

/// An endpoint the change log is delivered to (signed HTTP POSTs), with
/// its place in the log.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub url: String,
    /// The entry kinds delivered, comma-separated (CREATED,UPDATED,...).
    pub kinds: String,
    /// The Standard Webhooks signing secret, `whsec_` + base64 of the key.
    pub secret: String,
    /// The last entry delivered (or passed over as not wanted).
    pub position: i64,
    /// Paused after failing too often; `webhook resume` starts it again.
    pub paused: bool,
    /// Failed attempts since the last success.
    pub failures: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    /// A server delivering to it holds it until then (one at a time).
    pub leased_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// One attempt to deliver one change-log entry to a webhook.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// The entry's cursor (also its `webhook-id` header).
    pub entry_cursor: String,
    /// 1 for the first attempt of this entry.
    pub attempt: i32,
    pub at: DateTimeUtc,
    /// The HTTP status answered, if any.
    pub status_code: Option<i32>,
    /// Why it failed (never the response body).
    pub error: Option<String>,
    pub delivered: bool,
    pub duration_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

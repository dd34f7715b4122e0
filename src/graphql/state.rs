//! What resolvers find in the schema's data.

use std::sync::Arc;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::domain::{IdentitySecret, Rules};
use crate::error::AppError;
use crate::service::events::EventBus;

/// Shared by every request: the pool, the validation rules, the identity
/// secret, the event bus.
#[derive(Clone)]
pub struct GqlState {
    pub db: DatabaseConnection,
    pub rules: Arc<Rules>,
    pub identity: Option<IdentitySecret>,
    pub events: EventBus,
    /// Most rows one importContacts call may carry.
    pub max_import_rows: usize,
    /// Most contacts one page may ask for.
    pub max_page_size: u32,
}

pub fn ctx_state<'a>(ctx: &Context<'a>) -> Result<&'a GqlState, AppError> {
    ctx.data::<GqlState>().map_err(|e| {
        AppError::Internal(anyhow::anyhow!("schema built without state: {}", e.message))
    })
}

pub fn ctx_db<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection, AppError> {
    Ok(&ctx_state(ctx)?.db)
}

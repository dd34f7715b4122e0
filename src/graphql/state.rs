//! What resolvers find in the schema's data.

use std::sync::Arc;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::domain::{IdentitySecret, Rules};
use crate::error::AppError;

/// Shared by every request: the pool, the validation rules, the identity secret.
#[derive(Clone)]
pub struct GqlState {
    pub db: DatabaseConnection,
    pub rules: Arc<Rules>,
    pub identity: Option<IdentitySecret>,
}

pub fn ctx_state<'a>(ctx: &Context<'a>) -> Result<&'a GqlState, AppError> {
    ctx.data::<GqlState>().map_err(|e| {
        AppError::Internal(anyhow::anyhow!("schema built without state: {}", e.message))
    })
}

pub fn ctx_db<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection, AppError> {
    Ok(&ctx_state(ctx)?.db)
}

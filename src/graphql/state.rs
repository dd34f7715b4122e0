//! What resolvers find in the schema's data.

use std::sync::Arc;

use async_graphql::Context;
use sea_orm::DatabaseConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use crate::domain::{IdentitySecret, Rules};
use crate::error::AppError;
use crate::service::events::EventBus;
use crate::service::import_jobs::Jobs;

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
    /// Permits for dear reads (COUNT, searches) over the whole server.
    pub dear_reads: Arc<Semaphore>,
    /// Import jobs (importContactsFile); None where nothing may run in the
    /// background (schema export).
    pub jobs: Option<Jobs>,
}

pub fn ctx_state<'a>(ctx: &Context<'a>) -> Result<&'a GqlState, AppError> {
    ctx.data::<GqlState>().map_err(|e| {
        AppError::Internal(anyhow::anyhow!("schema built without state: {}", e.message))
    })
}

pub fn ctx_db<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection, AppError> {
    Ok(&ctx_state(ctx)?.db)
}

/// Root query fields (and what hangs off a page: counts, probes, relation
/// batches) of one request run at most this many at a time: async-graphql
/// resolves a query's root fields concurrently, and 20 aliases of
/// `contacts { totalCount }` would otherwise take the whole pool from every
/// other client.
pub const REQUEST_DB_SLOTS: usize = 2;

/// The slots of one request; the gate puts a fresh one in its data.
pub struct RequestSlots(Semaphore);

impl Default for RequestSlots {
    fn default() -> Self {
        Self(Semaphore::new(REQUEST_DB_SLOTS))
    }
}

/// Waits for one of the server's permits for a dear read (a COUNT, a LIKE
/// search), held until dropped: however many clients loop over counts, they
/// share half the pool and lookups keep the rest.
pub async fn dear_read(ctx: &Context<'_>) -> Result<OwnedSemaphorePermit, AppError> {
    ctx_state(ctx)?
        .dear_reads
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| AppError::ServerBusy("the server is shutting down".into()))
}

/// The pool, once one of the request's slots is free; the slot is held
/// until the permit is dropped. A request without slots (none admitted
/// through the gate: unit tests) is not held back.
pub async fn db_slot<'a>(
    ctx: &Context<'a>,
) -> Result<(&'a DatabaseConnection, Option<SemaphorePermit<'a>>), AppError> {
    let db = ctx_db(ctx)?;
    let permit = match ctx.data_opt::<RequestSlots>() {
        Some(slots) => slots.0.acquire().await.ok(),
        None => None,
    };
    Ok((db, permit))
}

//! Import jobs, by id.

use async_graphql::{Context, Object, ID};

use crate::graphql::ids::parse_uuid;
use crate::graphql::state::ctx_state;
use crate::graphql::types::ImportJob;
use crate::service::import_jobs;

#[derive(Default)]
pub struct ImportJobQuery;

#[Object]
impl ImportJobQuery {
    /// An import job (importContactsFile) by id; null if there is none. A
    /// job whose server stopped while it ran is answered FAILED once its
    /// heartbeat (written every 5 s) is 30 s old, with the created and
    /// updated counts the change log holds for it.
    async fn import_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's id.")] id: ID,
    ) -> async_graphql::Result<Option<ImportJob>> {
        let id = parse_uuid("id", &id)?;
        let state = ctx_state(ctx)?;
        Ok(import_jobs::get(&state.db, id).await?.map(ImportJob))
    }
}

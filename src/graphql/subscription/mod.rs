//! Live updates over WebSocket (graphql-transport-ws).

use async_graphql::{Context, ErrorExtensions, Subscription, ID};
use futures_util::{Stream, StreamExt};

use crate::graphql::input::contact_ids;
use crate::graphql::state::ctx_state;
use crate::graphql::types::{ContactEvent, ImportJob};
use crate::service::changes::{self, ChangeFilter};
use crate::service::import_jobs::{self, JobStatus};

#[derive(Default)]
pub struct ContactSubscription;

#[Subscription]
impl ContactSubscription {
    /// Changes to contacts (to all, or to those in `ids` and the MERGED
    /// entries into them), delivered on every server replica sharing the
    /// database, read from the change log. With `after` (a `cursor` of an
    /// event, of a `contactChanges` edge or of a `history` edge): first
    /// every change after it, then live, with no gap and no duplicate
    /// between the two. Without: from now on. A subscriber that falls behind
    /// is fed from the log, never skipped. If the log cannot be read (the
    /// database went away) the subscription ends with an error whose
    /// `extensions.resumeAfter` is the cursor to resume after. `ids`: at
    /// most 1,000.
    async fn contact_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only events of these contacts (at most 1,000), and MERGED entries into them; absent: every contact."
        )]
        ids: Option<Vec<ID>>,
        #[graphql(
            desc = "Replay every change after this change-log cursor first, then go live; absent: from now on."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ContactEvent>>> {
        let contact_ids = contact_ids("ids", ids)?;
        let state = ctx_state(ctx)?;
        let after = changes::resume_after(&state.db, "after", after.as_deref()).await?;
        let filter = ChangeFilter {
            contact_ids,
            kinds: None,
        };
        let events = state.events.follow(state.db.clone(), after, filter);
        Ok(events.map(|item| match item {
            Ok(entry) => Ok(ContactEvent(entry)),
            Err((error, last)) => {
                let error: async_graphql::Error = error.into();
                Err(error.extend_with(|_, e| e.set("resumeAfter", last.cursor())))
            }
        }))
    }
}

#[derive(Default)]
pub struct ImportSubscription;

/// How often a followed import job is read.
const JOB_POLL: std::time::Duration = std::time::Duration::from_millis(500);

#[Subscription]
impl ImportSubscription {
    /// An import job's progress: the job now, then again whenever its
    /// counters or status change (read every half second, so any replica
    /// serves it), ending after the job ends. NOT_FOUND naming `jobId` if
    /// there is no such job.
    async fn import_progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's id (importContactsFile's answer).")] job_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ImportJob>>> {
        let id = crate::graphql::ids::parse_uuid("jobId", &job_id)?;
        let db = ctx_state(ctx)?.db.clone();
        let first = import_jobs::get(&db, id).await?.ok_or_else(|| {
            crate::error::AppError::not_found("jobId", format!("jobId: no import job {id}"))
        })?;
        let stream = futures_util::stream::unfold(
            (db, Some(first), None::<entity::import_job::Model>),
            move |(db, next, last)| async move {
                let mut next = next;
                loop {
                    if let Some(job) = next.take() {
                        let done = job.status != JobStatus::Running.as_str();
                        let item = Ok(ImportJob(job.clone()));
                        return Some((item, (db, None, Some(job).filter(|_| !done))));
                    }
                    let previous = last.as_ref()?;
                    tokio::time::sleep(JOB_POLL).await;
                    match import_jobs::get(&db, id).await {
                        Ok(Some(job)) if job != *previous => next = Some(job),
                        Ok(Some(_)) => {}
                        Ok(None) => return None,
                        Err(e) => return Some((Err(e.into()), (db, None, None))),
                    }
                }
            },
        );
        Ok(stream)
    }
}

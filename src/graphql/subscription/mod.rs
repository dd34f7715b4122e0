//! Live updates over WebSocket (graphql-transport-ws).

use async_graphql::{Context, Subscription, ID};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use crate::graphql::ids::parse_uuid;
use crate::graphql::state::ctx_state;
use crate::graphql::types::ContactEvent;

#[derive(Default)]
pub struct ContactSubscription;

#[Subscription]
impl ContactSubscription {
    /// Changes to contacts, to all or to those in ids. Delivered on every server replica sharing the database.
    async fn contact_events(
        &self,
        ctx: &Context<'_>,
        ids: Option<Vec<ID>>,
    ) -> async_graphql::Result<impl Stream<Item = ContactEvent>> {
        let ids = ids
            .map(|ids| {
                ids.iter()
                    .enumerate()
                    .map(|(i, id)| parse_uuid(&format!("ids[{i}]"), id))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let events = BroadcastStream::new(ctx_state(ctx)?.events.subscribe());
        Ok(events.filter_map(move |received| {
            let wanted = match received {
                Ok(event) if ids.as_ref().is_none_or(|ids| event.concerns(ids)) => {
                    Some(ContactEvent(event))
                }
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a slow subscriber missed contact events");
                    None
                }
            };
            std::future::ready(wanted)
        }))
    }
}

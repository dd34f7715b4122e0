//! The internal event bus: every committed change to a contact is published
//! here (after the commit, never before), for subscriptions to fan out.
//! A broadcast channel: a slow subscriber lags and loses the oldest events,
//! it never blocks a mutation.

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::now;

const CAPACITY: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Updated,
    Deleted,
    Merged,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactEvent {
    pub kind: EventKind,
    pub contact_id: Uuid,
    /// For MERGED: the surviving destination.
    pub merged_into_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl ContactEvent {
    pub fn new(kind: EventKind, contact_id: Uuid) -> Self {
        Self {
            kind,
            contact_id,
            merged_into_id: None,
            at: now(),
        }
    }
}

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<ContactEvent>,
}

impl EventBus {
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }

    /// Publishes to whoever listens; nobody listening is fine.
    pub fn publish(&self, event: ContactEvent) {
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ContactEvent> {
        self.tx.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

//! The event bus: every committed change to a contact is published here
//! (after the commit, never before), for subscriptions to fan out.
//!
//! Subscribers read a broadcast channel: a slow subscriber lags and loses the
//! oldest events, it never blocks a mutation. On SQLite the channel is fed in
//! process. On PostgreSQL a publish goes out through `pg_notify` and every
//! replica's listener (this one's too) feeds its own channel, so a subscriber
//! sees changes made on any replica sharing the database. Publishing only
//! queues the event; a background task sends it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sea_orm::sqlx::postgres::{PgConnection, PgListener, PgPool};
use sea_orm::sqlx::ConnectOptions as _;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use super::health::DbHealth;
use super::now;

/// Events a subscriber may fall behind by before it starts losing the oldest.
const CAPACITY: usize = 4096;
/// Events waiting for `pg_notify`; beyond this they are dropped and counted,
/// rather than holding up the mutations that publish them. Imports publish
/// an event a row when they commit: room for several 10,000-row imports
/// finishing together (the benchmark's load overflowed 16,384), about 64
/// bytes an event.
const OUTBOX: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    Created,
    Updated,
    Deleted,
    Merged,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

    /// Whether a subscriber to `ids` wants it: the contact itself, or for a
    /// merge, its destination.
    pub fn concerns(&self, ids: &[Uuid]) -> bool {
        ids.contains(&self.contact_id) || self.merged_into_id.is_some_and(|m| ids.contains(&m))
    }
}

/// Counters for /metrics.
#[derive(Debug, Default)]
pub struct EventStats {
    pub published: AtomicU64,
    /// Lost before reaching the database (outbox full, or pg_notify failed).
    pub dropped: AtomicU64,
    /// Handed to PostgreSQL (pg_notify committed).
    pub sent: AtomicU64,
}

#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<ContactEvent>,
    outbox: Option<mpsc::Sender<ContactEvent>>,
    stats: Arc<EventStats>,
    /// Marked down when the LISTEN connection is lost (PostgreSQL stopping
    /// closes it at once): the quickest sign that the database is gone.
    health: DbHealth,
}

impl EventBus {
    /// An in-process bus: subscribers see this process's changes only.
    pub fn new() -> Self {
        Self {
            local: broadcast::channel(CAPACITY).0,
            outbox: None,
            stats: Arc::default(),
            health: DbHealth::default(),
        }
    }

    /// Whether the database answers, as this bus last saw it.
    pub fn health(&self) -> &DbHealth {
        &self.health
    }

    /// The bus for a database: shared across replicas through LISTEN/NOTIFY on
    /// PostgreSQL, in process on SQLite. The channel is named after the
    /// current schema, so deployments in different schemas stay apart.
    pub async fn for_database(db: &DatabaseConnection) -> anyhow::Result<Self> {
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(Self::new());
        }
        let schema = db
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT current_schema() AS s",
            ))
            .await?
            .and_then(|row| row.try_get::<String>("", "s").ok())
            .unwrap_or_else(|| "public".to_owned());
        let channel = channel_name(&schema);
        let pool = db.get_postgres_connection_pool().clone();
        let mut listener = PgListener::connect_with(&pool)
            .await
            .context("opening the LISTEN connection for contact events")?;
        listener
            .listen(&channel)
            .await
            .context("LISTEN for contact events")?;

        // Opened now, so that the first events do not wait for a connection.
        let sender = pool
            .connect_options()
            .connect()
            .await
            .context("opening the connection that sends contact events")?;

        let bus = Self::new();
        let (tx, rx) = mpsc::channel(OUTBOX);
        tokio::spawn(listen(listener, bus.local.clone(), bus.health.clone()));
        tokio::spawn(notify(pool, sender, channel, rx, bus.stats.clone()));
        Ok(Self {
            outbox: Some(tx),
            ..bus
        })
    }

    /// Publishes to whoever listens; nobody listening is fine. Never waits.
    pub fn publish(&self, event: ContactEvent) {
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        match &self.outbox {
            Some(outbox) => {
                if outbox.try_send(event).is_err() {
                    let dropped = self.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    // One line per thousand, not one per event: a burst would
                    // otherwise flood the log while the queue drains.
                    if dropped % 1000 == 1 {
                        tracing::warn!(dropped, "contact events dropped: the notify queue is full");
                    }
                }
            }
            None => {
                let _ = self.local.send(event);
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ContactEvent> {
        self.local.subscribe()
    }

    pub fn stats(&self) -> &EventStats {
        &self.stats
    }

    /// Waits until every event published so far was sent or dropped, at
    /// most `limit`: a process about to exit (the command line) lets its
    /// last events reach the other replicas first.
    pub async fn drain(&self, limit: std::time::Duration) {
        if self.outbox.is_none() {
            return;
        }
        let deadline = tokio::time::Instant::now() + limit;
        let done = |stats: &EventStats| {
            stats.sent.load(Ordering::Relaxed) + stats.dropped.load(Ordering::Relaxed)
                >= stats.published.load(Ordering::Relaxed)
        };
        while !done(&self.stats) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

/// A LISTEN channel name: lower-case, at most 63 bytes (PostgreSQL's limit).
fn channel_name(schema: &str) -> String {
    let mut name = String::from("contacts_events_");
    name.extend(
        schema
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_'),
    );
    name.truncate(63);
    name
}

/// Feeds notifications from the database into this replica's channel.
/// PgListener reconnects by itself; notifications sent while it was away are
/// lost, as NOTIFY keeps none.
async fn listen(
    mut listener: PgListener,
    local: broadcast::Sender<ContactEvent>,
    health: DbHealth,
) {
    loop {
        match listener.recv().await {
            Ok(notification) => match serde_json::from_str(notification.payload()) {
                Ok(event) => {
                    let _ = local.send(event);
                }
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed contact event"),
            },
            Err(e) => {
                health.mark_down();
                tracing::warn!(error = %e, "contact events: LISTEN connection lost; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Sends queued events with pg_notify, in publish order, as many as are
/// waiting in one statement (an import publishes thousands at once), on a
/// connection of its own: on a pooled one, a burst of long imports holding
/// every pooled connection starved it until the queue overflowed. After a
/// failure it reconnects (with the pool's settings) for the next batch. Ends
/// when every bus handle is gone.
async fn notify(
    pool: PgPool,
    sender: PgConnection,
    channel: String,
    mut rx: mpsc::Receiver<ContactEvent>,
    stats: Arc<EventStats>,
) {
    const BATCH: usize = 1000;
    let mut batch = Vec::with_capacity(BATCH);
    let mut conn = Some(sender);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        // Serialising plain fields cannot fail.
        let payloads: Vec<String> = batch
            .drain(..)
            .map(|event| serde_json::to_string(&event).unwrap_or_default())
            .collect();
        let sent = match conn.as_mut() {
            Some(c) => send(c, &channel, &payloads).await,
            None => match pool.connect_options().connect().await {
                Ok(c) => send(conn.insert(c), &channel, &payloads).await,
                Err(e) => Err(e),
            },
        };
        if sent.is_ok() {
            stats
                .sent
                .fetch_add(payloads.len() as u64, Ordering::Relaxed);
        }
        if let Err(e) = sent {
            // Reconnect for the next batch.
            conn = None;
            stats
                .dropped
                .fetch_add(payloads.len() as u64, Ordering::Relaxed);
            tracing::warn!(error = %e, count = payloads.len(), "contact events not sent");
        }
    }
}

async fn send(
    conn: &mut PgConnection,
    channel: &str,
    payloads: &[String],
) -> Result<(), sea_orm::sqlx::Error> {
    sea_orm::sqlx::query(
        "SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n",
    )
    .bind(channel)
    .bind(payloads)
    .execute(conn)
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_safe_identifiers() {
        assert_eq!(channel_name("public"), "contacts_events_public");
        assert_eq!(channel_name("T_1\"; x"), "contacts_events_t_1x");
        assert_eq!(channel_name(&"a".repeat(100)).len(), 63);
    }

    #[test]
    fn an_event_concerns_its_contact_and_a_merge_destination() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut event = ContactEvent::new(EventKind::Merged, a);
        event.merged_into_id = Some(b);
        assert!(event.concerns(&[a]));
        assert!(event.concerns(&[b]));
        assert!(!event.concerns(&[c]));
    }
}

//! The live change feed. The change log (changes.rs) is the truth; this
//! module only tells readers when to look at it.
//!
//! - Each server runs one *tailer*: it reads the log after its position and
//!   broadcasts the entries to this replica's subscribers. It looks when a
//!   write of this process commits, when another replica's NOTIFY arrives
//!   (PostgreSQL), and in any case every `--change-poll-ms` (the command
//!   line on SQLite is another process that cannot wake it; a NOTIFY lost
//!   while the listener reconnects is caught up the same way).
//! - A subscriber ([`EventBus::follow`]) reads the log itself from its
//!   `after` position until it has caught up, then takes the tailer's
//!   entries, skipping those at or before the last it delivered: no gap and
//!   no duplicate at the seam. One that falls behind the broadcast (it keeps
//!   CAPACITY entries) goes back to reading the log from where it was.
//! - With no subscriber the tailer reads nothing (a write costs no read).
//!   When one comes it jumps to the log's head and says it is *ready*; a
//!   subscriber takes the tailer's entries only after one more read of the
//!   log made once the tailer was ready, so the jump cannot skip an entry it
//!   needs. The tailer goes idle only while nobody is subscribed, which a
//!   lock shared with subscribing decides.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::Context as _;
use futures_util::Stream;
use sea_orm::sqlx::postgres::{PgConnection, PgListener, PgPool};
use sea_orm::sqlx::ConnectOptions as _;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use tokio::sync::{broadcast, mpsc, watch};

use super::changes::{self, ChangeFilter, Entry, Position};
use super::health::DbHealth;
use super::webhooks::WebhookPolicy;
use crate::error::AppError;

/// Entries a subscriber may fall behind by before it reads the log instead
/// (in reads of bounded size). Entries can be megabytes each: few are kept.
const CAPACITY: usize = 256;
/// Wake-ups waiting for `pg_notify`; they are coalesced (only the newest
/// position is sent), so a full queue loses nothing a later one does not say.
const OUTBOX: usize = 1024;
/// Entries the tailer and a catching-up subscriber read per statement.
const PAGE: u64 = 500;
/// The first re-look at a write known committed but not yet readable (an
/// older transaction still runs); it doubles up to the poll interval.
const FIRST_RETRY: Duration = Duration::from_millis(5);

/// Counters for /metrics.
#[derive(Debug, Default)]
pub struct EventStats {
    /// Commits that wrote to the log, announced by this replica.
    pub published: AtomicU64,
    /// Announcements lost before reaching the database (pg_notify failed);
    /// readers still see the entries at their next poll.
    pub dropped: AtomicU64,
    /// Announcements handed to PostgreSQL (pg_notify committed).
    pub sent: AtomicU64,
}

struct Inner {
    entries: broadcast::Sender<Arc<Entry>>,
    /// The tailer's position: every entry up to it was broadcast.
    head: watch::Sender<Position>,
    /// The newest position this replica knows was committed (its own
    /// writes, other replicas' NOTIFY): the tailer's wake-up.
    known: watch::Sender<Position>,
    outbox: Option<mpsc::Sender<Position>>,
    stats: EventStats,
    /// Whether the tailer reads the log (it has receivers and has jumped to
    /// the head): what it broadcasts from now on follows its `head`.
    ready: watch::Sender<bool>,
    /// Held while a receiver subscribes and while the tailer decides to go
    /// idle, so that the two never cross.
    gate: std::sync::Mutex<()>,
    /// The database a server's bus reads (see `for_database`), for the
    /// background work it starts.
    db: std::sync::OnceLock<DatabaseConnection>,
    /// Marked down when the LISTEN connection is lost (PostgreSQL stopping
    /// closes it at once): the quickest sign that the database is gone.
    health: DbHealth,
}

#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

impl EventBus {
    /// A bus that tells nobody: for code that writes without a server (the
    /// command line on SQLite, tests calling the service).
    pub fn new() -> Self {
        Self::with_outbox(None)
    }

    fn with_outbox(outbox: Option<mpsc::Sender<Position>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                entries: broadcast::channel(CAPACITY).0,
                head: watch::channel(Position::START).0,
                known: watch::channel(Position::START).0,
                outbox,
                stats: EventStats::default(),
                ready: watch::channel(false).0,
                gate: std::sync::Mutex::new(()),
                db: std::sync::OnceLock::new(),
                health: DbHealth::default(),
            }),
        }
    }

    /// Whether the database answers, as this bus last saw it.
    pub fn health(&self) -> &DbHealth {
        &self.inner.health
    }

    /// A server's bus: a tailer reading the log every `poll` (and whenever
    /// told of a commit), and on PostgreSQL a NOTIFY sender and listener on
    /// a channel named after the current schema, so that deployments in
    /// different schemas stay apart.
    pub async fn for_database(db: &DatabaseConnection, poll: Duration) -> anyhow::Result<Self> {
        let bus = match db.get_database_backend() {
            DatabaseBackend::Postgres => Self::connected(db, true).await?,
            _ => Self::new(),
        };
        let start = changes::head(db)
            .await
            .context("reading the change log's head")?;
        bus.inner.head.send_replace(start);
        bus.inner.known.send_replace(start);
        let _ = bus.inner.db.set(db.clone());
        tokio::spawn(tail(db.clone(), Arc::downgrade(&bus.inner), start, poll));
        Ok(bus)
    }

    /// A bus that only announces commits (on PostgreSQL, to every server
    /// sharing the database): the command line's.
    pub async fn announcer(db: &DatabaseConnection) -> anyhow::Result<Self> {
        match db.get_database_backend() {
            DatabaseBackend::Postgres => Self::connected(db, false).await,
            _ => Ok(Self::new()),
        }
    }

    async fn connected(db: &DatabaseConnection, listening: bool) -> anyhow::Result<Self> {
        let channel = channel_name(&current_schema(db).await?);
        let pool = db.get_postgres_connection_pool().clone();
        let listener = if listening {
            let mut listener = PgListener::connect_with(&pool)
                .await
                .context("opening the LISTEN connection for contact events")?;
            listener
                .listen(&channel)
                .await
                .context("LISTEN for contact events")?;
            Some(listener)
        } else {
            None
        };
        // Opened now, so that the first announcement does not wait for one.
        let sender = pool
            .connect_options()
            .connect()
            .await
            .context("opening the connection that announces contact changes")?;
        let (tx, rx) = mpsc::channel(OUTBOX);
        let bus = Self::with_outbox(Some(tx));
        if let Some(listener) = listener {
            tokio::spawn(listen(listener, Arc::downgrade(&bus.inner)));
        }
        tokio::spawn(notify(
            pool,
            sender,
            channel,
            rx,
            Arc::downgrade(&bus.inner),
        ));
        Ok(bus)
    }

    /// Tells readers that a commit wrote the log up to `last`. Never waits.
    pub fn committed(&self, last: Option<Position>) {
        let Some(last) = last else {
            return;
        };
        let inner = &self.inner;
        inner.stats.published.fetch_add(1, Ordering::Relaxed);
        inner.known.send_if_modified(|known| raise(known, last));
        if let Some(outbox) = &inner.outbox {
            if outbox.try_send(last).is_err() {
                // Full: the announcements waiting already wake every
                // replica, which then reads everything committed.
                inner.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Tells of every commit announced to this replica (the newest
    /// position known committed); ends when the bus is gone.
    pub fn commits(&self) -> watch::Receiver<Position> {
        self.inner.known.subscribe()
    }

    /// The tailer's entries as they come, from now on: waits (at most
    /// `limit`) until the tailer reads for it. For tests and diagnostics;
    /// subscribers use [`EventBus::follow`].
    pub async fn subscribe(&self, limit: Duration) -> broadcast::Receiver<Arc<Entry>> {
        let (receiver, _) = self.receiver();
        let mut ready = self.inner.ready.subscribe();
        let _ = tokio::time::timeout(limit, ready.wait_for(|r| *r)).await;
        receiver
    }

    /// A receiver of the tailer's entries, and whether the tailer was ready
    /// (and so stays ready while the receiver lives); wakes the tailer.
    fn receiver(&self) -> (broadcast::Receiver<Arc<Entry>>, bool) {
        let inner = &self.inner;
        let receiver = {
            let _gate = inner.gate.lock().unwrap_or_else(|e| e.into_inner());
            (inner.entries.subscribe(), *inner.ready.borrow())
        };
        inner.known.send_modify(|_| {});
        receiver
    }

    /// The entries after `after` (None: from now on) that `filter` wants,
    /// in log order, read from the log until caught up and then live. A
    /// read that fails ends the stream with the error and the position to
    /// resume after.
    pub fn follow(
        &self,
        db: DatabaseConnection,
        after: Option<Position>,
        filter: ChangeFilter,
    ) -> impl Stream<Item = Result<Arc<Entry>, (AppError, Position)>> + Send + 'static {
        // Subscribed before the position is read: whatever the tailer sends
        // from now on is heard (see the module's seam).
        let (live, ready) = self.receiver();
        let (last, catching_up) = match after {
            Some(after) => (Some(after), true),
            // A ready tailer has sent everything up to its head.
            None if ready => (Some(*self.inner.head.borrow()), false),
            // Otherwise: from the log's head, read once the tailer is ready.
            None => (None, true),
        };
        let follower = Follower {
            db,
            filter,
            last,
            catching_up,
            tailer_ready: ready,
            ready_rx: self.inner.ready.subscribe(),
            live,
            read: VecDeque::new(),
            failed: false,
        };
        futures_util::stream::unfold(follower, |mut f| async move {
            let item = f.next().await?;
            Some((item, f))
        })
    }

    /// Starts the log's other background work, until the bus is gone:
    /// purging entries older than `retention` (a batch at a time) and
    /// delivering webhooks. Nothing for a bus without a database.
    pub fn spawn_background(&self, retention: Duration, webhooks: WebhookPolicy) {
        let Some(db) = self.inner.db.get() else {
            return;
        };
        tokio::spawn(keep_retention(
            db.clone(),
            Arc::downgrade(&self.inner),
            retention,
        ));
        tokio::spawn(super::webhooks::deliver_forever(
            db.clone(),
            self.commits(),
            webhooks,
        ));
    }

    pub fn stats(&self) -> &EventStats {
        &self.inner.stats
    }

    /// Waits until every announcement made so far was sent or dropped, at
    /// most `limit`: a process about to exit (the command line) lets its
    /// last announcement reach the servers first.
    pub async fn drain(&self, limit: Duration) {
        if self.inner.outbox.is_none() {
            return;
        }
        let deadline = tokio::time::Instant::now() + limit;
        let stats = &self.inner.stats;
        let done = || {
            stats.sent.load(Ordering::Relaxed) + stats.dropped.load(Ordering::Relaxed)
                >= stats.published.load(Ordering::Relaxed)
        };
        while !done() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

/// Raises `known` to `to`; whether it moved.
fn raise(known: &mut Position, to: Position) -> bool {
    if to > *known {
        *known = to;
        true
    } else {
        false
    }
}

/// One subscriber's place in the feed.
struct Follower {
    db: DatabaseConnection,
    filter: ChangeFilter,
    /// The last entry delivered (or the start); None: the log's head, not
    /// yet read.
    last: Option<Position>,
    /// Reading the log, not yet taking the tailer's entries.
    catching_up: bool,
    /// The tailer was seen ready before the last read of the log began.
    tailer_ready: bool,
    ready_rx: watch::Receiver<bool>,
    live: broadcast::Receiver<Arc<Entry>>,
    /// Read from the log, not yet delivered.
    read: VecDeque<Arc<Entry>>,
    failed: bool,
}

impl Follower {
    async fn next(&mut self) -> Option<Result<Arc<Entry>, (AppError, Position)>> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(entry) = self.read.pop_front() {
                self.last = Some(entry.position);
                return Some(Ok(entry));
            }
            if self.catching_up {
                if let Err(error) = self.catch_up().await {
                    self.failed = true;
                    return Some(Err((error, self.last.unwrap_or(Position::START))));
                }
                continue;
            }
            let last = self.last.unwrap_or(Position::START);
            match self.live.recv().await {
                Ok(entry) => {
                    if entry.position > last && entry.matches(&self.filter) {
                        self.last = Some(entry.position);
                        return Some(Ok(entry));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "a subscriber fell behind; reading the log for it");
                    self.catching_up = true;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

impl Follower {
    /// One read of the log while catching up. Caught up, it goes live once
    /// a read began after the tailer was ready; until then it waits for the
    /// tailer and reads again.
    async fn catch_up(&mut self) -> Result<(), AppError> {
        let ready_before = self.tailer_ready || *self.ready_rx.borrow_and_update();
        let after = match self.last {
            Some(last) => last,
            None => {
                let head = changes::head(&self.db).await?;
                self.last = Some(head);
                head
            }
        };
        let batch = changes::read(&self.db, after, PAGE, &self.filter).await?;
        let caught_up = !batch.cut && (batch.entries.len() as u64) < PAGE;
        self.read.extend(batch.entries.into_iter().map(Arc::new));
        if caught_up {
            if ready_before {
                self.catching_up = false;
            } else {
                let _ = tokio::time::timeout(
                    Duration::from_millis(200),
                    self.ready_rx.wait_for(|r| *r),
                )
                .await;
                self.tailer_ready = *self.ready_rx.borrow_and_update();
            }
        }
        Ok(())
    }
}

/// Reads the log after `at` whenever told of a commit, and every `poll`;
/// broadcasts what it reads. Ends when the bus is gone.
async fn tail(db: DatabaseConnection, bus: Weak<Inner>, mut at: Position, poll: Duration) {
    let Some(mut known) = bus.upgrade().map(|b| b.known.subscribe()) else {
        return;
    };
    let mut retry = FIRST_RETRY;
    let mut failing = false;
    loop {
        let Some(inner) = bus.upgrade() else {
            return;
        };
        if !wanted(&inner) {
            drop(inner);
            if known.changed().await.is_err() {
                return;
            }
            continue;
        }
        if !*inner.ready.borrow() {
            // Nobody needed what passed while idle: start from the head.
            match changes::head(&db).await {
                Ok(head) => {
                    at = head;
                    inner.head.send_replace(at);
                    inner.ready.send_replace(true);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the change feed cannot read the log; retrying");
                    drop(inner);
                    tokio::time::sleep(poll).await;
                    continue;
                }
            }
        }
        match changes::read(&db, at, PAGE, &ChangeFilter::default()).await {
            Ok(batch) => {
                failing = false;
                let full = batch.cut || batch.entries.len() as u64 == PAGE;
                let page = batch.entries;
                if let Some(last) = page.last() {
                    // Moved before sending: a subscriber reading the head
                    // after subscribing hears every entry past it.
                    at = last.position;
                    inner.head.send_replace(at);
                }
                for entry in page {
                    let _ = inner.entries.send(Arc::new(entry));
                }
                if full {
                    continue;
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "the change feed cannot read the log; retrying");
                }
                failing = true;
            }
        }
        drop(inner);
        // A commit announced but not yet readable: look again soon.
        let pending = *known.borrow_and_update() > at;
        let wait = if pending && !failing {
            let wait = retry;
            retry = (retry * 2).min(poll);
            wait
        } else {
            retry = FIRST_RETRY;
            poll
        };
        tokio::select! {
            changed = known.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Entries one purge statement deletes: short statements, so that writers
/// never wait long behind one.
const PURGE_BATCH: u64 = 1000;
/// How often retention looks for entries to purge.
const PURGE_EVERY: Duration = Duration::from_secs(600);

async fn keep_retention(db: DatabaseConnection, bus: Weak<Inner>, retention: Duration) {
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    // Not at once: a server starting is busy enough.
    tokio::time::sleep(Duration::from_secs(60)).await;
    loop {
        if bus.strong_count() == 0 {
            return;
        }
        let before = super::now() - retention;
        loop {
            match changes::purge_older_than(&db, before, PURGE_BATCH).await {
                Ok(n) if n == PURGE_BATCH => tokio::time::sleep(Duration::from_millis(50)).await,
                Ok(n) => {
                    if n > 0 {
                        tracing::debug!(purged = n, "change log: old entries purged");
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change log: purging old entries failed");
                    break;
                }
            }
        }
        tokio::time::sleep(PURGE_EVERY).await;
    }
}

/// Whether anyone receives the tailer's entries; when nobody does, the
/// tailer stops being ready (under the gate: see the module).
fn wanted(inner: &Inner) -> bool {
    let _gate = inner.gate.lock().unwrap_or_else(|e| e.into_inner());
    if inner.entries.receiver_count() > 0 {
        return true;
    }
    inner.ready.send_replace(false);
    false
}

async fn current_schema(db: &DatabaseConnection) -> anyhow::Result<String> {
    Ok(db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT current_schema() AS s",
        ))
        .await?
        .and_then(|row| row.try_get::<String>("", "s").ok())
        .unwrap_or_else(|| "public".to_owned()))
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

/// Wakes this replica's tailer when another replica (or the command line)
/// announces a commit. PgListener reconnects by itself; what was announced
/// meanwhile is read at the tailer's next look, which the reconnection
/// triggers.
async fn listen(mut listener: PgListener, bus: Weak<Inner>) {
    loop {
        let received = listener.recv().await;
        let Some(inner) = bus.upgrade() else {
            return;
        };
        match received {
            Ok(notification) => {
                let position = Position::parse("payload", notification.payload()).ok();
                // An unreadable payload still says something was committed.
                let to = position.unwrap_or(Position { seq: i64::MAX });
                inner.known.send_if_modified(|known| raise(known, to));
            }
            Err(e) => {
                inner.health.mark_down();
                tracing::warn!(error = %e, "contact events: LISTEN connection lost; reconnecting");
                drop(inner);
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Some(inner) = bus.upgrade() {
                    inner.known.send_modify(|_| {});
                }
            }
        }
    }
}

/// Sends announcements with pg_notify, only the newest of those waiting
/// (each says "the log holds entries up to here"), on a connection of its
/// own: on a pooled one, long imports holding every pooled connection
/// starved it. After a failure it reconnects for the next one. Ends when
/// the bus is gone.
async fn notify(
    pool: PgPool,
    sender: PgConnection,
    channel: String,
    mut rx: mpsc::Receiver<Position>,
    bus: Weak<Inner>,
) {
    const BATCH: usize = 1000;
    let mut waiting = Vec::with_capacity(BATCH);
    let mut conn = Some(sender);
    while rx.recv_many(&mut waiting, BATCH).await > 0 {
        let count = waiting.len() as u64;
        let Some(newest) = waiting.drain(..).max() else {
            continue;
        };
        let payload = newest.cursor();
        let sent = match conn.as_mut() {
            Some(c) => send(c, &channel, &payload).await,
            None => match pool.connect_options().connect().await {
                Ok(c) => send(conn.insert(c), &channel, &payload).await,
                Err(e) => Err(e),
            },
        };
        let Some(inner) = bus.upgrade() else {
            return;
        };
        match sent {
            Ok(()) => inner.stats.sent.fetch_add(count, Ordering::Relaxed),
            Err(e) => {
                conn = None;
                tracing::warn!(error = %e, "a change announcement was not sent");
                inner.stats.dropped.fetch_add(count, Ordering::Relaxed)
            }
        };
    }
}

async fn send(
    conn: &mut PgConnection,
    channel: &str,
    payload: &str,
) -> Result<(), sea_orm::sqlx::Error> {
    sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
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
    fn the_known_position_only_rises() {
        let mut known = Position { seq: 9 };
        assert!(!raise(&mut known, Position { seq: 8 }));
        assert!(raise(&mut known, Position { seq: 10 }));
        assert_eq!(known, Position { seq: 10 });
    }
}

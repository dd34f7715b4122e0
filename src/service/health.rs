//! Whether the database answers, as last seen. While it is known to be down,
//! requests are answered DATABASE_UNAVAILABLE at once instead of each
//! waiting out the pool's acquire timeout; a monitor pings it meanwhile and
//! clears the mark when it answers again, so recovery needs no restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

/// How often a database marked down is pinged.
const PROBE_EVERY: Duration = Duration::from_millis(500);
/// How long a probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone, Default)]
pub struct DbHealth {
    down: Arc<AtomicBool>,
}

impl DbHealth {
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Marks the database down: a connection to it failed.
    pub fn mark_down(&self) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "the database does not answer; answering DATABASE_UNAVAILABLE until it does"
            );
        }
    }

    fn mark_up(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("the database answers again");
        }
    }

    /// Whether a new connection to the database can be opened now; marks it
    /// down when not. A request that waited out the pool's acquire timeout
    /// asks this to tell a busy server from a database that is gone: every
    /// pooled connection may have died with it while the pool kept retrying
    /// to connect. SQLite is a file: always reachable.
    pub async fn probe(&self, db: &DatabaseConnection) -> bool {
        use sea_orm::sqlx::ConnectOptions as _;
        if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return true;
        }
        let options = db.get_postgres_connection_pool().connect_options();
        let reachable = matches!(
            tokio::time::timeout(PROBE_TIMEOUT, options.connect()).await,
            Ok(Ok(_))
        );
        if !reachable {
            self.mark_down();
        }
        reachable
    }

    /// Pings the database while it is marked down, until every handle is
    /// gone. Spawned once per server.
    pub fn spawn_monitor(&self, db: DatabaseConnection) {
        let down = Arc::downgrade(&self.down);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let Some(flag) = down.upgrade() else { return };
                if !flag.load(Ordering::Relaxed) {
                    continue;
                }
                let health = DbHealth { down: flag };
                if let Ok(Ok(())) = tokio::time::timeout(PROBE_TIMEOUT, db.ping()).await {
                    health.mark_up();
                }
            }
        });
    }
}

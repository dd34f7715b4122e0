//! Turns at SQLite's write lock for this process's writers.
//!
//! SQLite has one write lock per database file. A writer that finds it taken
//! sleeps in SQLite's busy handler (1, 2, 5, 10, 15, 20, 25, 50, 100 ms and
//! so on) and tries again; with many requests writing at once, most of the
//! time went in those sleeps while the lock stood free, and who got it next
//! was luck. So this process's writers queue here first, in arrival order,
//! and only the one whose turn it is runs BEGIN IMMEDIATE: the lock passes
//! from one to the next without a sleep. Writers of other processes (the
//! command line's import beside a running server) still meet at the lock
//! itself, under the busy timeout.
//!
//! PostgreSQL locks rows, not the database: writers there take no turn.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::OwnedMutexGuard;

use crate::error::{AppError, AppResult};

/// The queue of one database file, and how long a writer may wait in it.
struct Queue {
    turn: Arc<tokio::sync::Mutex<()>>,
    wait: Duration,
}

/// One queue per database file this process has opened for writing. A
/// process opens a handful (a test run some hundreds), so entries stay.
static QUEUES: LazyLock<Mutex<HashMap<PathBuf, Queue>>> = LazyLock::new(Mutex::default);

/// A writer's turn: the lock is this writer's to take until it is dropped.
pub struct Turn(#[allow(dead_code)] OwnedMutexGuard<()>);

/// Opens (or joins) the queue of the SQLite database `db` writes to, where a
/// writer waits at most `wait` for its turn (WRITE_LOCKED after that).
/// Several pools of one file in one process share its queue and its
/// shortest wait. Does nothing on PostgreSQL.
pub fn register(db: &DatabaseConnection, wait: Duration) {
    with_file(db, |file| {
        lock(&QUEUES)
            .entry(file.to_owned())
            .and_modify(|queue| queue.wait = queue.wait.min(wait))
            .or_insert_with(|| Queue {
                turn: Arc::default(),
                wait,
            });
    });
}

/// Waits for this writer's turn at the write lock of `db`'s file: `None` on
/// PostgreSQL and for a file no pool registered. WRITE_LOCKED ("nothing was
/// applied") when the turn does not come within the queue's wait.
pub async fn take(db: &DatabaseConnection) -> AppResult<Option<Turn>> {
    let queue = with_file(db, |file| {
        lock(&QUEUES)
            .get(file)
            .map(|queue| (queue.turn.clone(), queue.wait))
    });
    let Some((turn, wait)) = queue.flatten() else {
        return Ok(None);
    };
    match tokio::time::timeout(wait, turn.lock_owned()).await {
        Ok(guard) => Ok(Some(Turn(guard))),
        Err(_) => Err(AppError::WriteLocked),
    }
}

/// Runs `f` on the file of `db` when it is SQLite.
fn with_file<R>(db: &DatabaseConnection, f: impl FnOnce(&Path) -> R) -> Option<R> {
    (db.get_database_backend() == DbBackend::Sqlite).then(|| {
        f(db.get_sqlite_connection_pool()
            .connect_options()
            .get_filename())
    })
}

/// The map stays usable after a panic elsewhere: it holds no invariant a
/// panic could break halfway.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite() -> DatabaseConnection {
        sea_orm::Database::connect("sqlite::memory:").await.unwrap()
    }

    #[tokio::test]
    async fn writers_take_turns_and_a_writer_kept_waiting_is_told_write_locked() {
        let db = sqlite().await;
        register(&db, Duration::from_millis(50));
        let first = take(&db).await.unwrap();
        assert!(first.is_some(), "a registered SQLite file has a queue");
        let second = take(&db).await;
        assert!(
            matches!(second, Err(AppError::WriteLocked)),
            "waited past the limit"
        );
        drop(first);
        assert!(take(&db).await.unwrap().is_some(), "the turn passed on");
    }

    #[tokio::test]
    async fn turns_come_in_arrival_order() {
        let db = sqlite().await;
        register(&db, Duration::from_secs(5));
        let held = take(&db).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for writer in 0..5 {
            let (db, order) = (db.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let _turn = take(&db).await.unwrap();
                lock(&order).push(writer);
            }));
            // Each writer queues before the next one arrives.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(held);
        for writer in waiting {
            writer.await.unwrap();
        }
        assert_eq!(*lock(&order), vec![0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn an_unregistered_file_has_no_queue() {
        let db = sqlite().await;
        assert!(take(&db).await.unwrap().is_none());
    }
}

//! The one write path. Every mutation (and the command-line import) runs its
//! work through [`write`]: begin (BEGIN IMMEDIATE on SQLite), run, commit;
//! a transient failure ([`AppError::Contended`]: a unique or foreign-key race,
//! a deadlock, a serialization failure) rolls back and runs the work again
//! after a short jittered pause, at most ATTEMPTS times, then answers
//! CONFLICT saying to retry. Events are published only after the commit.
//! A request sent with an Idempotency-Key marks its key in the same
//! transaction (see idempotency.rs), so the key and the write commit together.

use std::time::Duration;

use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use uuid::Uuid;

use super::events::{ContactEvent, EventBus, EventKind};
use super::idempotency;
use super::{begin_write, finish, roll_back};
use crate::error::{AppError, AppResult};

/// Runs of a write before a transient failure is answered CONFLICT.
pub const ATTEMPTS: u32 = 8;
/// The pause after the first lost race; it doubles each time (with jitter),
/// up to MAX_PAUSE: about 0.5 s in all before giving up.
const FIRST_PAUSE: Duration = Duration::from_millis(2);
const MAX_PAUSE: Duration = Duration::from_millis(200);

/// What a write's work gives back: its value and the events to publish once
/// it is committed.
pub struct Written<T> {
    pub value: T,
    pub events: Vec<ContactEvent>,
}

impl<T> Written<T> {
    pub fn new(value: T) -> Self {
        Self {
            value,
            events: Vec::new(),
        }
    }

    /// Adds an event about `contact_id`.
    pub fn event(mut self, kind: EventKind, contact_id: Uuid) -> Self {
        self.events.push(ContactEvent::new(kind, contact_id));
        self
    }
}

/// Runs `work(txn, input)` in a write transaction, retrying transient
/// failures, and publishes its events after the commit. `input` is lent to
/// every run (a run may happen several times, so it must not consume it).
pub async fn write<I, T, W>(
    db: &DatabaseConnection,
    events: &EventBus,
    input: &I,
    work: W,
) -> AppResult<T>
where
    I: Sync + ?Sized,
    W: for<'t> Fn(&'t DatabaseTransaction, &'t I) -> BoxFuture<'t, AppResult<Written<T>>>,
{
    let mut attempt = 1;
    loop {
        let txn = begin_write(db).await?;
        let result = match work(&txn, input).await {
            Ok(written) => idempotency::mark_committing(&txn).await.map(|()| written),
            Err(error) => Err(error),
        };
        match finish(txn, result).await {
            Ok(written) => {
                idempotency::committed();
                for event in written.events {
                    events.publish(event);
                }
                return Ok(written.value);
            }
            Err(AppError::Contended) if attempt < ATTEMPTS => {
                tracing::debug!(attempt, "a write lost a race; running it again");
                tokio::time::sleep(pause(attempt)).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// What a one-shot write decided to do with its transaction.
pub enum Decision<T> {
    /// Commit, then publish the events.
    Commit(Written<T>),
    /// Roll back; the value (what went wrong, say) is returned all the same.
    RollBack(T),
}

/// Runs `work` once in one write transaction and commits or rolls back as
/// it decides, publishing its events after a commit. For work that cannot
/// be run again (a file being read as it is written, in the command line's
/// `import --atomic`), so a transient failure is not retried: it rolls back
/// and is returned.
pub async fn write_once<T, W>(db: &DatabaseConnection, events: &EventBus, work: W) -> AppResult<T>
where
    W: AsyncFnOnce(&DatabaseTransaction) -> AppResult<Decision<T>>,
{
    let txn = begin_write(db).await?;
    let decided = match work(&txn).await {
        Ok(Decision::Commit(written)) => idempotency::mark_committing(&txn)
            .await
            .map(|()| Decision::Commit(written)),
        other => other,
    };
    match decided {
        Ok(Decision::Commit(written)) => {
            finish(txn, Ok(())).await?;
            idempotency::committed();
            for event in written.events {
                events.publish(event);
            }
            Ok(written.value)
        }
        Ok(Decision::RollBack(value)) => {
            roll_back(txn).await;
            Ok(value)
        }
        Err(error) => finish(txn, Err(error)).await,
    }
}

/// A jittered, doubling pause: racing writers spread out instead of meeting
/// again at once.
fn pause(attempt: u32) -> Duration {
    let ceiling = FIRST_PAUSE
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_PAUSE);
    let mut byte = [0u8; 1];
    // Without randomness the pause is the ceiling: slower, still correct.
    let share = match getrandom::fill(&mut byte) {
        Ok(()) => f64::from(byte[0]) / 255.0,
        Err(_) => 1.0,
    };
    ceiling.mul_f64(0.5 + share / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_stay_bounded() {
        for attempt in 1..ATTEMPTS {
            let p = pause(attempt);
            assert!(p >= FIRST_PAUSE / 2 && p <= MAX_PAUSE, "{attempt}: {p:?}");
        }
        let total: Duration = (1..ATTEMPTS)
            .map(|a| FIRST_PAUSE.saturating_mul(1 << a).min(MAX_PAUSE))
            .sum();
        assert!(total < Duration::from_secs(1), "{total:?}");
    }
}

//! The one write path. Every mutation (and the command-line import) runs its
//! work through [`write`]: begin (BEGIN IMMEDIATE on SQLite), run, log what
//! the run recorded (changes.rs) in the same transaction, commit; a
//! transient failure ([`AppError::Contended`]: a unique or foreign-key race,
//! a deadlock, a serialization failure) rolls back and runs the work again
//! after a short jittered pause, at most ATTEMPTS times, then answers
//! CONFLICT saying to retry. Readers are told of the commit only after it.
//! A request sent with an Idempotency-Key marks its key in the same
//! transaction (see idempotency.rs), so the key and the write commit together.

use std::time::Duration;

use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use super::changes::{self, Pending, Position};
use super::events::EventBus;
use super::idempotency;
use super::{begin_write, finish, roll_back};
use crate::error::{AppError, AppResult};

/// Runs of a write before a transient failure is answered CONFLICT.
pub const ATTEMPTS: u32 = 8;
/// The pause after the first lost race; it doubles each time (with jitter),
/// up to MAX_PAUSE: about 0.5 s in all before giving up.
const FIRST_PAUSE: Duration = Duration::from_millis(2);
const MAX_PAUSE: Duration = Duration::from_millis(200);

/// Runs `work(txn, input)` in a write transaction, retrying transient
/// failures; what it recorded is logged with it, and readers are told after
/// the commit. `input` is lent to every run (a run may happen several
/// times, so it must not consume it).
pub async fn write<I, T, W>(
    db: &DatabaseConnection,
    events: &EventBus,
    input: &I,
    work: W,
) -> AppResult<T>
where
    I: Sync + ?Sized,
    W: for<'t> Fn(&'t DatabaseTransaction, &'t I) -> BoxFuture<'t, AppResult<T>>,
{
    let mut attempt = 1;
    loop {
        let txn = begin_write(db).await?;
        let (result, recorded) = changes::collecting(work(&txn, input)).await;
        let result = match result {
            Ok(value) => seal(&txn, recorded).await.map(|last| (value, last)),
            Err(error) => Err(error),
        };
        match finish(txn, result).await {
            Ok((value, last)) => {
                idempotency::committed();
                events.committed(last);
                return Ok(value);
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

/// The last steps before a commit: the run's changes go into the log, and
/// its idempotency key (if any) is marked committed.
async fn seal(txn: &DatabaseTransaction, recorded: Pending) -> AppResult<Option<Position>> {
    let last = changes::log_rest(txn, recorded).await?;
    idempotency::mark_committing(txn).await?;
    Ok(last)
}

/// What a one-shot write decided to do with its transaction.
pub enum Decision<T> {
    /// Commit (with what it recorded).
    Commit(T),
    /// Roll back; the value (what went wrong, say) is returned all the same.
    RollBack(T),
}

/// Runs `work` once in one write transaction and commits or rolls back as
/// it decides, logging what it recorded with a commit. For work that cannot
/// be run again (a file being read as it is written, in the command line's
/// `import --atomic`), so a transient failure is not retried: it rolls back
/// and is returned.
pub async fn write_once<T, W>(db: &DatabaseConnection, events: &EventBus, work: W) -> AppResult<T>
where
    W: AsyncFnOnce(&DatabaseTransaction) -> AppResult<Decision<T>>,
{
    let txn = begin_write(db).await?;
    let (decided, recorded) = changes::collecting(work(&txn)).await;
    let decided = match decided {
        Ok(Decision::Commit(value)) => seal(&txn, recorded)
            .await
            .map(|last| Decision::Commit((value, last))),
        Ok(Decision::RollBack(value)) => Ok(Decision::RollBack((value, None))),
        Err(error) => Err(error),
    };
    match decided {
        Ok(Decision::Commit((value, last))) => {
            finish(txn, Ok(())).await?;
            idempotency::committed();
            events.committed(last);
            Ok(value)
        }
        Ok(Decision::RollBack((value, _))) => {
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

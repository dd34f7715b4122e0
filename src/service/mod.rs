//! Every database query and transaction of the service. Functions that run
//! inside a caller's transaction are generic over `ConnectionTrait`.

pub mod changes;
pub mod contacts;
pub mod conversations;
pub mod dismissals;
pub mod duplicates;
pub mod erasure;
pub mod events;
pub mod export;
pub mod health;
pub mod idempotency;
pub mod import;
pub mod import_file;
pub mod import_jobs;
pub mod import_undo;
pub mod list;
pub mod merge;
pub mod merge_choices;
pub mod merge_preview;
pub mod pages;
pub mod persisted;
pub mod relations;
pub mod tokens;
pub mod tx;
pub mod upsert;
pub mod webhooks;
mod write;

use chrono::{DateTime, Utc};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use crate::error::AppResult;

/// Bind parameters per statement on PostgreSQL (at most 65,535): few, large
/// statements, since each costs a round trip.
const PG_MAX_PARAMS: usize = 30_000;
/// Bind parameters per statement on SQLite. Binding by position still looks
/// each parameter's name up in a list (sqlite3_bind_parameter_name), so a
/// statement's binding costs the square of its parameters: at 30,000 that
/// was the largest part of an import's time. Statements are cheap in process.
const SQLITE_MAX_PARAMS: usize = 999;

/// Rows per statement for `columns` parameters a row.
pub(crate) fn chunk_len(backend: sea_orm::DbBackend, columns: usize) -> usize {
    let max = match backend {
        sea_orm::DbBackend::Postgres => PG_MAX_PARAMS,
        _ => SQLITE_MAX_PARAMS,
    };
    (max / columns.max(1)).max(1)
}

/// The columns of an entity's table: the bind parameters one row of an
/// insert takes, counted from the entity rather than by hand.
pub(crate) fn columns_of<E: sea_orm::EntityTrait>() -> usize {
    <E::Column as sea_orm::Iterable>::iter().count()
}

/// Begins a transaction that will write. On SQLite it takes the write lock at
/// once (BEGIN IMMEDIATE), so that concurrent writers wait on the busy timeout
/// instead of failing with "database is locked" when a read lock is upgraded.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Commits on success, rolls back on failure. Rolling back explicitly matters:
/// a dropped transaction is only rolled back when its pooled connection is next
/// used, and until then it holds its locks.
pub async fn finish<T>(txn: DatabaseTransaction, result: AppResult<T>) -> AppResult<T> {
    match result {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(err) => {
            roll_back(txn).await;
            Err(err)
        }
    }
}

/// Rolls back. A rollback that fails leaves its connection to the pool's
/// check, which closes it (see app.rs).
pub(crate) async fn roll_back(txn: DatabaseTransaction) {
    if let Err(rollback) = txn.rollback().await {
        tracing::warn!(error = %rollback, "rollback failed");
    }
}

/// Now, at the millisecond precision timestamps are stored and shown with, so
/// that a timestamp read back compares equal to the one written.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

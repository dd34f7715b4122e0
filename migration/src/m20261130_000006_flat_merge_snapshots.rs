//! Merge snapshots no longer carry the source's merge history (it grew
//! exponentially along chains of merges: the history's records move to the
//! destination anyway). This removes the `mergeHistory` key from snapshots
//! stored before, in the database itself (jsonb `-` on PostgreSQL,
//! `json_remove` on SQLite), a batch of rows at a time: the process holds no
//! snapshot in memory, however large, and a row without the key is left
//! alone, so the migration never fails on existing data and can run again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Rows rewritten per statement.
const BATCH: usize = 200;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let sql = match backend {
            DatabaseBackend::Postgres => format!(
                "UPDATE merge_records SET snapshot = snapshot - 'mergeHistory' \
                 WHERE id IN (SELECT id FROM merge_records WHERE snapshot ? 'mergeHistory' LIMIT {BATCH})"
            ),
            _ => format!(
                "UPDATE merge_records SET snapshot = json_remove(snapshot, '$.mergeHistory') \
                 WHERE id IN (SELECT id FROM merge_records \
                 WHERE json_type(snapshot, '$.mergeHistory') IS NOT NULL LIMIT {BATCH})"
            ),
        };
        loop {
            let done = db
                .execute_raw(Statement::from_string(backend, sql.clone()))
                .await?;
            if done.rows_affected() == 0 {
                return Ok(());
            }
        }
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The nested histories are gone for good; nothing reads them.
        Ok(())
    }
}

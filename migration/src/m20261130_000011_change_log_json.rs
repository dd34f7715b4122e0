//! `contact_changes.changes` becomes `json` (text kept as written) instead
//! of `jsonb` on PostgreSQL. Nothing queries inside an entry: the server
//! writes it once and reads it whole, so jsonb's parse into a tree on every
//! insert was pure cost (a third of a 1,000-row import's log insert). The
//! values and their shape are unchanged (a server of the previous release
//! still running reads and writes the column as before: PostgreSQL casts
//! its jsonb parameters on assignment); SQLite keeps JSON as text already.
//!
//! One `ALTER TABLE ... TYPE json USING changes::json`: PostgreSQL rewrites
//! the table row by row on disk (memory stays flat whatever its size), under
//! the lock migrations run with anyway, and every jsonb value converts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE contact_changes ALTER COLUMN changes TYPE json USING changes::json",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE contact_changes ALTER COLUMN changes TYPE jsonb USING changes::jsonb",
            )
            .await?;
        Ok(())
    }
}

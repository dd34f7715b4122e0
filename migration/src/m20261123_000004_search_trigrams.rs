//! Substring search (`filter.search`) on PostgreSQL: trigram indexes, so a
//! search reads the rows that contain the text instead of every row.
//! SQLite has no trigram index of this kind; there the search scans, as
//! before, and gives the same answers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index name, table, indexed expression): the same expressions the search
/// compares, so the planner can use them.
const INDEXES: [(&str, &str, &str); 4] = [
    (
        "ix_contacts_display_name_trgm",
        "contacts",
        "lower(display_name)",
    ),
    (
        "ix_contacts_organization_name_trgm",
        "contacts",
        "lower(organization_name)",
    ),
    (
        "ix_contacts_external_id_trgm",
        "contacts",
        "lower(external_id)",
    ),
    (
        "ix_contact_handles_search_key_trgm",
        "contact_handles",
        "search_key",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // pg_trgm is a trusted extension (PostgreSQL 13+): the database's
        // owner may create it without superuser rights. It is one per
        // database, so it goes to `public` when there is one, not to the
        // schema being migrated (dropping that schema must not take the
        // extension, and every other schema's indexes, with it). The lock
        // serialises replicas (and tests) migrating at the same moment.
        db.execute_unprepared("SELECT pg_advisory_xact_lock(hashtext('contacts-api:pg_trgm'))")
            .await?;
        db.execute_unprepared(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
                 IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
                   CREATE EXTENSION pg_trgm WITH SCHEMA public;
                 ELSE
                   CREATE EXTENSION pg_trgm;
                 END IF;
               END IF;
             END $$",
        )
        .await?;
        let schema: String = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT quote_ident(n.nspname) AS schema FROM pg_extension e \
                 JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'",
            ))
            .await?
            .ok_or_else(|| DbErr::Migration("pg_trgm was not created".into()))?
            .try_get("", "schema")?;
        for (name, table, expr) in INDEXES {
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expr}) {schema}.gin_trgm_ops)"
            ))
            .await?;
        }
        // A substring's share of rows is estimated from the column's
        // histogram. At the default 100 entries a text found in one contact
        // in forty usually matches none of them and is taken for rare: the
        // planner then reads every match instead of walking the order's index
        // until a page is full. 1,000 entries make that estimate usable.
        for statement in [
            "ALTER INDEX ix_contacts_display_name_trgm ALTER COLUMN 1 SET STATISTICS 1000",
            "ALTER INDEX ix_contacts_organization_name_trgm ALTER COLUMN 1 SET STATISTICS 1000",
            "ALTER INDEX ix_contacts_external_id_trgm ALTER COLUMN 1 SET STATISTICS 1000",
            "ALTER TABLE contact_handles ALTER COLUMN search_key SET STATISTICS 1000",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (name, _, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        Ok(())
    }
}

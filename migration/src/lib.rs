//! Schema migrations. Every migration behaves the same on SQLite and PostgreSQL.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_create_contacts;
mod m20261121_000002_merge_redirects;
mod m20261122_000003_api_tokens;
mod m20261123_000004_search_trigrams;
mod m20261130_000005_handle_verified;
mod m20261130_000006_flat_merge_snapshots;
mod m20261130_000007_idempotency_keys;
mod m20261130_000008_text_keys;
mod m20261130_000009_change_log;
mod m20261130_000010_webhooks;
mod m20261130_000011_change_log_json;
mod m20261130_000012_trusted_documents;
mod m20261130_000013_duplicate_candidates;
mod m20261201_000014_handle_match_keys;
mod m20261201_000015_import_jobs;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_contacts::Migration),
            Box::new(m20261121_000002_merge_redirects::Migration),
            Box::new(m20261122_000003_api_tokens::Migration),
            Box::new(m20261123_000004_search_trigrams::Migration),
            Box::new(m20261130_000005_handle_verified::Migration),
            Box::new(m20261130_000006_flat_merge_snapshots::Migration),
            Box::new(m20261130_000007_idempotency_keys::Migration),
            Box::new(m20261130_000008_text_keys::Migration),
            Box::new(m20261130_000009_change_log::Migration),
            Box::new(m20261130_000010_webhooks::Migration),
            Box::new(m20261130_000011_change_log_json::Migration),
            Box::new(m20261130_000012_trusted_documents::Migration),
            Box::new(m20261130_000013_duplicate_candidates::Migration),
            Box::new(m20261201_000014_handle_match_keys::Migration),
            Box::new(m20261201_000015_import_jobs::Migration),
        ]
    }
}

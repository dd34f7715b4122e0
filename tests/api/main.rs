//! API tests through the real router, on SQLite, or on PostgreSQL when
//! TEST_DATABASE_URL is set.

mod architecture;
mod auth;
mod cli_import;
mod common;
mod contact_query;
mod conversations;
mod create;
mod delete;
mod disk_full;
mod events;
mod filters;
mod hostile;
mod idempotency;
mod import;
mod lifecycle;
mod limits;
mod merge;
mod migrations;
mod node;
mod pagination;
mod phones;
mod process;
mod properties;
mod replicas;
mod schema;
mod scripts;
mod security;
mod server;
mod statements;
mod stress;
mod subscriptions;
mod update;
mod upsert;
mod verified;
mod ws_client;

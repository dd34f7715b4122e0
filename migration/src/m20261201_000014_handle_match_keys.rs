//! Handles are matched and kept unique by a key (`match_key`) instead of
//! their text: a phone's national variants (Brazil's ninth digit,
//! Argentina's mobile 9, Mexico's old mobile 1) fold to one key, so that
//! the two forms of one line find one contact and cannot be held by two;
//! a blocked identifier (`--blocked-identifiers`) has no key, so that it is
//! stored but matches nobody and may be held by many.
//!
//! Existing rows: every handle's key is the handle itself (one UPDATE),
//! except phones of those three countries, re-keyed a batch at a time in
//! id order (bounded memory). Two existing rows whose forms fold together
//! (one line stored in both forms, before this release) cannot share the
//! key: the first by id keeps it, the later one gets a key that matches
//! nothing (`entity::contact_handle::unmatched_key`), so the migration
//! never fails on existing data. Both stay stored; duplicateCandidates
//! pairs the two contacts by that line so that they can be merged.
//! Blocked values written before keep their key until their contact's
//! handles are next written: the list is a server flag, not known here.

use std::collections::HashSet;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value};
use uuid::Uuid;

use crate::m20261130_000008_text_keys::{page, placeholders, update_by_id, BATCH};
use entity::contact_handle::{match_key, unmatched_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContactHandles {
    Table,
    MatchKey,
}

/// Phones whose key can differ from their text: the countries with
/// national variants (see `entity::contact_handle::variant_key`).
const VARIANT_PHONES: &str = "source IN ('phone', 'sms', 'whatsapp') \
     AND (handle LIKE '+55%' OR handle LIKE '+54%' OR handle LIKE '+52%')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ContactHandles::Table)
                    .add_column(ColumnDef::new(ContactHandles::MatchKey).text().null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "UPDATE contact_handles SET match_key = handle WHERE NOT ({VARIANT_PHONES})"
        ))
        .await?;
        key_variant_phones(db).await?;
        db.execute_unprepared("DROP INDEX IF EXISTS ux_contact_handles_source_handle")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_contact_handles_source_match \
             ON contact_handles (source, match_key)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS ux_contact_handles_source_match")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_contact_handles_source_handle \
             ON contact_handles (source, handle)",
        )
        .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ContactHandles::Table)
                    .drop_column(ContactHandles::MatchKey)
                    .to_owned(),
            )
            .await
    }
}

/// Keys the phones of VARIANT_PHONES, BATCH rows at a time; a key some
/// earlier row holds already goes to the later row as a key matching
/// nothing.
async fn key_variant_phones<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut after: Option<Uuid> = None;
    loop {
        // `page` appends `WHERE id > ?` when resuming: the filter goes in
        // a subquery so that both conditions hold.
        let rows = db
            .query_all_raw(page(
                backend,
                &format!(
                    "SELECT id, source, handle FROM \
                     (SELECT id, source, handle FROM contact_handles WHERE {VARIANT_PHONES}) AS p"
                ),
                after,
            ))
            .await?;
        let mut wanted: Vec<(Uuid, String, String)> = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            let source: String = row.try_get("", "source")?;
            let handle: String = row.try_get("", "handle")?;
            wanted.push((id, source.clone(), match_key(&source, &handle)));
            after = Some(id);
        }
        let mut taken = keys_held(db, &wanted).await?;
        let keyed: Vec<(Uuid, Vec<String>)> = wanted
            .into_iter()
            .map(|(id, source, key)| {
                if taken.insert((source, key.clone())) {
                    (id, vec![key])
                } else {
                    (id, vec![unmatched_key(id)])
                }
            })
            .collect();
        update_by_id(db, "contact_handles", &["match_key"], keyed).await?;
        if (rows.len() as u64) < BATCH {
            return Ok(());
        }
    }
}

/// Which of the wanted (source, key) pairs rows hold already.
async fn keys_held<C: ConnectionTrait>(
    db: &C,
    wanted: &[(Uuid, String, String)],
) -> Result<HashSet<(String, String)>, DbErr> {
    let backend = db.get_database_backend();
    let mut held = HashSet::new();
    // 2 parameters a pair, within SQLite's 999.
    for chunk in wanted.chunks(400) {
        let tuples = vec!["(?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT source, match_key FROM contact_handles WHERE (source, match_key) IN (VALUES {tuples})"
        );
        let params: Vec<Value> = chunk
            .iter()
            .flat_map(|(_, source, key)| [Value::from(source.clone()), Value::from(key.clone())])
            .collect();
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                placeholders(backend, &sql),
                params,
            ))
            .await?;
        for row in rows {
            held.insert((row.try_get("", "source")?, row.try_get("", "match_key")?));
        }
    }
    Ok(held)
}

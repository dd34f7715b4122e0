//! Migrations run on a database the previous release left, with its data.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::common::Store;

/// Migrations the release before Handle.verified had.
const PREVIOUS_RELEASE: u32 = 4;

#[tokio::test]
async fn handles_written_before_are_verified() {
    let (url, _store) = Store::create().await;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(PREVIOUS_RELEASE)).await.unwrap();
    let backend = db.get_database_backend();
    let contact = uuid::Uuid::now_v7();
    let now = "2026-11-01T00:00:00Z";
    let run = |sql: String| {
        let db = &db;
        async move {
            db.execute_raw(Statement::from_string(backend, sql))
                .await
                .unwrap();
        }
    };
    let uuid = |u: uuid::Uuid| match backend {
        sea_orm::DbBackend::Postgres => format!("'{u}'"),
        // SeaORM keeps UUIDs in SQLite as 16-byte blobs.
        _ => format!("x'{}'", u.simple()),
    };
    run(format!(
        "INSERT INTO contacts (id, sort_name, contact_type, is_spammer, links, created_at, updated_at) \
         VALUES ({}, '', 'contact', false, '[]', '{now}', '{now}')",
        uuid(contact)
    ))
    .await;
    for (i, handle) in ["a@example.org", "b@example.org"].iter().enumerate() {
        run(format!(
            "INSERT INTO contact_handles (id, contact_id, source, handle, search_key, position) \
             VALUES ({}, {}, 'email', '{handle}', '{handle}', {i})",
            uuid(uuid::Uuid::now_v7()),
            uuid(contact)
        ))
        .await;
    }
    Migrator::up(&db, None).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT verified FROM contact_handles ORDER BY position",
        ))
        .await
        .unwrap();
    let flags: Vec<bool> = rows
        .iter()
        .map(|r| r.try_get::<bool>("", "verified").unwrap())
        .collect();
    assert_eq!(flags, [true, true]);
    // Applied twice: nothing to do, nothing fails.
    Migrator::up(&db, None).await.unwrap();
}

#[tokio::test]
async fn nested_merge_histories_are_flattened_in_batches() {
    let (url, _store) = Store::create().await;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(PREVIOUS_RELEASE + 1)).await.unwrap();
    let backend = db.get_database_backend();
    let uuid = |u: uuid::Uuid| match backend {
        sea_orm::DbBackend::Postgres => format!("'{u}'"),
        _ => format!("x'{}'", u.simple()),
    };
    let now = "2026-11-01T00:00:00Z";
    let contact = uuid::Uuid::now_v7();
    db.execute_raw(Statement::from_string(
        backend,
        format!(
            "INSERT INTO contacts (id, sort_name, contact_type, is_spammer, links, created_at, updated_at) \
             VALUES ({}, '', 'contact', false, '[]', '{now}', '{now}')",
            uuid(contact)
        ),
    ))
    .await
    .unwrap();
    // 450 records (more than one batch): nested histories, and a few flat.
    for i in 0..450 {
        let snapshot = if i % 10 == 0 {
            format!(r#"{{"id":"s{i}","displayName":"S{i}"}}"#)
        } else {
            format!(
                r#"{{"id":"s{i}","displayName":"S{i}","mergeHistory":[{{"snapshot":{{"mergeHistory":[{{"snapshot":{{}}}}]}}}}]}}"#
            )
        };
        db.execute_raw(Statement::from_string(
            backend,
            format!(
                "INSERT INTO merge_records (id, contact_id, source_id, snapshot, merged_at) \
                 VALUES ({}, {}, {}, '{snapshot}', '{now}')",
                uuid(uuid::Uuid::now_v7()),
                uuid(contact),
                uuid(uuid::Uuid::now_v7())
            ),
        ))
        .await
        .unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT snapshot FROM merge_records",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 450);
    for row in rows {
        let snapshot: serde_json::Value = row.try_get("", "snapshot").unwrap();
        assert!(snapshot.get("mergeHistory").is_none(), "{snapshot}");
        assert!(snapshot["displayName"].as_str().unwrap().starts_with('S'));
    }
    Migrator::up(&db, None).await.unwrap();
}

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

/// Migrations of the release before the text keys (sort_name was the
/// lower-cased name; search compared lower() of each column).
const BEFORE_TEXT_KEYS: u32 = 7;

#[tokio::test]
async fn text_keys_are_computed_for_rows_written_before() {
    let (url, store) = Store::create().await;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(BEFORE_TEXT_KEYS)).await.unwrap();
    let backend = db.get_database_backend();
    let uuid = |u: uuid::Uuid| match backend {
        sea_orm::DbBackend::Postgres => format!("'{u}'"),
        _ => format!("x'{}'", u.simple()),
    };
    let now = "2026-11-01T00:00:00Z";
    // More rows than one batch, in an order that is not alphabetical; the
    // old sort key (lower-cased) put accented capitals after z, and the old
    // handle search key (lower-cased) kept ß, which folding makes ss.
    let names = ["Zoë", "Émile", "Çelik", "adam", "Łukasz", "bob"];
    for i in 0..1_100 {
        let name = names[i % names.len()];
        let contact = uuid::Uuid::now_v7();
        db.execute_raw(Statement::from_string(
            backend,
            format!(
                "INSERT INTO contacts (id, display_name, sort_name, organization_name, contact_type, is_spammer, links, created_at, updated_at) \
                 VALUES ({}, '{name} {i:04}', '{}', 'ОРГ {i}', 'contact', false, '[]', '{now}', '{now}')",
                uuid(contact),
                name.to_lowercase()
            ),
        ))
        .await
        .unwrap();
        if i % 100 == 0 {
            db.execute_raw(Statement::from_string(
                backend,
                format!(
                    "INSERT INTO contact_handles (id, contact_id, source, handle, search_key, position, verified) \
                     VALUES ({}, {}, 'email', 'Straße{i}@x.org', 'straße{i}@x.org', 0, true)",
                    uuid(uuid::Uuid::now_v7()),
                    uuid(contact)
                ),
            ))
            .await
            .unwrap();
        }
    }
    drop(db);
    Migrator::up(&Database::connect(&url).await.unwrap(), None)
        .await
        .unwrap();

    // The server on that database finds and orders the old rows.
    let app = crate::common::TestApp::on_store(url, store, &[]).await;
    let data = app
        .data(
            "{ contacts(first: 7, orderBy: {field: DISPLAY_NAME}) { nodes { displayName } } }",
            serde_json::json!({}),
        )
        .await;
    let first: Vec<&str> = data["contacts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["displayName"].as_str().unwrap())
        .collect();
    assert!(first.iter().all(|n| n.starts_with("adam")), "{first:?}");
    for (search, count) in [("орг 100", 11), ("émile 0007", 1), ("STRASSE100@", 1)] {
        let data = app
            .data(
                "query($s: String) { contacts(filter: {search: $s}) { totalCount } }",
                serde_json::json!({ "s": search }),
            )
            .await;
        assert_eq!(data["contacts"]["totalCount"], count, "{search}");
    }
    assert_eq!(
        app.sql_count("SELECT count(*) AS n FROM contacts WHERE search_text = ''")
            .await,
        0
    );
}

/// Migrations of the release before the change log.
const BEFORE_CHANGE_LOG: u32 = 8;

/// Contacts written by the previous release (more than one batch of them,
/// with handles, metadata, groups and conversations) each get a baseline
/// CREATED entry that replays to what they hold.
#[tokio::test]
async fn the_change_log_starts_with_every_existing_contact() {
    use entity::{
        contact, contact_group, contact_group_member, contact_handle, contact_metadata,
        conversation,
    };
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};

    let (url, store) = Store::create().await;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(BEFORE_CHANGE_LOG)).await.unwrap();
    let at = chrono::Utc::now();
    let group = contact_group::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        name: Set("old-group".into()),
        created_at: Set(at),
    }
    .insert(&db)
    .await
    .unwrap();
    for i in 0..620 {
        let mut model = contact::Model {
            id: uuid::Uuid::now_v7(),
            display_name: Some(format!("Old {i}")),
            sort_name: String::new(),
            avatar_url: None,
            title: (i % 3 == 0).then(|| "Title".to_owned()),
            timezone: None,
            gender: None,
            locale: None,
            organization_name: None,
            description: None,
            contact_type: "lead".into(),
            is_spammer: i % 7 == 0,
            external_id: Some(format!("old-{i}")),
            links: serde_json::json!(["https://old.example"]),
            address_organization_name: None,
            address_line1: None,
            address_line2: None,
            address_postcode: None,
            address_city: Some("Paris".into()),
            address_state: None,
            address_country: None,
            created_at: at,
            updated_at: at,
            search_text: String::new(),
        };
        model.refresh_keys();
        let id = model.id;
        model.into_active_model().insert(&db).await.unwrap();
        if i % 10 == 0 {
            let handles = [
                ("email", format!("old{i}@example.org")),
                ("phone", format!("+1617253{i:04};ext=7")),
            ];
            for (position, (source, handle)) in handles.into_iter().enumerate() {
                // The release before had no match_key: the row is written
                // without it and not read back.
                contact_handle::Entity::insert(contact_handle::ActiveModel {
                    id: Set(uuid::Uuid::now_v7()),
                    contact_id: Set(id),
                    source: Set(source.into()),
                    search_key: Set(handle.clone()),
                    handle: Set(handle),
                    position: Set(position as i32),
                    verified: Set(position == 0),
                    match_key: sea_orm::ActiveValue::NotSet,
                })
                .exec_without_returning(&db)
                .await
                .unwrap();
            }
            contact_metadata::ActiveModel {
                contact_id: Set(id),
                key: Set("plan".into()),
                value: Set(serde_json::json!({ "tier": i })),
            }
            .insert(&db)
            .await
            .unwrap();
            contact_group_member::ActiveModel {
                contact_id: Set(id),
                group_id: Set(group.id),
            }
            .insert(&db)
            .await
            .unwrap();
            conversation::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                channel: Set("email".into()),
                contact_id: Set(Some(id)),
                created_at: Set(at),
            }
            .insert(&db)
            .await
            .unwrap();
        }
    }
    drop(db);
    Migrator::up(&Database::connect(&url).await.unwrap(), None)
        .await
        .unwrap();

    let app = crate::common::TestApp::on_store(url, store, &[]).await;
    assert_eq!(
        app.sql_count(
            "SELECT count(*) AS n FROM contact_changes WHERE kind = 'CREATED' \
             AND actor = 'migration' AND source = 'migration'"
        )
        .await,
        620
    );
    assert_eq!(
        app.sql_count("SELECT count(DISTINCT contact_id) AS n FROM contact_changes")
            .await,
        620
    );
    crate::changes::every_history_replays_to_its_contact(&app).await;
    // New writes follow the baseline in the feed.
    let c = app
        .create(serde_json::json!({ "displayName": "New" }))
        .await;
    let data = app
        .data(
            "query($id: ID!) { contact(id: $id) { history { edges { node { kind source } } } } }",
            serde_json::json!({ "id": c["id"] }),
        )
        .await;
    assert_eq!(
        data["contact"]["history"]["edges"][0]["node"],
        serde_json::json!({ "kind": "CREATED", "source": "API" })
    );
}

/// Migrations of the release before handles had match keys.
const BEFORE_MATCH_KEYS: u32 = 13;

#[tokio::test]
async fn handles_written_before_get_match_keys_in_batches() {
    let (url, store) = Store::create().await;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(BEFORE_MATCH_KEYS)).await.unwrap();
    let backend = db.get_database_backend();
    let uuid = |u: uuid::Uuid| match backend {
        sea_orm::DbBackend::Postgres => format!("'{u}'"),
        _ => format!("x'{}'", u.simple()),
    };
    let run = |sql: String| {
        let db = &db;
        async move {
            db.execute_raw(Statement::from_string(backend, sql))
                .await
                .unwrap();
        }
    };
    let now = "2026-11-01T00:00:00Z";
    // 700 Brazilian mobiles (more than one batch), each on a contact of
    // its own, plus one line stored in both forms on two contacts (the
    // ninth-digit duplicate of old), an e-mail and a number with an
    // extension.
    let mut handles: Vec<(&str, String)> = (0..700)
        .map(|i| ("whatsapp", format!("+55119{:08}", 60_000_000 + i)))
        .collect();
    handles.extend([
        ("phone", "+5521987654321".to_owned()),
        ("phone", "+552187654321".to_owned()),
        ("email", "old@example.org".to_owned()),
        ("sms", "+5491123456789;ext=5".to_owned()),
    ]);
    let mut contacts = Vec::new();
    for (source, handle) in &handles {
        let contact = uuid::Uuid::now_v7();
        contacts.push(contact);
        run(format!(
            "INSERT INTO contacts (id, sort_name, contact_type, is_spammer, links, created_at, updated_at, search_text) \
             VALUES ({}, '', 'contact', false, '[]', '{now}', '{now}', '')",
            uuid(contact)
        ))
        .await;
        run(format!(
            "INSERT INTO contact_handles (id, contact_id, source, handle, search_key, position, verified) \
             VALUES ({}, {}, '{source}', '{handle}', '{handle}', 0, true)",
            uuid(uuid::Uuid::now_v7()),
            uuid(contact)
        ))
        .await;
    }
    Migrator::up(&db, None).await.unwrap();
    let key_of = |handle: String| {
        let db = &db;
        async move {
            let row = db
                .query_one_raw(Statement::from_string(
                    backend,
                    format!("SELECT match_key FROM contact_handles WHERE handle = '{handle}'"),
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<Option<String>>("", "match_key").unwrap()
        }
    };
    assert_eq!(
        key_of("+5511960000000".into()).await.as_deref(),
        Some("+551160000000")
    );
    assert_eq!(
        key_of("+5511960000699".into()).await.as_deref(),
        Some("+551160000699")
    );
    assert_eq!(
        key_of("+5521987654321".into()).await.as_deref(),
        Some("+552187654321")
    );
    let second = key_of("+552187654321".into()).await.unwrap();
    assert!(
        second.starts_with('\u{1}'),
        "the later form matches nothing: {second:?}"
    );
    assert_eq!(
        key_of("old@example.org".into()).await.as_deref(),
        Some("old@example.org")
    );
    assert_eq!(
        key_of("+5491123456789;ext=5".into()).await.as_deref(),
        Some("+541123456789;ext=5")
    );
    Migrator::up(&db, None).await.unwrap();
    drop(db);

    // The server on that data: either form finds the first contact, and
    // the two old contacts are a duplicate candidate to merge.
    let app = crate::common::TestApp::on_store(url, store, &[]).await;
    let found = app
        .data(
            "query($h: HandleInput) { contact(handle: $h) { id } }",
            serde_json::json!({ "h": { "source": "phone", "handle": "+552187654321" } }),
        )
        .await;
    assert_eq!(found["contact"]["id"], contacts[700].to_string());
    let candidates = app
        .data(
            "query($c: ID) { duplicateCandidates(contactId: $c, minScore: 0) { edges { node { contactIds reasons { kind } } } } }",
            serde_json::json!({ "c": contacts[701].to_string() }),
        )
        .await;
    let edges = candidates["duplicateCandidates"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 1, "{candidates:#}");
    assert_eq!(edges[0]["node"]["reasons"][0]["kind"], "SAME_PHONE");
}

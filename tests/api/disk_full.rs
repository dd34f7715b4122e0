//! SQLite with its storage full (`PRAGMA max_page_count` caps the file, as
//! a full disk would): writes fail with a clear error and roll back, no
//! write answered ok is lost, and the server recovers when space returns.

use std::collections::HashSet;

use sea_orm::sqlx::{self, Executor, Row};
use serde_json::{json, Value};

use crate::common::{s, TestApp};

/// The test server's pool size (see TestApp::with_args).
const POOL: usize = 8;

/// Sets `max_page_count` on every connection of the server's pool (the
/// pragma is per connection): `None` caps the file at its current size.
async fn cap_storage(app: &TestApp, pages: Option<i64>) {
    let pool = app.state.db.get_sqlite_connection_pool();
    let mut held = Vec::new();
    for _ in 0..POOL {
        held.push(pool.acquire().await.expect("a pooled connection"));
    }
    for conn in &mut held {
        let pages = match pages {
            Some(pages) => pages,
            None => conn
                .fetch_one("PRAGMA page_count")
                .await
                .expect("page_count")
                .get::<i64, _>(0),
        };
        conn.execute(sqlx::AssertSqlSafe(format!(
            "PRAGMA max_page_count = {pages}"
        )))
        .await
        .expect("max_page_count");
    }
}

/// Creates a contact of about 3 KB; a refusal must be HTTP 503.
async fn create(app: &TestApp, i: usize) -> Value {
    let (status, response) = app
        .post_with(&[], json!({
        "query": "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }",
        "variables": { "input": {
            "displayName": format!("Filler {i}"),
            "description": "x".repeat(3000),
            "groupNames": [format!("group {i}")],
            "via": [{ "source": "email", "handle": format!("filler{i}@example.com") }]
        }}}))
        .await;
    let refused = response.get("errors").is_some();
    assert_eq!(
        status.as_u16(),
        if refused { 503 } else { 200 },
        "{response}"
    );
    response
}

/// Ids of the contacts as a fresh connection to the file sees them: what
/// is really committed, not what the server's connections believe.
async fn committed_ids(url: &str) -> HashSet<String> {
    let db = sea_orm::Database::connect(url).await.expect("connect");
    let pool = db.get_sqlite_connection_pool();
    let rows = sqlx::query("SELECT id FROM contacts")
        .fetch_all(pool)
        .await
        .expect("ids");
    let ids = rows
        .iter()
        .map(|row| {
            let id: uuid::Uuid = row.get(0);
            id.to_string()
        })
        .collect();
    db.close().await.expect("close");
    ids
}

#[tokio::test]
async fn a_full_disk_loses_no_acknowledged_write_and_the_server_recovers() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        eprintln!("SQLite only: PostgreSQL's disk cannot be filled from a test");
        return;
    }
    let app = TestApp::new().await;
    let mut acknowledged = HashSet::new();
    for i in 0..5 {
        acknowledged.insert(s(&create(&app, i).await["data"]["createContact"]["id"]).to_owned());
    }

    cap_storage(&app, None).await;
    let mut refused = 0;
    for i in 5..60 {
        let response = create(&app, i).await;
        match response.get("errors") {
            None => {
                acknowledged.insert(s(&response["data"]["createContact"]["id"]).to_owned());
            }
            Some(errors) => {
                refused += 1;
                assert_eq!(
                    errors[0]["extensions"]["reason"],
                    json!("STORAGE_FULL"),
                    "{response}"
                );
            }
        }
    }
    assert!(refused > 0, "the capped file refused no write");
    eprintln!(
        "disk full: {refused} of 55 writes refused, {} acknowledged before space returned",
        acknowledged.len()
    );
    // Reads still work while the disk is full.
    let count = app.data("{ contacts { totalCount } }", json!({})).await;
    assert_eq!(count["contacts"]["totalCount"], json!(acknowledged.len()));

    cap_storage(&app, Some(1 << 30)).await;
    for i in 60..80 {
        let response = create(&app, i).await;
        assert!(
            response.get("errors").is_none(),
            "after space returned: {response}"
        );
        acknowledged.insert(s(&response["data"]["createContact"]["id"]).to_owned());
    }
    let count = app.data("{ contacts { totalCount } }", json!({})).await;
    assert_eq!(count["contacts"]["totalCount"], json!(acknowledged.len()));
    assert_eq!(committed_ids(&app.database_url).await, acknowledged);
}

/// A COMMIT or ROLLBACK that fails (SQLITE_FULL, SQLITE_IOERR, a busy
/// ROLLBACK) leaves the driver counting a transaction it never ended: the
/// connection may still be inside it. Such a connection must never serve
/// again: its next write would become a savepoint inside a transaction
/// nobody commits (answered ok, never committed, the write lock held). Here
/// every pooled connection is left that way, then writes go through the
/// server: each must commit for real.
#[tokio::test]
async fn a_connection_left_inside_a_failed_transaction_never_serves_again() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        eprintln!("SQLite only: the driver state is SQLite's");
        return;
    }
    let app = TestApp::new().await;
    let pool = app.state.db.get_sqlite_connection_pool();
    let mut stuck = Vec::new();
    for _ in 0..POOL {
        let mut outer = pool.begin().await.expect("begin");
        {
            let mut inner = sqlx::Acquire::begin(&mut *outer).await.expect("savepoint");
            // The savepoint ends behind the driver's back, so each rollback
            // the driver tries on drop fails, and BEGIN stays open.
            inner
                .execute("RELEASE SAVEPOINT _sqlx_savepoint_1")
                .await
                .expect("release");
        }
        stuck.push(outer);
    }
    drop(stuck);

    let mut acknowledged = HashSet::new();
    for i in 0..20 {
        let response = create(&app, i).await;
        acknowledged.insert(s(&response["data"]["createContact"]["id"]).to_owned());
    }
    assert_eq!(committed_ids(&app.database_url).await, acknowledged);
}

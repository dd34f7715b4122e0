//! Idempotency-Key: a retried mutation writes once, over HTTP and
//! WebSocket, on one server or two replicas, and a reused key with another
//! request is refused.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use contacts_api::service::idempotency::{self, Claim, KeyPolicy};
use contacts_api::service::tx;
use entity::idempotency_key;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use crate::common::{postgres_only, s, TestApp};
use crate::process::Server;
use crate::ws_client::Subscriber;

const CREATE: &str =
    "mutation($name: String!) { createContact(input: { displayName: $name }) { id displayName } }";

fn body(name: &str) -> Value {
    json!({ "query": CREATE, "variables": { "name": name } })
}

/// Posts `body` with `key` as the Idempotency-Key header; returns status,
/// whether the response says it is a replay (header), and the JSON.
async fn post_keyed(app: &TestApp, key: &str, body: &Value) -> (StatusCode, bool, Value) {
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .unwrap();
    let status = response.status();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, replayed, serde_json::from_slice(&bytes).unwrap())
}

async fn contacts(app: &TestApp) -> i64 {
    app.sql_count("SELECT count(*) AS n FROM contacts").await
}

fn reason(response: &Value) -> &str {
    response["errors"][0]["extensions"]["reason"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_retry_with_the_same_key_writes_once_and_answers_the_first_response() {
    let app = TestApp::new().await;
    let (status, replayed, first) = post_keyed(&app, "k-1", &body("Ada")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!replayed && first.get("errors").is_none(), "{first}");
    let (_, replayed, second) = post_keyed(&app, "k-1", &body("Ada")).await;
    assert!(replayed, "{second}");
    assert_eq!(second["data"], first["data"]);
    assert_eq!(second["extensions"]["idempotentReplayed"], json!(true));
    assert_eq!(contacts(&app).await, 1);

    // Another key is another request.
    let (_, _, third) = post_keyed(&app, "k-2", &body("Ada")).await;
    assert_ne!(third["data"], first["data"]);
    assert_eq!(contacts(&app).await, 2);

    // Variables re-serialised in another key order are the same request.
    let reordered = json!({ "variables": { "name": "Ada" }, "query": CREATE });
    let (_, replayed, _) = post_keyed(&app, "k-1", &reordered).await;
    assert!(replayed);
    assert_eq!(contacts(&app).await, 2);
}

#[tokio::test]
async fn a_used_key_with_another_request_is_refused() {
    let app = TestApp::new().await;
    post_keyed(&app, "k", &body("Ada")).await;
    let (_, _, other) = post_keyed(&app, "k", &body("Grace")).await;
    let error = &other["errors"][0];
    assert_eq!(
        error["extensions"]["code"],
        json!("BAD_USER_INPUT"),
        "{other}"
    );
    assert_eq!(error["extensions"]["field"], json!("idempotencyKey"));
    assert_eq!(contacts(&app).await, 1);

    // Header and extension must agree; bad keys name the field.
    let mut both = body("Ada");
    both["extensions"] = json!({ "idempotencyKey": "other" });
    let (_, _, refused) = post_keyed(&app, "k", &both).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["field"],
        json!("idempotencyKey")
    );
    for bad in ["a b", &"k".repeat(256)] {
        let (_, _, refused) = post_keyed(&app, bad, &body("Ada")).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"],
            json!("BAD_USER_INPUT"),
            "{bad:?}"
        );
    }
    assert_eq!(contacts(&app).await, 1);

    // The header twice with different values is refused; queries ignore
    // the key, whatever it is.
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("idempotency-key", "one")
        .header("idempotency-key", "two")
        .body(Body::from(body("Ada").to_string()))
        .unwrap();
    let (_, twice) = app.request(request).await;
    assert!(twice.contains("several times"), "{twice}");
    let mut query = json!({ "query": "{ contacts { totalCount } }" });
    query["extensions"] = json!({ "idempotencyKey": 123 });
    let (status, _, answered) = post_keyed(&app, "a b", &query).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answered["data"]["contacts"]["totalCount"],
        json!(1),
        "{answered}"
    );
}

#[tokio::test]
async fn a_failed_mutation_keeps_no_key_so_its_retry_runs_again() {
    let app = TestApp::new().await;
    let missing = json!({
        "query": "mutation($id: ID!) { deleteContact(id: $id) }",
        "variables": { "id": uuid::Uuid::now_v7().to_string() }
    });
    let (_, replayed, first) = post_keyed(&app, "gone", &missing).await;
    assert_eq!(
        first["errors"][0]["extensions"]["code"],
        json!("NOT_FOUND"),
        "{first}"
    );
    assert!(!replayed);
    assert_eq!(
        app.sql_count("SELECT count(*) AS n FROM idempotency_keys")
            .await,
        0
    );
    let (_, replayed, _) = post_keyed(&app, "gone", &missing).await;
    assert!(!replayed);
}

#[tokio::test]
async fn concurrent_tries_with_one_key_write_once() {
    let app = TestApp::new().await;
    let request = body("Racer");
    let tries = futures::future::join_all((0..8).map(|_| post_keyed(&app, "race", &request))).await;
    let mut ids = std::collections::HashSet::new();
    for (_, _, response) in &tries {
        match response.get("errors") {
            None => {
                ids.insert(s(&response["data"]["createContact"]["id"]).to_owned());
            }
            Some(_) => assert_eq!(reason(response), "IDEMPOTENCY_KEY_IN_USE", "{response}"),
        }
    }
    assert_eq!(ids.len(), 1, "{tries:?}");
    assert_eq!(contacts(&app).await, 1);
}

#[tokio::test]
async fn a_key_expires_after_its_time() {
    let app = TestApp::with_args(&["--idempotency-ttl-seconds", "1"]).await;
    let (_, _, first) = post_keyed(&app, "short", &body("Ada")).await;
    assert!(first.get("errors").is_none(), "{first}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, replayed, again) = post_keyed(&app, "short", &body("Ada")).await;
    assert!(!replayed && again.get("errors").is_none(), "{again}");
    assert_eq!(contacts(&app).await, 2);
}

/// Rewrites the kept row as a run that died would have left it.
async fn as_if_the_run_died(app: &TestApp, key: &str, committed: bool, held: bool) {
    let held_until = sea_orm::prelude::DateTimeUtc::from(std::time::SystemTime::now())
        + chrono::Duration::seconds(if held { 60 } else { -1 });
    idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Response,
            Expr::value(Option::<String>::None),
        )
        .col_expr(idempotency_key::Column::Committed, Expr::value(committed))
        .col_expr(idempotency_key::Column::HeldUntil, Expr::value(held_until))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(&app.state.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_key_whose_run_died_is_taken_over_only_if_nothing_was_written() {
    let app = TestApp::new().await;
    post_keyed(&app, "k", &body("Ada")).await;

    as_if_the_run_died(&app, "k", false, true).await;
    let (_, _, busy) = post_keyed(&app, "k", &body("Ada")).await;
    assert_eq!(reason(&busy), "IDEMPOTENCY_KEY_IN_USE", "{busy}");
    assert_eq!(busy["errors"][0]["extensions"]["code"], json!("CONFLICT"));

    as_if_the_run_died(&app, "k", true, false).await;
    let (_, _, lost) = post_keyed(&app, "k", &body("Ada")).await;
    assert_eq!(reason(&lost), "IDEMPOTENCY_RESPONSE_LOST", "{lost}");
    assert_eq!(contacts(&app).await, 1);

    as_if_the_run_died(&app, "k", false, false).await;
    let (_, replayed, again) = post_keyed(&app, "k", &body("Ada")).await;
    assert!(!replayed && again.get("errors").is_none(), "{again}");
    assert_eq!(contacts(&app).await, 2);
    let (_, replayed, _) = post_keyed(&app, "k", &body("Ada")).await;
    assert!(replayed);
}

/// A run whose key was taken over meanwhile cannot commit its write: the
/// write and the key's mark commit together, only for the key's owner.
#[tokio::test]
async fn a_write_whose_key_was_taken_over_rolls_back() {
    let app = TestApp::new().await;
    let db = &app.state.db;
    let policy = KeyPolicy {
        ttl: Duration::from_secs(60),
        hold: Duration::from_secs(60),
    };
    let Claim::Run(ticket) = idempotency::claim(db, policy, "token", "t", "f")
        .await
        .unwrap()
    else {
        panic!("a fresh key runs");
    };
    let insert = "INSERT INTO contact_groups (id, name, created_at) VALUES \
                  ('00000000-0000-0000-0000-000000000001', 'g', '2026-01-01T00:00:00Z')";
    let write = || {
        tx::write(db, &app.events, &(), |txn, ()| {
            Box::pin(async move {
                txn.execute_unprepared(insert).await?;
                Ok(())
            })
        })
    };
    // Another run takes the key over.
    idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Owner,
            Expr::value(uuid::Uuid::new_v4()),
        )
        .exec(db)
        .await
        .unwrap();
    let refused = idempotency::within(&ticket, write()).await;
    assert!(
        matches!(refused, Err(contacts_api::error::AppError::KeyInUse)),
        "{refused:?}"
    );
    assert_eq!(
        app.sql_count("SELECT count(*) AS n FROM contact_groups")
            .await,
        0
    );
    // Without a key, the same write commits.
    write().await.unwrap();
    assert_eq!(
        app.sql_count("SELECT count(*) AS n FROM contact_groups")
            .await,
        1
    );
}

#[tokio::test]
async fn the_key_works_over_websocket_and_across_transports() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let mut ws = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    let mut keyed = body("Ada");
    keyed["extensions"] = json!({ "idempotencyKey": "ws-1" });
    ws.operation("1", keyed.clone()).await;
    let first = ws.next(Duration::from_secs(10)).await.unwrap();
    assert!(first.get("errors").is_none(), "{first}");
    ws.operation("2", keyed.clone()).await;
    let second = ws.next(Duration::from_secs(10)).await.unwrap();
    assert_eq!(second["data"], first["data"]);
    assert_eq!(second["extensions"]["idempotentReplayed"], json!(true));
    // The same key over HTTP is the same request.
    let (_, replayed, third) = post_keyed(&app, "ws-1", &body("Ada")).await;
    assert!(replayed);
    assert_eq!(third["data"], first["data"]);
    assert_eq!(contacts(&app).await, 1);
}

#[tokio::test]
async fn two_replicas_share_the_keys() {
    if !postgres_only("two server processes share one PostgreSQL database") {
        return;
    }
    let app = TestApp::new().await; // owns the schema both replicas use
    let first = Server::start(&app.database_url, &[]).await;
    let second = Server::start(&app.database_url, &[]).await;
    let send = |server: &Server, key: &str| {
        server
            .http
            .post(server.url("/graphql"))
            .header("idempotency-key", key)
            .json(&body("Twin"))
            .send()
    };
    // One after the other: the second replica replays the first's answer.
    let a: Value = send(&first, "r-1").await.unwrap().json().await.unwrap();
    let b: Value = send(&second, "r-1").await.unwrap().json().await.unwrap();
    assert!(a.get("errors").is_none(), "{a}");
    assert_eq!(b["data"], a["data"]);
    assert_eq!(b["extensions"]["idempotentReplayed"], json!(true));
    // At once, on both replicas, several times over.
    for round in 0..5 {
        let key = format!("r-race-{round}");
        let (x, y) = tokio::join!(send(&first, &key), send(&second, &key));
        for response in [x, y] {
            let response: Value = response.unwrap().json().await.unwrap();
            if response.get("errors").is_some() {
                assert_eq!(reason(&response), "IDEMPOTENCY_KEY_IN_USE", "{response}");
            }
        }
    }
    assert_eq!(contacts(&app).await, 6);
}

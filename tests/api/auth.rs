//! API tokens, scopes, the loopback rule and the visitor's createOrUpdate.

use axum::body::Body;
use axum::http::Request;
use contacts_api::domain::Scope;
use contacts_api::service::tokens;
use hmac::{KeyInit, Mac};
use serde_json::{json, Value};

use crate::common::TestApp;
use crate::process::{free_port, run};

const QUERY: &str = "{ contacts(first: 1) { totalCount } }";
const MUTATION: &str = "mutation { createContact(input: { displayName: \"X\" }) { id } }";

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("none")
}

async fn post(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Value {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("authorization", b.as_str()))
        .collect();
    let (status, body) = app
        .post_with(&headers, json!({ "query": query, "variables": variables }))
        .await;
    assert_eq!(status, crate::common::status_for(&body), "{body}");
    body
}

#[tokio::test]
async fn scopes_decide_what_a_token_may_do() {
    let app = TestApp::new().await;
    let read = tokens::create(&app.state.db, "reader", Scope::Read)
        .await
        .unwrap();
    let write = tokens::create(&app.state.db, "writer", Scope::Write)
        .await
        .unwrap();

    assert!(post(&app, Some(&read), QUERY, json!({})).await["errors"].is_null());
    assert_eq!(
        code(&post(&app, Some(&read), MUTATION, json!({})).await),
        "FORBIDDEN"
    );
    assert!(post(&app, Some(&write), MUTATION, json!({})).await["errors"].is_null());
    assert!(post(&app, Some(&write), QUERY, json!({})).await["errors"].is_null());

    // With a token in the database, a request without one is refused, even on loopback.
    let body = post(&app, None, QUERY, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Bearer"));
    // A wrong secret, a made-up token, a bad scheme.
    let forged = format!("{}x", &write[..write.len() - 1]);
    for bad in [forged.as_str(), "cat_nothing", "garbage"] {
        assert_eq!(
            code(&post(&app, Some(bad), QUERY, json!({})).await),
            "UNAUTHENTICATED",
            "{bad}"
        );
    }
    let (_, body) = app
        .post_with(
            &[("authorization", &format!("Basic {write}"))],
            json!({ "query": QUERY }),
        )
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED");

    // Revoked: refused at once.
    assert!(tokens::revoke(&app.state.db, "writer").await.unwrap());
    assert_eq!(
        code(&post(&app, Some(&write), QUERY, json!({})).await),
        "UNAUTHENTICATED"
    );
    // Names are unique.
    let again = tokens::create(&app.state.db, "reader", Scope::Write)
        .await
        .unwrap_err();
    assert_eq!(again.code(), "CONFLICT");
}

#[tokio::test]
async fn without_tokens_only_loopback_is_open() {
    let loopback = TestApp::new().await;
    assert!(post(&loopback, None, MUTATION, json!({})).await["errors"].is_null());

    let exposed = TestApp::with_args(&["--listen", "0.0.0.0:8080"]).await;
    assert_eq!(
        code(&post(&exposed, None, QUERY, json!({})).await),
        "UNAUTHENTICATED"
    );

    let insecure = TestApp::with_args(&["--listen", "0.0.0.0:8080", "--insecure-no-auth"]).await;
    assert!(post(&insecure, None, MUTATION, json!({})).await["errors"].is_null());
}

#[tokio::test]
async fn the_server_refuses_to_listen_openly_without_a_token() {
    let app = TestApp::new().await;
    let listen = format!("0.0.0.0:{}", free_port());
    let (ok, _, stderr) = run(&["--database-url", &app.database_url, "--listen", &listen]).await;
    assert!(!ok, "it must not start");
    assert!(
        stderr.contains("no API token exists") && stderr.contains("--insecure-no-auth"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_token_command_prints_the_token_once_and_stores_a_hash() {
    let app = TestApp::new().await;
    let db = ["--database-url", app.database_url.as_str()];
    let (ok, out, err) = run(&[
        &db[..],
        &["token", "create", "--name", "ci", "--scope", "read"],
    ]
    .concat())
    .await;
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap().trim().to_owned();
    assert!(token.starts_with("cat_"), "{out}");
    assert!(post(&app, Some(&token), QUERY, json!({})).await["errors"].is_null());

    let stored = tokens::list(&app.state.db).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!token.contains(&stored[0].secret_hash) && stored[0].secret_hash.len() == 64);

    let (ok, out, _) = run(&[&db[..], &["token", "list"]].concat()).await;
    assert!(
        ok && out.contains("ci\tread") && !out.contains(&token),
        "{out}"
    );
    let (ok, _, _) = run(&[&db[..], &["token", "revoke", "ci"]].concat()).await;
    assert!(ok);
    let (ok, _, err) = run(&[&db[..], &["token", "revoke", "ci"]].concat()).await;
    assert!(!ok && err.contains("no token named"), "{err}");
    assert_eq!(
        code(&post(&app, Some(&token), QUERY, json!({})).await),
        "UNAUTHENTICATED"
    );
}

/// The server remembers verified tokens for --token-cache-seconds: a revoked
/// token keeps working at most that long, a new one works at once, and the
/// "no token yet" answer of the loopback rule expires the same way.
#[tokio::test]
async fn verified_tokens_are_remembered_for_the_cache_time() {
    let app = TestApp::with_args(&["--token-cache-seconds", "3"]).await;
    assert!(post(&app, None, QUERY, json!({})).await["errors"].is_null());
    let token = tokens::create(&app.state.db, "cached", Scope::Read)
        .await
        .unwrap();
    // Created a moment ago: accepted at once (only successes are cached).
    assert!(post(&app, Some(&token), QUERY, json!({})).await["errors"].is_null());
    // Still open to requests without a token until the cached answer expires.
    assert!(post(&app, None, QUERY, json!({})).await["errors"].is_null());

    assert!(tokens::revoke(&app.state.db, "cached").await.unwrap());
    assert!(post(&app, Some(&token), QUERY, json!({})).await["errors"].is_null());
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(
        code(&post(&app, Some(&token), QUERY, json!({})).await),
        "UNAUTHENTICATED"
    );
    // No token left: open again on loopback.
    assert!(post(&app, None, QUERY, json!({})).await["errors"].is_null());
}

fn identifier_hash(secret: &str, external_id: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(external_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn a_visitor_with_a_valid_identifier_hash_needs_no_token() {
    let app = TestApp::with_args(&["--identity-secret", "s3cret"]).await;
    tokens::create(&app.state.db, "admin", Scope::Write)
        .await
        .unwrap();
    let upsert = "mutation($i: CreateOrUpdateContactInput!) { createOrUpdateContact(input: $i) { created contact { id externalId displayName } } }";

    let hash = identifier_hash("s3cret", "visitor-1");
    let body = post(
        &app,
        None,
        upsert,
        json!({ "i": { "externalId": "visitor-1", "identifierHash": hash, "displayName": "V" } }),
    )
    .await;
    assert_eq!(
        body["data"]["createOrUpdateContact"]["created"], true,
        "{body}"
    );
    let body = post(
        &app,
        None,
        upsert,
        json!({ "i": { "externalId": "visitor-1", "identifierHash": hash, "displayName": "V2" } }),
    )
    .await;
    assert_eq!(
        body["data"]["createOrUpdateContact"]["contact"]["displayName"], "V2",
        "{body}"
    );

    // No hash, a wrong hash, no externalId: refused, nothing written.
    for input in [
        json!({ "externalId": "visitor-2", "displayName": "W" }),
        json!({ "externalId": "visitor-2", "identifierHash": hash, "displayName": "W" }),
        json!({ "displayName": "W", "via": [{ "source": "email", "handle": "w@example.org" }] }),
    ] {
        let body = post(&app, None, upsert, json!({ "i": input })).await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    }
    // Nothing else, not even alongside it.
    let both = format!("mutation($i: CreateOrUpdateContactInput!) {{ createOrUpdateContact(input: $i) {{ created }} deleteContact(id: \"{}\") }}", uuid::Uuid::now_v7());
    let body = post(
        &app,
        None,
        &both,
        json!({ "i": { "externalId": "visitor-1", "identifierHash": hash } }),
    )
    .await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    let count = app
        .request(
            Request::post("/graphql")
                .header("content-type", "application/json")
                .header(
                    "authorization",
                    format!(
                        "Bearer {}",
                        tokens::create(&app.state.db, "r", Scope::Read)
                            .await
                            .unwrap()
                    ),
                )
                .body(Body::from(json!({ "query": QUERY }).to_string()))
                .unwrap(),
        )
        .await;
    assert!(count.1.contains("\"totalCount\":1"), "{}", count.1);
}

#[tokio::test]
async fn subscriptions_need_a_token_too() {
    let app = TestApp::new().await;
    let token = tokens::create(&app.state.db, "r", Scope::Read)
        .await
        .unwrap();
    let addr = app.listen().await;
    let refused = crate::ws_client::Subscriber::connect(&addr, "/graphql/ws", json!({})).await;
    assert!(refused.is_err());
    let bad = crate::ws_client::Subscriber::connect(
        &addr,
        "/graphql/ws",
        json!({ "Authorization": "Bearer nope" }),
    )
    .await;
    assert!(bad.is_err());
    crate::ws_client::Subscriber::connect(
        &addr,
        "/graphql/ws",
        json!({ "Authorization": format!("Bearer {token}") }),
    )
    .await
    .expect("a read token may subscribe");
}

#[tokio::test]
async fn token_names_cannot_forge_list_lines() {
    let app = TestApp::new().await;
    for name in [
        "evil\nadmin\twrite\tcreated 2020-01-01T00:00:00Z".to_owned(),
        "x".repeat(101),
    ] {
        let error = tokens::create(&app.state.db, &name, Scope::Read)
            .await
            .unwrap_err();
        assert_eq!(
            (error.code(), error.field()),
            ("BAD_USER_INPUT", Some("name"))
        );
    }
    assert!(tokens::create(&app.state.db, &"x".repeat(100), Scope::Read)
        .await
        .is_ok());
}

#[tokio::test]
async fn refusals_carry_their_http_status_and_challenge() {
    use tower::ServiceExt;
    let app = TestApp::new().await;
    let read = tokens::create(&app.state.db, "reader", Scope::Read)
        .await
        .unwrap();
    let send = |token: Option<String>, query: &'static str| {
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request
            .body(Body::from(json!({ "query": query }).to_string()))
            .unwrap();
        app.router.clone().oneshot(request)
    };
    // No token, and a made-up one: 401 with RFC 6750's challenge.
    for token in [None, Some("ct_madeup".to_owned())] {
        let response = send(token.clone(), QUERY).await.unwrap();
        assert_eq!(response.status(), 401, "{token:?}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
    }
    // A read token writing: 403. Reading: 200.
    assert_eq!(
        send(Some(read.clone()), MUTATION).await.unwrap().status(),
        403
    );
    assert_eq!(send(Some(read), QUERY).await.unwrap().status(), 200);
}

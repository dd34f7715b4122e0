//! Signed webhooks: deliveries after a receiver comes back, signatures,
//! pausing, the command line.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use contacts_api::service::changes::{ChangeKind, Position};
use contacts_api::service::webhooks;
use hmac::{KeyInit, Mac};
use serde_json::{json, Value};

use crate::common::{s, TestApp};
use crate::process::{free_port, run};

/// What a receiver got: (webhook-id, timestamp, signature, body).
type Received = Arc<Mutex<Vec<(String, String, String, String)>>>;

/// A receiver on loopback answering `status`.
async fn receiver(port: u16, status: StatusCode) -> Received {
    let received: Received = Arc::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let kept = kept.clone();
            async move {
                let h = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                kept.lock().unwrap().push((
                    h("webhook-id"),
                    h("webhook-timestamp"),
                    h("webhook-signature"),
                    body,
                ));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    received
}

/// Checks a delivery's signature the way a receiver would (Standard
/// Webhooks), with nothing of the server's code.
fn signature_is_valid(
    secret: &str,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &str,
) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    signature
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_every_entry_signed() {
    let app = TestApp::new().await;
    let port = free_port();
    let hook = webhooks::create(
        &app.state.db,
        &format!("http://127.0.0.1:{port}/hook"),
        &ChangeKind::ALL,
    )
    .await
    .unwrap();
    let mut made = Vec::new();
    for i in 0..20 {
        made.push(s(&app.create(json!({ "displayName": format!("W{i}") })).await["id"]).to_owned());
    }
    app.update(json!({ "id": made[0], "title": "updated" }))
        .await;
    // Down for a while: attempts fail (and are logged) until two have,
    // then it comes back.
    let deadline = Instant::now() + Duration::from_secs(20);
    let failed = loop {
        let failed = webhooks::deliveries(&app.state.db, hook.id, 100)
            .await
            .unwrap();
        if failed.len() >= 2 || Instant::now() > deadline {
            break failed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        failed.len() >= 2 && failed.iter().all(|d| !d.delivered),
        "{failed:?}"
    );
    let received = receiver(port, StatusCode::NO_CONTENT).await;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let ids: HashSet<String> = received
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.0.clone())
            .collect();
        if ids.len() >= 21 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = received.lock().unwrap().clone();
    let mut seen = HashSet::new();
    let mut last = Position::START;
    let mut kinds = Vec::new();
    for (id, timestamp, signature, body) in &got {
        assert!(
            signature_is_valid(&hook.secret, id, timestamp, signature, body),
            "{id}"
        );
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["data"]["cursor"], json!(id));
        if seen.insert(id.clone()) {
            // First deliveries come in log order; a repeat is the same entry again.
            let at = Position::parse("id", id).unwrap();
            assert!(at > last, "out of order: {id}");
            last = at;
            kinds.push(body["type"].as_str().unwrap().to_owned());
        }
    }
    if seen.len() != 21 {
        let log = webhooks::deliveries(&app.state.db, hook.id, 1000)
            .await
            .unwrap();
        let hooks = webhooks::list(&app.state.db).await.unwrap();
        panic!(
            "{} of 21 delivered: {got:?}\nattempts: {log:?}\nendpoint: {hooks:?}",
            seen.len()
        );
    }
    assert_eq!(kinds.iter().filter(|k| *k == "contact.created").count(), 20);
    assert_eq!(kinds.last().map(String::as_str), Some("contact.updated"));
    let log = webhooks::deliveries(&app.state.db, hook.id, 1000)
        .await
        .unwrap();
    assert_eq!(log.iter().filter(|d| d.delivered).count(), got.len());
    let listed = webhooks::list(&app.state.db).await.unwrap();
    assert_eq!((listed[0].failures, listed[0].paused), (0, false));
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_paused_until_resumed() {
    let app = TestApp::with_args(&["--webhook-max-failures", "2"]).await;
    let port = free_port();
    let received = receiver(port, StatusCode::INTERNAL_SERVER_ERROR).await;
    let hook = webhooks::create(
        &app.state.db,
        &format!("http://127.0.0.1:{port}/hook"),
        &[ChangeKind::Deleted],
    )
    .await
    .unwrap();
    // Not wanted: nothing is sent for a CREATED entry.
    let c = app.create(json!({ "displayName": "Gone soon" })).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(received.lock().unwrap().is_empty());
    app.data(
        "mutation($id: ID!) { deleteContact(id: $id) }",
        json!({ "id": c["id"] }),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let paused = loop {
        let hook = webhooks::list(&app.state.db).await.unwrap().remove(0);
        if hook.paused || Instant::now() > deadline {
            break hook;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(paused.paused, "{paused:?}");
    assert_eq!(paused.failures, 2);
    assert_eq!(paused.last_error.as_deref(), Some("answered HTTP 500"));
    let attempts = received.lock().unwrap().len();
    assert_eq!(attempts, 2);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        received.lock().unwrap().len(),
        2,
        "paused: no more attempts"
    );
    assert!(webhooks::resume(&app.state.db, hook.id).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().len() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(received.lock().unwrap().len() >= 3, "resumed: tried again");
}

#[tokio::test]
async fn webhooks_are_managed_from_the_command_line() {
    let app = TestApp::new().await;
    let url = app.database_url.clone();
    let (ok, out, err) = run(&[
        "webhook",
        "create",
        "--url",
        "https://example.org/hook",
        "--events",
        "created,merged",
        "--database-url",
        &url,
    ])
    .await;
    assert!(ok, "{err}");
    let secret = out.lines().last().unwrap();
    assert!(secret.starts_with("whsec_"), "{out}");
    let (ok, listed, _) = run(&["webhook", "list", "--database-url", &url]).await;
    assert!(ok);
    assert!(
        listed.contains("https://example.org/hook\tCREATED,MERGED\tactive"),
        "{listed}"
    );
    assert!(!listed.contains(secret), "the secret is shown once");
    let id = listed.split('\t').next().unwrap().to_owned();
    let (ok, _, err) = run(&[
        "webhook",
        "create",
        "--url",
        "ftp://x",
        "--database-url",
        &url,
    ])
    .await;
    assert!(!ok && err.contains("url"), "{err}");
    let (ok, _, err) = run(&[
        "webhook",
        "create",
        "--url",
        "http://x.org",
        "--events",
        "SOLD",
        "--database-url",
        &url,
    ])
    .await;
    assert!(!ok && err.contains("SOLD"), "{err}");
    let (ok, _, _) = run(&["webhook", "delete", &id, "--database-url", &url]).await;
    assert!(ok);
    let (_, listed, _) = run(&["webhook", "list", "--database-url", &url]).await;
    assert_eq!(listed.trim(), "no webhooks");
}

/// An endpoint that answers slowly holds up only itself.
#[tokio::test]
async fn a_slow_endpoint_does_not_hold_up_another() {
    let app = TestApp::new().await;
    let slow_port = free_port();
    // Set once the slow endpoint has answered its first delivery.
    let slow_answered = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answered = slow_answered.clone();
    let slow = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let answered = answered.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(15)).await;
                answered.store(true, std::sync::atomic::Ordering::SeqCst);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", slow_port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, slow).await });
    let fast_port = free_port();
    let fast = receiver(fast_port, StatusCode::NO_CONTENT).await;
    let mut hooks = Vec::new();
    for port in [slow_port, fast_port] {
        let hook = webhooks::create(
            &app.state.db,
            &format!("http://127.0.0.1:{port}/hook"),
            &ChangeKind::ALL,
        )
        .await
        .unwrap();
        hooks.push(hook.id);
    }
    for i in 0..3 {
        app.create(json!({ "displayName": format!("F{i}") })).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The fast endpoint gets all three while the slow one still holds its
    // first: it did not wait for it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while fast.lock().unwrap().len() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fast.lock().unwrap().len(), 3);
    assert!(
        !slow_answered.load(std::sync::atomic::Ordering::SeqCst),
        "the fast endpoint's deliveries came only after the slow one answered"
    );
    // Nor after the slow one's first attempt gave up (the client's timeout
    // is shorter than the slow answer): that attempt is still in flight,
    // so none of the slow endpoint's attempts is logged yet.
    let slow_attempts = webhooks::deliveries(&app.state.db, hooks[0], 100)
        .await
        .unwrap();
    assert!(slow_attempts.is_empty(), "{slow_attempts:?}");
}

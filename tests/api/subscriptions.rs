//! Subscription.contactEvents over graphql-transport-ws, in process.

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{s, TestApp};
use crate::ws_client::Subscriber;

pub const EVENTS: &str = "subscription($ids: [ID!]) { contactEvents(ids: $ids) { kind contactId mergedIntoId at contact { id title } } }";
pub const WAIT: Duration = Duration::from_secs(10);

/// Makes sure the subscription is live: changes a contact's title through
/// `update` until the subscriber sees that very change. Events arrive in
/// order, so nothing older is left to read afterwards. The event of an
/// earlier round can arrive after a later round's commit and then shows the
/// later title (the contact is read at delivery), so a match must also be
/// published after the round began, and be an UPDATED event.
pub async fn sync<F, Fut>(sub: &mut Subscriber, mut update: F)
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = ()>,
{
    for round in 0..50 {
        let marker = format!("sync-{round}-{}", uuid::Uuid::now_v7());
        // Event times are in whole milliseconds.
        let began = chrono::Utc::now() - chrono::Duration::milliseconds(1);
        update(marker.clone()).await;
        while let Some(event) = sub.next(Duration::from_millis(300)).await {
            let event = &event["data"]["contactEvents"];
            let at = chrono::DateTime::parse_from_rfc3339(s(&event["at"])).unwrap();
            // Only an UPDATED event is the round's own: the CREATED event of a
            // contact made just before the subscription went live can arrive
            // late and show the round's title too.
            if event["kind"] == "UPDATED"
                && event["contact"]["title"] == json!(marker)
                && at >= began
            {
                return;
            }
        }
    }
    panic!("the subscription never went live");
}

pub async fn next_event(sub: &mut Subscriber) -> Value {
    let payload = sub.next(WAIT).await.expect("an event in time");
    assert!(payload.get("errors").is_none(), "{payload}");
    payload["data"]["contactEvents"].clone()
}

/// Where the changes are made: the in-process router or a server process.
pub trait Api {
    /// Runs a document that must succeed; returns its data.
    async fn run(&self, query: &str, variables: Value) -> Value;

    async fn create(&self, name: &str, title: &str) -> String {
        let d = self
            .run(
                "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
                json!({ "i": { "displayName": name, "title": title } }),
            )
            .await;
        s(&d["createContact"]["id"]).to_owned()
    }

    async fn set_title(&self, id: &str, title: &str) {
        self.run(
            "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id } }",
            json!({ "i": { "id": id, "title": title } }),
        )
        .await;
    }
}

impl Api for TestApp {
    async fn run(&self, query: &str, variables: Value) -> Value {
        self.data(query, variables).await
    }
}

/// Subscribes to every event through `sub` and checks that CREATED, UPDATED,
/// MERGED and DELETED made through `api` arrive, in order.
pub async fn every_kind_arrives_in_order(sub: &mut Subscriber, api: &impl Api) {
    let anchor = api.create("Anchor", "").await;
    sub.subscribe("all", EVENTS, json!({})).await;
    sync(sub, |t| {
        let anchor = anchor.clone();
        async move { api.set_title(&anchor, &t).await }
    })
    .await;

    let c = api.create("C", "new").await;
    let e = next_event(sub).await;
    assert_eq!((s(&e["kind"]), s(&e["contactId"])), ("CREATED", c.as_str()));
    assert_eq!(e["contact"]["title"], "new");
    assert!(e["at"].is_string());

    api.set_title(&c, "changed").await;
    let e = next_event(sub).await;
    assert_eq!(
        (s(&e["kind"]), e["contact"]["title"].clone()),
        ("UPDATED", json!("changed"))
    );

    api.run(
        "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id } }",
        json!({ "s": c, "d": anchor }),
    )
    .await;
    let e = next_event(sub).await;
    assert_eq!((s(&e["kind"]), s(&e["contactId"])), ("MERGED", c.as_str()));
    assert_eq!(s(&e["mergedIntoId"]), anchor);
    assert!(e["contact"].is_null(), "the source of a merge is gone: {e}");
    let e = next_event(sub).await;
    assert_eq!(
        (s(&e["kind"]), s(&e["contactId"])),
        ("UPDATED", anchor.as_str())
    );

    api.run(
        "mutation($id: ID!) { deleteContact(id: $id) }",
        json!({ "id": anchor }),
    )
    .await;
    let e = next_event(sub).await;
    assert_eq!(
        (s(&e["kind"]), s(&e["contactId"])),
        ("DELETED", anchor.as_str())
    );
    assert!(e["contact"].is_null());
}

#[tokio::test]
async fn a_subscriber_sees_every_kind_of_change_in_order() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let mut sub = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    every_kind_arrives_in_order(&mut sub, &app).await;
}

#[tokio::test]
async fn ids_filter_the_events() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let watched_id = Api::create(&app, "Watched", "").await;
    let other = Api::create(&app, "Other", "").await;

    let mut sub = Subscriber::connect(&addr, "/graphql", json!({}))
        .await
        .unwrap();
    sub.subscribe("w", EVENTS, json!({ "ids": [watched_id] }))
        .await;
    sync(&mut sub, |t| {
        let (app, id) = (&app, watched_id.clone());
        async move { app.set_title(&id, &t).await }
    })
    .await;
    app.set_title(&other, "not watched").await;
    Api::create(&app, "Neither", "").await;
    app.set_title(&watched_id, "watched").await;
    let e = next_event(&mut sub).await;
    assert_eq!(
        (s(&e["contactId"]), e["contact"]["title"].clone()),
        (watched_id.as_str(), json!("watched"))
    );

    // A malformed id is a clear error on the subscription, naming the argument.
    sub.subscribe("bad", EVENTS, json!({ "ids": ["nope"] }))
        .await;
    let frame = sub.message(WAIT).await.expect("an answer");
    let text = frame.into_text().unwrap().to_string();
    assert!(
        text.contains("BAD_USER_INPUT") && text.contains("ids[0]"),
        "{text}"
    );
}

#[tokio::test]
async fn a_slow_subscriber_never_holds_up_a_mutation() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let anchor = Api::create(&app, "Anchor", "").await;
    let mut slow = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    slow.subscribe("slow", EVENTS, json!({})).await;
    sync(&mut slow, |t| {
        let (app, anchor) = (&app, anchor.clone());
        async move { app.set_title(&anchor, &t).await }
    })
    .await;

    // More events than a subscriber may fall behind by, while it reads nothing.
    let rows: Vec<Value> = (0..5_000)
        .map(|i| json!({ "displayName": format!("P{i}") }))
        .collect();
    let imported = app
        .run(
            "mutation($i: ImportContactsInput!) { importContacts(input: $i) { createdCount } }",
            json!({ "i": { "contacts": rows } }),
        )
        .await;
    assert_eq!(imported["importContacts"]["createdCount"], 5_000);
    for i in 0..20 {
        app.set_title(&anchor, &format!("busy-{i}")).await;
    }
    // Still connected: it loses what it fell behind by, then gets what follows.
    app.set_title(&anchor, "after").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let e = next_event(&mut slow).await;
        if e["contact"]["title"] == "after" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never caught up");
    }
}

/// graphql-transport-ws: a subscribe refused before it runs (it does not
/// validate, or lacks a required variable) is answered with one `error`
/// message and no `complete`; the socket serves the next subscribe.
#[tokio::test]
async fn a_subscribe_that_fails_validation_gets_an_error_message() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let mut sub = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    for (id, payload) in [
        ("bad", json!({ "query": "subscription { nope }" })),
        (
            "unset",
            json!({ "query": "subscription($ids: [ID!]!) { contactEvents(ids: $ids) { kind } }" }),
        ),
    ] {
        sub.operation(id, payload).await;
        let frame = sub.frame(Duration::from_secs(10)).await.expect("a frame");
        assert_eq!(frame["type"], "error", "{frame}");
        assert_eq!(frame["id"], id, "{frame}");
        assert_eq!(
            frame["payload"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{frame}"
        );
    }
    sub.subscribe("ok", "subscription { contactEvents { kind } }", json!({}))
        .await;
    // The subscription is live once a change made now reaches it.
    let mut frame = Value::Null;
    for _ in 0..50 {
        app.create(json!({ "displayName": "After the errors" }))
            .await;
        if let Some(f) = sub.frame(Duration::from_millis(200)).await {
            frame = f;
            break;
        }
    }
    assert_eq!(
        (frame["type"].as_str(), frame["id"].as_str()),
        (Some("next"), Some("ok")),
        "{frame}"
    );
}

/// graphql-transport-ws's own rules: a subscribe before connection_init
/// closes the socket with 4401, a second subscribe with a running id with
/// 4409.
#[tokio::test]
async fn the_protocols_rules_close_the_socket_with_their_codes() {
    use tokio_tungstenite::tungstenite::Message;
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let close_code = |message: Option<Message>| match message {
        Some(Message::Close(Some(frame))) => u16::from(frame.code),
        other => panic!("expected a close frame, got {other:?}"),
    };
    let subscribe = |id: &str| json!({ "id": id, "type": "subscribe", "payload": { "query": "subscription { contactEvents { kind } }" } });

    let mut early = Subscriber::open(&addr, "/graphql/ws").await.unwrap();
    early.send(subscribe("1")).await;
    assert_eq!(
        close_code(early.message(Duration::from_secs(10)).await),
        4401
    );

    let mut twice = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    twice.send(subscribe("1")).await;
    twice.send(subscribe("1")).await;
    assert_eq!(
        close_code(twice.message(Duration::from_secs(10)).await),
        4409
    );

    // An id is free again once its operation completed.
    let mut again = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    again.send(subscribe("1")).await;
    again.send(json!({ "id": "1", "type": "complete" })).await;
    again.send(subscribe("1")).await;
    let mut frame = Value::Null;
    for _ in 0..50 {
        app.create(json!({ "displayName": "Reused id" })).await;
        if let Some(f) = again.frame(Duration::from_millis(200)).await {
            frame = f;
            break;
        }
    }
    assert_eq!(
        (frame["type"].as_str(), frame["id"].as_str()),
        (Some("next"), Some("1")),
        "{frame}"
    );
}

/// --trusted-documents holds on the WebSocket too (the gate is shared): an
/// unregistered subscription is refused with an `error` message.
#[tokio::test]
async fn trusted_documents_hold_on_the_websocket() {
    let app = TestApp::with_args(&["--trusted-documents"]).await;
    let addr = app.listen().await;
    let mut sub = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    sub.subscribe("u", "subscription { contactEvents { kind } }", json!({}))
        .await;
    let frame = sub.frame(Duration::from_secs(10)).await.expect("a frame");
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(
        frame["payload"][0]["extensions"]["code"], "FORBIDDEN",
        "{frame}"
    );
}

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
/// order, so nothing older is left to read afterwards.
pub async fn sync<F, Fut>(sub: &mut Subscriber, mut update: F)
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = ()>,
{
    for round in 0..50 {
        let marker = format!("sync-{round}-{}", uuid::Uuid::now_v7());
        update(marker.clone()).await;
        while let Some(event) = sub.next(Duration::from_millis(300)).await {
            if event["data"]["contactEvents"]["contact"]["title"] == json!(marker) {
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
    let watched = app.create(json!({ "displayName": "Watched" })).await;
    let other = app.create(json!({ "displayName": "Other" })).await;
    let watched_id = s(&watched["id"]).to_owned();

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
    app.set_title(s(&other["id"]), "not watched").await;
    app.create(json!({ "displayName": "Neither" })).await;
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

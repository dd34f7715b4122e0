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

async fn set_title(app: &TestApp, id: &str, title: &str) {
    app.update(json!({ "id": id, "title": title })).await;
}

#[tokio::test]
async fn a_subscriber_sees_every_kind_of_change_in_order() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let anchor = app.create(json!({ "displayName": "Anchor" })).await;
    let anchor_id = s(&anchor["id"]).to_owned();

    let mut sub = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    sub.subscribe("1", EVENTS, json!({})).await;
    sync(&mut sub, |t| {
        let (app, id) = (&app, anchor_id.clone());
        async move { set_title(app, &id, &t).await }
    })
    .await;

    let c = app
        .create(json!({ "displayName": "C", "title": "new" }))
        .await;
    let c_id = s(&c["id"]).to_owned();
    let e = next_event(&mut sub).await;
    assert_eq!(
        (s(&e["kind"]), s(&e["contactId"])),
        ("CREATED", c_id.as_str())
    );
    assert_eq!(e["contact"]["title"], "new");
    assert!(e["at"].is_string());

    set_title(&app, &c_id, "changed").await;
    let e = next_event(&mut sub).await;
    assert_eq!(
        (s(&e["kind"]), e["contact"]["title"].clone()),
        ("UPDATED", json!("changed"))
    );

    app.data(
        "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id } }",
        json!({ "s": c_id, "d": anchor_id }),
    )
    .await;
    let e = next_event(&mut sub).await;
    assert_eq!(
        (s(&e["kind"]), s(&e["contactId"])),
        ("MERGED", c_id.as_str())
    );
    assert_eq!(s(&e["mergedIntoId"]), anchor_id);
    assert!(e["contact"].is_null(), "the source of a merge is gone: {e}");
    let e = next_event(&mut sub).await;
    assert_eq!(
        (s(&e["kind"]), s(&e["contactId"])),
        ("UPDATED", anchor_id.as_str())
    );

    app.data(
        "mutation($id: ID!) { deleteContact(id: $id) }",
        json!({ "id": anchor_id }),
    )
    .await;
    let e = next_event(&mut sub).await;
    assert_eq!(
        (s(&e["kind"]), s(&e["contactId"])),
        ("DELETED", anchor_id.as_str())
    );
    assert!(e["contact"].is_null());
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
        async move { set_title(app, &id, &t).await }
    })
    .await;
    set_title(&app, s(&other["id"]), "not watched").await;
    app.create(json!({ "displayName": "Neither" })).await;
    set_title(&app, &watched_id, "watched").await;
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

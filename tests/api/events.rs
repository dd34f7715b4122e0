use contacts_api::service::changes::ChangeKind::{self as EventKind, Created, Deleted, Updated};
use serde_json::json;
use uuid::Uuid;

use crate::common::{s, TestApp};

fn id(v: &serde_json::Value) -> Uuid {
    Uuid::parse_str(s(v)).unwrap()
}

/// Every committed change publishes one event; failed or empty changes publish none.
#[tokio::test]
async fn every_committed_change_publishes_an_event() {
    let app = TestApp::new().await;
    let mut rx = app
        .events
        .subscribe(std::time::Duration::from_secs(10))
        .await;
    let mut want: Vec<(EventKind, Uuid)> = Vec::new();

    let a = app.create(json!({ "displayName": "A", "via": [{ "source": "email", "handle": "a@example.org" }] })).await;
    want.push((Created, id(&a["id"])));
    app.update(json!({ "id": a["id"], "title": "T" })).await;
    want.push((Updated, id(&a["id"])));
    app.update(json!({ "id": a["id"], "title": "T" })).await; // no change, no event

    let (code, _, _) = app
        .error(
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
            json!({ "i": { "via": [{ "source": "email", "handle": "a@example.org" }] } }),
        )
        .await;
    assert_eq!(code, "CONFLICT"); // rolled back, no event

    let upsert = "mutation($i: CreateOrUpdateContactInput!) { createOrUpdateContact(input: $i) { contact { id } } }";
    let b = app
        .data(
            upsert,
            json!({ "i": { "externalId": "b", "displayName": "B" } }),
        )
        .await;
    let b = b["createOrUpdateContact"]["contact"]["id"].clone();
    want.push((Created, id(&b)));
    app.data(
        upsert,
        json!({ "i": { "externalId": "b", "title": "now" } }),
    )
    .await;
    want.push((Updated, id(&b)));

    let link =
        "mutation($i: LinkConversationInput!) { linkConversation(input: $i) { contact { id } } }";
    let conv = Uuid::now_v7().to_string();
    app.data(
        link,
        json!({ "i": { "conversationId": conv, "channel": "facebook", "contactId": a["id"] } }),
    )
    .await;
    want.push((Updated, id(&a["id"])));
    app.data(
        link,
        json!({ "i": { "conversationId": conv, "channel": "facebook", "contactId": b } }),
    )
    .await;
    want.push((Updated, id(&b)));
    want.push((Updated, id(&a["id"])));
    let fresh = app
        .data(link, json!({ "i": { "conversationId": Uuid::now_v7().to_string(), "channel": "sms", "handle": { "source": "sms", "handle": "+16172531000" } } }))
        .await;
    want.push((Created, id(&fresh["linkConversation"]["contact"]["id"])));

    app.data(
        "mutation($id: ID!) { deleteContact(id: $id) }",
        json!({ "id": a["id"] }),
    )
    .await;
    want.push((Deleted, id(&a["id"])));

    // On PostgreSQL events come back through NOTIFY, a moment later.
    let wait = std::time::Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < want.len() {
        let event = tokio::time::timeout(wait, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("only {got:?} of {want:?}"))
            .unwrap();
        assert_eq!(event.merged_into_id, None);
        got.push((event.kind, event.contact_id));
    }
    assert_eq!(got, want);
    let quiet = std::time::Duration::from_millis(300);
    assert!(
        tokio::time::timeout(quiet, rx.recv()).await.is_err(),
        "one event too many"
    );
}

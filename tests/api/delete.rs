use serde_json::json;

use crate::common::{s, TestApp};

#[tokio::test]
async fn delete_removes_contact_and_unlinks_conversations() {
    let app = TestApp::new().await;
    let conversation = "ea1cba21-2bd6-477c-9a40-59cd9bb96bef";
    let c = app
        .create(json!({
            "displayName": "Doomed",
            "externalId": "gone-1",
            "groupNames": ["g"],
            "via": [{ "source": "email", "handle": "doomed@example.org" }],
            "metadata": { "k": "v" },
            "conversations": [{ "id": conversation, "channel": "facebook" }]
        }))
        .await;
    let id = s(&c["id"]);
    let data = app
        .data(
            "mutation($id: ID!) { deleteContact(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["deleteContact"], id);
    assert_eq!(app.get(id).await, json!(null));

    // The conversation stays, unlinked.
    let data = app
        .data(
            "query($id: ID!) { node(id: $id) { id ... on Conversation { channel contact { id } } } }",
            json!({ "id": conversation }),
        )
        .await;
    assert_eq!(
        data["node"],
        json!({ "id": conversation, "channel": "facebook", "contact": null })
    );

    // Handle and externalId are free again; the group has no member left.
    let again = app
        .create(json!({ "externalId": "gone-1", "via": [{ "source": "email", "handle": "doomed@example.org" }] }))
        .await;
    assert_eq!(again["externalId"], "gone-1");
    let data = app
        .data(
            "{ contacts(filter: {groupName: \"g\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data["contacts"]["totalCount"], 0);
}

#[tokio::test]
async fn delete_unknown_or_malformed_id() {
    let app = TestApp::new().await;
    let q = "mutation($id: ID!) { deleteContact(id: $id) }";
    let (code, field, _) = app
        .error(q, json!({ "id": "01900000-0000-7000-8000-000000000000" }))
        .await;
    assert_eq!((code.as_str(), field.as_deref()), ("NOT_FOUND", Some("id")));
    let (code, field, _) = app.error(q, json!({ "id": "12" })).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("id"))
    );
}

use serde_json::{json, Value};

use crate::common::{s, TestApp};

const LINK: &str = "mutation($input: LinkConversationInput!) {
    linkConversation(input: $input) { id channel createdAt contact { id displayName contactType via { source handle } } } }";

async fn link(app: &TestApp, input: Value) -> Value {
    app.data(LINK, json!({ "input": input })).await["linkConversation"].clone()
}

async fn conversation_ids(app: &TestApp, contact_id: &str) -> Vec<String> {
    let c = app.get(contact_id).await;
    c["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["id"]).to_owned())
        .collect()
}

const CONV: &str = "ea1cba21-2bd6-477c-9a40-59cd9bb96bef";

#[tokio::test]
async fn links_to_a_given_contact() {
    let app = TestApp::new().await;
    let c = app.create(json!({ "displayName": "Owner" })).await;
    let linked = link(
        &app,
        json!({ "conversationId": CONV, "channel": "facebook", "contactId": c["id"] }),
    )
    .await;
    assert_eq!(linked["id"], CONV);
    assert_eq!(linked["channel"], "facebook");
    assert_eq!(linked["contact"]["id"], c["id"]);
    let found = app
        .data(
            "query($id: ID) { contact(conversationId: $id) { id } }",
            json!({ "id": CONV }),
        )
        .await;
    assert_eq!(found["contact"]["id"], c["id"]);
    assert_eq!(conversation_ids(&app, s(&c["id"])).await, [CONV]);
    assert!(s(&app.get(s(&c["id"])).await["updatedAt"]) >= s(&c["updatedAt"]));
}

#[tokio::test]
async fn links_to_the_owner_of_a_handle_or_a_new_contact() {
    let app = TestApp::new().await;
    let owner = app.create(json!({ "displayName": "Known", "via": [{ "source": "phone", "handle": "+16172531000" }] })).await;
    let linked = link(
        &app,
        json!({ "conversationId": CONV, "channel": "twilio.sms", "handle": { "source": "phone", "handle": "617 253 1000" } }),
    )
    .await;
    assert_eq!(linked["contact"]["id"], owner["id"]);

    let other = "8904adee-38b4-493b-a4d8-272e2e5a6815";
    let linked = link(
        &app,
        json!({ "conversationId": other, "channel": "facebook", "displayName": "New Person", "handle": { "source": "facebook", "handle": "psid-1" } }),
    )
    .await;
    let contact = &linked["contact"];
    assert_ne!(contact["id"], owner["id"]);
    assert_eq!(contact["displayName"], "New Person");
    assert_eq!(contact["contactType"], "contact");
    assert_eq!(
        contact["via"],
        json!([{ "source": "facebook", "handle": "psid-1" }])
    );
    assert_eq!(conversation_ids(&app, s(&contact["id"])).await, [other]);
}

#[tokio::test]
async fn a_conversation_with_nothing_known_gets_a_placeholder_contact() {
    let app = TestApp::new().await;
    let linked = link(
        &app,
        json!({ "conversationId": CONV, "channel": "chatplugin" }),
    )
    .await;
    let contact = &linked["contact"];
    assert_eq!(contact["displayName"], json!(null));
    assert_eq!(contact["via"], json!([]));
    assert_eq!(conversation_ids(&app, s(&contact["id"])).await, [CONV]);
}

#[tokio::test]
async fn linking_again_moves_the_conversation_created_with_a_contact() {
    let app = TestApp::new().await;
    let first = app
        .create(json!({ "displayName": "First", "conversations": [{ "id": CONV, "channel": "facebook" }] }))
        .await;
    let created_at = first["conversations"][0]["createdAt"].clone();
    let second = app.create(json!({ "displayName": "Second" })).await;
    let moved = link(
        &app,
        json!({ "conversationId": CONV, "channel": "facebook", "contactId": second["id"] }),
    )
    .await;
    assert_eq!(moved["contact"]["id"], second["id"]);
    assert_eq!(moved["createdAt"], created_at, "the same conversation row");
    assert_eq!(
        conversation_ids(&app, s(&first["id"])).await,
        Vec::<String>::new()
    );
    assert_eq!(conversation_ids(&app, s(&second["id"])).await, [CONV]);
    // Linking where it already is changes nothing.
    let again = link(
        &app,
        json!({ "conversationId": CONV, "channel": "facebook", "contactId": second["id"] }),
    )
    .await;
    assert_eq!(again["contact"]["id"], second["id"]);
}

#[tokio::test]
async fn bad_links_are_rejected_and_write_nothing() {
    let app = TestApp::new().await;
    app.create(json!({ "displayName": "Someone", "conversations": [{ "id": CONV, "channel": "facebook" }] })).await;
    let other = "8904adee-38b4-493b-a4d8-272e2e5a6815";
    let cases = [
        (
            json!({ "conversationId": CONV, "channel": "twilio.sms" }),
            "BAD_USER_INPUT",
            "input.channel",
        ),
        (
            json!({ "conversationId": "nope", "channel": "facebook" }),
            "BAD_USER_INPUT",
            "input.conversationId",
        ),
        (
            json!({ "conversationId": other, "channel": "Face Book" }),
            "BAD_USER_INPUT",
            "input.channel",
        ),
        (
            json!({ "conversationId": other, "channel": "facebook", "contactId": "01900000-0000-7000-8000-000000000000" }),
            "NOT_FOUND",
            "input.contactId",
        ),
        (
            json!({ "conversationId": other, "channel": "sms", "handle": { "source": "phone", "handle": "12" } }),
            "BAD_USER_INPUT",
            "input.handle.handle",
        ),
    ];
    for (input, want_code, want_field) in cases {
        let (code, field, message) = app.error(LINK, json!({ "input": input.clone() })).await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            (want_code, Some(want_field)),
            "{input}: {message}"
        );
    }
    let data = app
        .data(
            "query($id: ID!) { node(id: $id) { id } contacts { totalCount } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(data["node"], json!(null), "no conversation row was created");
    assert_eq!(data["contacts"]["totalCount"], 1);
}

/// Conversations arriving at once from one new handle end up on one contact.
#[tokio::test]
async fn concurrent_links_sharing_a_new_handle_create_one_contact() {
    let app = TestApp::new().await;
    let ids: Vec<String> = (0..16).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let calls = ids.iter().map(|id| {
        let input = json!({ "conversationId": id, "channel": "whatsapp", "handle": { "source": "whatsapp", "handle": "+4930901820" } });
        app.gql(LINK, json!({ "input": input }))
    });
    let responses = futures::future::join_all(calls).await;
    let mut owners = std::collections::BTreeSet::new();
    for r in &responses {
        assert!(r.get("errors").is_none(), "{r:#}");
        owners.insert(s(&r["data"]["linkConversation"]["contact"]["id"]).to_owned());
    }
    assert_eq!(owners.len(), 1);
    let mut linked = conversation_ids(&app, owners.first().unwrap()).await;
    linked.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(linked, want);
    let data = app.data("{ contacts { totalCount } }", json!({})).await;
    assert_eq!(data["contacts"]["totalCount"], 1);
}

/// Ids are Relay's global ids: a conversation may not take a contact's id,
/// nor a merged-away contact's (its redirect still resolves), on any of the
/// three paths that create conversations (linkConversation, createContact,
/// importContacts); `node` then names one object.
#[tokio::test]
async fn a_conversation_cannot_take_a_contacts_id() {
    let app = TestApp::new().await;
    let kept = s(&app.create(json!({ "displayName": "Kept" })).await["id"]).to_owned();
    let gone = s(&app.create(json!({ "displayName": "Gone" })).await["id"]).to_owned();
    app.data(
        "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id } }",
        json!({ "s": gone, "d": kept }),
    )
    .await;
    for id in [&kept, &gone] {
        let (code, field, _) = app
            .error(
                LINK,
                json!({ "input": { "conversationId": id, "channel": "facebook", "contactId": kept } }),
            )
            .await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("input.conversationId"))
        );
        let (code, field, _) = app
            .error(
                "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }",
                json!({ "input": { "displayName": "New", "conversations": [{ "id": id, "channel": "sms" }] } }),
            )
            .await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("input.conversations.0.id"))
        );
        let imported = app
            .data(
                "mutation($input: ImportContactsInput!) { importContacts(input: $input) { createdCount errors { index code field } } }",
                json!({ "input": { "contacts": [
                    { "displayName": "Fine" },
                    { "displayName": "Bad", "conversations": [{ "id": id, "channel": "sms" }] }
                ] } }),
            )
            .await;
        let errors = &imported["importContacts"]["errors"];
        assert_eq!(errors[0]["code"], "BAD_USER_INPUT", "{imported}");
        assert_eq!(errors[0]["index"], 1, "{imported}");
    }
    assert_eq!(
        app.sql_count("SELECT count(*) AS n FROM conversations")
            .await,
        0
    );
    let node = app
        .data(
            "query($id: ID!) { node(id: $id) { __typename } }",
            json!({ "id": kept }),
        )
        .await;
    assert_eq!(node["node"]["__typename"], "Contact");
}

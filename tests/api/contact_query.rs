use serde_json::json;

use crate::common::{s, TestApp};

const CONVERSATION: &str = "8904adee-38b4-493b-a4d8-272e2e5a6815";

async fn seeded(app: &TestApp) -> String {
    let c = app
        .create(json!({
            "displayName": "Katherine Johnson",
            "externalId": "kj-1",
            "via": [{ "source": "phone", "handle": "+16172531000" }, { "source": "email", "handle": "kj@nasa.gov" }],
            "conversations": [{ "id": CONVERSATION, "channel": "twilio.sms" }]
        }))
        .await;
    s(&c["id"]).to_owned()
}

#[tokio::test]
async fn each_selector_finds_the_contact() {
    let app = TestApp::new().await;
    let id = seeded(&app).await;
    let q = "query($id: ID, $conversationId: ID, $handle: HandleInput, $externalId: String) {
        contact(id: $id, conversationId: $conversationId, handle: $handle, externalId: $externalId) { id } }";
    for vars in [
        json!({ "id": id }),
        json!({ "conversationId": CONVERSATION }),
        json!({ "handle": { "source": "phone", "handle": "+1 (617) 253-1000" } }),
        json!({ "handle": { "source": "PHONE", "handle": "617.253.1000" } }),
        json!({ "handle": { "source": "email", "handle": "KJ@NASA.gov" } }),
        json!({ "externalId": "kj-1" }),
    ] {
        let data = app.data(q, vars.clone()).await;
        assert_eq!(data["contact"]["id"], id.as_str(), "{vars}");
    }
}

#[tokio::test]
async fn unknown_keys_give_null() {
    let app = TestApp::new().await;
    seeded(&app).await;
    let q = "query($id: ID, $conversationId: ID, $handle: HandleInput, $externalId: String) {
        contact(id: $id, conversationId: $conversationId, handle: $handle, externalId: $externalId) { id } }";
    for vars in [
        json!({ "id": "01900000-0000-7000-8000-000000000000" }),
        json!({ "conversationId": "01900000-0000-7000-8000-000000000000" }),
        json!({ "handle": { "source": "phone", "handle": "+16172531001" } }),
        json!({ "handle": { "source": "sms", "handle": "+16172531000" } }),
        json!({ "externalId": "nobody" }),
    ] {
        assert_eq!(
            app.data(q, vars.clone()).await["contact"],
            json!(null),
            "{vars}"
        );
    }
}

#[tokio::test]
async fn exactly_one_selector_is_required() {
    let app = TestApp::new().await;
    let (code, _, _) = app.error("{ contact { id } }", json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    let (code, _, _) = app
        .error(
            "{ contact(id: \"x\", externalId: \"y\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    let (code, field, _) = app
        .error("{ contact(id: \"not-a-uuid\") { id } }", json!({}))
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("id"))
    );
    let (code, field, _) = app
        .error(
            "{ contact(handle: {source: \"phone\", handle: \"abc\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("handle.handle"))
    );
}

#[tokio::test]
async fn node_resolves_contacts_and_conversations() {
    let app = TestApp::new().await;
    let id = seeded(&app).await;
    let q = "query($id: ID!) { node(id: $id) { __typename id ... on Contact { displayName } ... on Conversation { channel contact { id } } } }";
    let data = app.data(q, json!({ "id": id })).await;
    assert_eq!(data["node"]["__typename"], "Contact");
    assert_eq!(data["node"]["displayName"], "Katherine Johnson");
    let data = app.data(q, json!({ "id": CONVERSATION })).await;
    assert_eq!(data["node"]["__typename"], "Conversation");
    assert_eq!(data["node"]["channel"], "twilio.sms");
    assert_eq!(data["node"]["contact"]["id"], id.as_str());
    let data = app
        .data(q, json!({ "id": "01900000-0000-7000-8000-000000000000" }))
        .await;
    assert_eq!(data["node"], json!(null));
}

#[tokio::test]
async fn contact_types_come_from_configuration() {
    let app = TestApp::new().await;
    let data = app
        .data("{ contactTypes { value display } }", json!({}))
        .await;
    assert_eq!(
        data["contactTypes"],
        json!([{ "value": "contact", "display": "Contact" }, { "value": "lead", "display": "Lead" }])
    );

    let app =
        TestApp::with_args(&["--contact-types", "cta:Contact,testContact:TestContactType"]).await;
    let data = app
        .data("{ contactTypes { value display } }", json!({}))
        .await;
    assert_eq!(
        data["contactTypes"][1],
        json!({ "value": "testContact", "display": "TestContactType" })
    );
    // Without "contact" on offer, the first type is the default.
    let c = app.create(json!({ "displayName": "Placeholder" })).await;
    assert_eq!(c["contactType"], "cta");
    let c = app
        .create(json!({ "displayName": "T", "contactType": "testContact" }))
        .await;
    assert_eq!(c["contactType"], "testContact");
}

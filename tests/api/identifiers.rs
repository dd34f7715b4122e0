//! Which contact an identifier leads to: national forms of one number
//! lead to one contact, blocked identifiers to nobody, and keys leading to
//! two contacts are refused as AMBIGUOUS_MATCH.

use serde_json::{json, Value};

use crate::common::{s, TestApp};

const UPSERT: &str = "mutation($input: CreateOrUpdateContactInput!) {
    createOrUpdateContact(input: $input) { created contact { id displayName via { source handle } } } }";
const BY_HANDLE: &str = "query($h: HandleInput) { contact(handle: $h) { id via { handle } } }";
const LINK: &str = "mutation($input: LinkConversationInput!) {
    linkConversation(input: $input) { id contact { id via { handle } } } }";
const IMPORT: &str = "mutation($input: ImportContactsInput!) {
    importContacts(input: $input) { createdCount updatedCount errors { index code field reason contactIds message } } }";

async fn upsert(app: &TestApp, input: Value) -> (bool, Value) {
    let data = app.data(UPSERT, json!({ "input": input })).await;
    let payload = &data["createOrUpdateContact"];
    (
        payload["created"].as_bool().unwrap(),
        payload["contact"].clone(),
    )
}

async fn found(app: &TestApp, source: &str, handle: &str) -> Value {
    app.data(
        BY_HANDLE,
        json!({ "h": { "source": source, "handle": handle } }),
    )
    .await["contact"]
        .clone()
}

fn phone(handle: &str) -> Value {
    json!([{ "source": "phone", "handle": handle }])
}

/// Pairs of forms of one mobile line: Brazil's ninth digit, Argentina's
/// mobile 9, Mexico's mobile 1.
const FORMS: [(&str, &str); 3] = [
    ("+55 11 98765-4321", "+55 11 8765-4321"),
    ("+54 9 11 2345-6789", "+54 11 2345-6789"),
    ("+52 1 55 1234 5678", "+52 55 1234 5678"),
];

#[tokio::test]
async fn national_forms_of_one_number_lead_to_one_contact_that_keeps_its_form() {
    let app = TestApp::new().await;
    for (given, other) in FORMS {
        let contact = app
            .create(json!({ "displayName": given, "via": phone(given) }))
            .await;
        let stored = s(&contact["via"][0]["handle"]).to_owned();
        // Looked up by the other form: the same contact, in its own form.
        let by_other = found(&app, "phone", other).await;
        assert_eq!(by_other["id"], contact["id"], "{given} / {other}");
        assert_eq!(by_other["via"][0]["handle"], stored.as_str());
        // createOrUpdate by the other form updates it.
        let (created, updated) = upsert(
            &app,
            json!({ "displayName": format!("{given} again"), "via": phone(other) }),
        )
        .await;
        assert!(!created, "{other}");
        assert_eq!(updated["id"], contact["id"]);
        // A second contact cannot hold the other form.
        let (code, field, message) = app
            .error(
                "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }",
                json!({ "input": { "via": phone(given) } }),
            )
            .await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("CONFLICT", Some("input.via.0.handle")),
            "{message}"
        );
        // A conversation by the other form goes to it.
        let link = app
            .data(
                LINK,
                json!({ "input": { "conversationId": uuid::Uuid::now_v7().to_string(), "channel": "whatsapp",
                                   "handle": { "source": "phone", "handle": given } } }),
            )
            .await;
        assert_eq!(link["linkConversation"]["contact"]["id"], contact["id"]);
    }
    let total = app.data("{ contacts { totalCount } }", json!({})).await;
    assert_eq!(total["contacts"]["totalCount"], FORMS.len());
}

#[tokio::test]
async fn one_contact_may_list_both_forms_and_matches_by_either() {
    let app = TestApp::new().await;
    let both = app
        .create(json!({ "via": [{ "source": "phone", "handle": "+5511987654321" }, { "source": "phone", "handle": "+551187654321" }] }))
        .await;
    assert_eq!(both["via"].as_array().unwrap().len(), 2, "both forms kept");
    for form in ["+5511987654321", "+551187654321"] {
        assert_eq!(found(&app, "phone", form).await["id"], both["id"]);
    }
    // Rewriting the same list keeps it.
    let again = app
        .update(json!({ "id": both["id"], "via": [{ "source": "phone", "handle": "+551187654321" }, { "source": "phone", "handle": "+5511987654321" }] }))
        .await;
    assert_eq!(again["via"][0]["handle"], "+551187654321");
}

#[tokio::test]
async fn concurrent_writes_of_two_forms_make_one_contact() {
    let app = TestApp::new().await;
    let mut calls = Vec::new();
    for i in 0..16 {
        let app = &app;
        let form = if i % 2 == 0 {
            "+5521998877665"
        } else {
            "+552198877665"
        };
        calls.push(async move {
            app.gql(
                UPSERT,
                json!({ "input": { "displayName": format!("caller {i}"), "via": phone(form) } }),
            )
            .await
        });
    }
    for response in futures_util::future::join_all(calls).await {
        assert!(response.get("errors").is_none(), "{response:#}");
    }
    let total = app.data("{ contacts { totalCount } }", json!({})).await;
    assert_eq!(total["contacts"]["totalCount"], 1);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM contact_handles")
            .await,
        1
    );
}

#[tokio::test]
async fn blocked_identifiers_are_stored_and_match_nobody() {
    let app = TestApp::new().await;
    let placeholder = json!([{ "source": "facebook", "handle": "unknown" }, { "source": "email", "handle": "noreply@shop.example" }]);
    let (created_a, a) = upsert(
        &app,
        json!({ "displayName": "Ana Lima", "via": placeholder }),
    )
    .await;
    let (created_b, b) = upsert(
        &app,
        json!({ "displayName": "Bruno Reis", "via": placeholder }),
    )
    .await;
    assert!(created_a && created_b, "nobody matched");
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["via"].as_array().unwrap().len(), 2, "stored as given");
    assert_eq!(found(&app, "facebook", "unknown").await, Value::Null);
    assert_eq!(
        found(&app, "email", "NoReply@shop.example").await,
        Value::Null
    );
    // A plain create may hold them too, and a conversation by one gets a
    // contact of its own.
    app.create(json!({ "via": [{ "source": "email", "handle": "test@test.com" }] }))
        .await;
    app.create(json!({ "via": [{ "source": "email", "handle": "test@test.com" }] }))
        .await;
    let link = app
        .data(
            LINK,
            json!({ "input": { "conversationId": uuid::Uuid::now_v7().to_string(), "channel": "facebook",
                               "handle": { "source": "facebook", "handle": "UNKNOWN" } } }),
        )
        .await;
    let linked = s(&link["linkConversation"]["contact"]["id"]);
    assert!(linked != s(&a["id"]) && linked != s(&b["id"]));
    // A phone of zeros, however written, is stored in E.164 and blocked.
    for spelling in ["+1 000 000 0000", "+10000000000", "+1 000 000 0000 x12"] {
        let zeros = app
            .create(json!({ "via": [{ "source": "sms", "handle": spelling }] }))
            .await;
        assert_eq!(zeros["via"][0]["handle"], "+10000000000", "{spelling}");
    }
    assert_eq!(found(&app, "sms", "+1 000 000 0000").await, Value::Null);
    // Imports do not match them either.
    let import = app
        .data(IMPORT, json!({ "input": { "onConflict": "UPDATE", "contacts": [{ "displayName": "Row", "via": placeholder }] } }))
        .await;
    assert_eq!(import["importContacts"]["createdCount"], 1);
    // Nor do duplicate candidates: two strangers sharing placeholders.
    let candidates = app
        .data(
            "{ duplicateCandidates(minScore: 0) { edges { node { contactIds } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        candidates["duplicateCandidates"]["edges"],
        json!([]),
        "{candidates:#}"
    );
}

#[tokio::test]
async fn the_blocked_list_is_the_servers_to_choose() {
    let app = TestApp::with_args(&["--blocked-identifiers", "guest, *@mailinator.com"]).await;
    let (_, first) = upsert(
        &app,
        json!({ "via": [{ "source": "chat", "handle": "Guest" }] }),
    )
    .await;
    let (created, _) = upsert(
        &app,
        json!({ "via": [{ "source": "chat", "handle": "Guest" }] }),
    )
    .await;
    assert!(created, "guest is blocked here");
    assert!(first["id"].is_string());
    // "null" is not on this server's list: it matches like any handle.
    let (_, n) = upsert(
        &app,
        json!({ "via": [{ "source": "chat", "handle": "null" }] }),
    )
    .await;
    let (created, again) = upsert(
        &app,
        json!({ "via": [{ "source": "chat", "handle": "null" }] }),
    )
    .await;
    assert!(!created);
    assert_eq!(again["id"], n["id"]);
    assert_eq!(found(&app, "email", "x@mailinator.com").await, Value::Null);
}

/// A contact with an e-mail and another with a phone.
async fn two(app: &TestApp) -> (Value, Value) {
    let a = app
        .create(json!({ "displayName": "A", "externalId": "crm-a", "via": [{ "source": "email", "handle": "a@example.org" }] }))
        .await;
    let b = app
        .create(
            json!({ "displayName": "B", "via": [{ "source": "phone", "handle": "+16172531000" }] }),
        )
        .await;
    (a, b)
}

fn ambiguity(response: &Value) -> (&str, &str, &str, Vec<&str>) {
    let e = &response["errors"][0]["extensions"];
    let ids = e["contactIds"]
        .as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default();
    (s(&e["code"]), s(&e["reason"]), s(&e["field"]), ids)
}

#[tokio::test]
async fn keys_leading_to_two_contacts_are_an_ambiguous_match() {
    let app = TestApp::new().await;
    let (a, b) = two(&app).await;
    let both = json!([{ "source": "email", "handle": "a@example.org" }, { "source": "phone", "handle": "+1 617 253 1000" }]);
    let response = app
        .gql(
            UPSERT,
            json!({ "input": { "displayName": "X", "via": both } }),
        )
        .await;
    assert_eq!(
        ambiguity(&response),
        (
            "CONFLICT",
            "AMBIGUOUS_MATCH",
            "input.via.1.handle",
            vec![s(&a["id"]), s(&b["id"])]
        ),
        "{response:#}"
    );
    let response = app
        .gql(UPSERT, json!({ "input": { "externalId": "crm-a", "via": [{ "source": "phone", "handle": "+16172531000" }] } }))
        .await;
    assert_eq!(ambiguity(&response).1, "AMBIGUOUS_MATCH");
    assert_eq!(ambiguity(&response).2, "input.via.0.handle");
    // Nothing was written.
    assert_eq!(app.get(s(&a["id"])).await["displayName"], "A");
    assert_eq!(app.get(s(&b["id"])).await["displayName"], "B");

    // An import row: the same, in its error.
    let import = app
        .data(
            IMPORT,
            json!({ "input": { "onConflict": "UPDATE", "contacts": [
            { "displayName": "ok", "via": [{ "source": "email", "handle": "new@example.org" }] },
            { "displayName": "X", "via": both }
        ] } }),
        )
        .await;
    let errors = &import["importContacts"]["errors"];
    assert_eq!(errors.as_array().unwrap().len(), 1, "{import:#}");
    assert_eq!(errors[0]["index"], 1);
    assert_eq!(errors[0]["code"], "CONFLICT");
    assert_eq!(errors[0]["reason"], "AMBIGUOUS_MATCH");
    assert_eq!(errors[0]["field"], "input.contacts.1.via.1.handle");
    assert_eq!(errors[0]["contactIds"], json!([a["id"], b["id"]]));

    // A conversation for contact a, said to be b's number.
    let response = app
        .gql(
            LINK,
            json!({ "input": { "conversationId": uuid::Uuid::now_v7().to_string(), "channel": "sms",
                               "contactId": a["id"], "handle": { "source": "phone", "handle": "+16172531000" } } }),
        )
        .await;
    assert_eq!(
        ambiguity(&response),
        (
            "CONFLICT",
            "AMBIGUOUS_MATCH",
            "input.handle.handle",
            vec![s(&a["id"]), s(&b["id"])]
        ),
        "{response:#}"
    );
    // Merged, they are one contact: the same keys now match it.
    app.data(
        "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id } }",
        json!({ "s": b["id"], "d": a["id"] }),
    )
    .await;
    let (created, merged) = upsert(&app, json!({ "via": both })).await;
    assert!(!created);
    assert_eq!(merged["id"], a["id"]);
}

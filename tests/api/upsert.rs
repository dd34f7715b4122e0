use serde_json::{json, Value};

use crate::common::{s, TestApp};

const UPSERT: &str = "mutation($input: CreateOrUpdateContactInput!) {
    createOrUpdateContact(input: $input) { created contact { id displayName title externalId via { source handle } metadata } } }";

async fn upsert(app: &TestApp, input: Value) -> (bool, Value) {
    let data = app.data(UPSERT, json!({ "input": input })).await;
    let payload = &data["createOrUpdateContact"];
    (
        payload["created"].as_bool().unwrap(),
        payload["contact"].clone(),
    )
}

async fn count(app: &TestApp) -> i64 {
    app.data("{ contacts { totalCount } }", json!({})).await["contacts"]["totalCount"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn creates_then_finds_by_any_spelling_of_a_handle() {
    let app = TestApp::new().await;
    let (created, first) = upsert(
        &app,
        json!({ "displayName": "Caller", "title": "Dr", "via": [{ "source": "phone", "handle": "+16172531000" }], "metadata": { "a": 1 } }),
    )
    .await;
    assert!(created);
    let (created, again) = upsert(
        &app,
        json!({ "displayName": "Caller Renamed", "via": [{ "source": "phone", "handle": "(617) 253-1000" }], "metadata": { "b": 2 } }),
    )
    .await;
    assert!(!created);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["displayName"], "Caller Renamed");
    assert_eq!(again["title"], "Dr", "absent fields are kept");
    assert_eq!(
        again["metadata"],
        json!({ "a": 1, "b": 2 }),
        "metadata is merge-patched"
    );
    assert_eq!(count(&app).await, 1);
}

#[tokio::test]
async fn finds_by_id_or_external_id() {
    let app = TestApp::new().await;
    let (_, c) = upsert(&app, json!({ "externalId": "crm-1", "displayName": "A" })).await;
    let (created, by_ext) = upsert(
        &app,
        json!({ "externalId": "crm-1", "title": "by externalId" }),
    )
    .await;
    assert!(!created);
    assert_eq!(by_ext["id"], c["id"]);
    let (created, by_id) = upsert(&app, json!({ "id": c["id"], "title": "by id", "via": [{ "source": "email", "handle": "a@example.org" }] })).await;
    assert!(!created);
    assert_eq!(by_id["title"], "by id");
    // The handle now finds it too.
    let (created, by_handle) = upsert(
        &app,
        json!({ "via": [{ "source": "email", "handle": "A@EXAMPLE.org" }] }),
    )
    .await;
    assert!(!created);
    assert_eq!(by_handle["id"], c["id"]);

    let (code, field, _) = app
        .error(
            UPSERT,
            json!({ "input": { "id": "01900000-0000-7000-8000-000000000000", "title": "x" } }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("NOT_FOUND", Some("input.id"))
    );
}

#[tokio::test]
async fn keys_pointing_at_two_contacts_conflict_and_write_nothing() {
    let app = TestApp::new().await;
    let (_, a) = upsert(
        &app,
        json!({ "externalId": "a", "via": [{ "source": "email", "handle": "a@example.org" }] }),
    )
    .await;
    let (_, b) = upsert(
        &app,
        json!({ "externalId": "b", "via": [{ "source": "email", "handle": "b@example.org" }] }),
    )
    .await;
    let cases = [
        (
            json!({ "externalId": "a", "title": "x", "via": [{ "source": "email", "handle": "b@example.org" }] }),
            "input.via.0.handle",
        ),
        (
            json!({ "id": a["id"], "externalId": "b", "title": "x" }),
            "input.externalId",
        ),
        (
            json!({ "title": "x", "via": [{ "source": "email", "handle": "a@example.org" }, { "source": "email", "handle": "b@example.org" }] }),
            "input.via.1.handle",
        ),
    ];
    for (input, want) in cases {
        let (code, field, message) = app.error(UPSERT, json!({ "input": input })).await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("CONFLICT", Some(want)),
            "{message}"
        );
    }
    for c in [&a, &b] {
        assert_eq!(
            app.get(s(&c["id"])).await["title"],
            json!(null),
            "nothing written"
        );
    }
    assert_eq!(count(&app).await, 2);
}

#[tokio::test]
async fn not_found_and_nothing_to_create_is_bad_input() {
    let app = TestApp::new().await;
    let (code, field, _) = app.error(UPSERT, json!({ "input": {} })).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("input"))
    );
    let (code, field, _) = app
        .error(
            UPSERT,
            json!({ "input": { "via": [{ "source": "phone", "handle": "nope" }] } }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("input.via.0.handle"))
    );
}

/// 32 concurrent calls with one new handle: one contact, 32 answers, one created.
#[tokio::test]
async fn concurrent_calls_with_one_new_handle_make_one_contact() {
    let app = TestApp::new().await;
    let calls = (0..32).map(|i| {
        let input = json!({
            "displayName": format!("Racer {i}"),
            "via": [{ "source": "whatsapp", "handle": "+4930901820" }],
            "metadata": { format!("call{i}"): true }
        });
        app.gql(UPSERT, json!({ "input": input }))
    });
    let responses = futures::future::join_all(calls).await;
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for response in &responses {
        assert!(response.get("errors").is_none(), "{response:#}");
        let payload = &response["data"]["createOrUpdateContact"];
        created += payload["created"].as_bool().unwrap() as usize;
        ids.insert(s(&payload["contact"]["id"]).to_owned());
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    assert_eq!(count(&app).await, 1);
    // Every call's metadata key landed on the one contact.
    let metadata = &app.get(ids.first().unwrap()).await["metadata"];
    assert_eq!(metadata.as_object().unwrap().len(), 32, "{metadata}");
}

#[tokio::test]
async fn concurrent_calls_with_one_new_external_id_make_one_contact() {
    let app = TestApp::new().await;
    let calls = (0..16).map(|i| {
        app.gql(
            UPSERT,
            json!({ "input": { "externalId": "same", "title": format!("t{i}") } }),
        )
    });
    let responses = futures::future::join_all(calls).await;
    let created = responses
        .iter()
        .inspect(|r| assert!(r.get("errors").is_none(), "{r:#}"))
        .filter(|r| r["data"]["createOrUpdateContact"]["created"] == true)
        .count();
    assert_eq!(created, 1);
    assert_eq!(count(&app).await, 1);
}

mod identity {
    use super::*;

    const SECRET: &str = "widget-secret";

    fn hash(external_id: &str) -> String {
        contacts_api::domain::IdentitySecret::new(SECRET)
            .hash(external_id)
            .unwrap()
    }

    #[tokio::test]
    async fn a_valid_hash_is_required_with_external_id() {
        let app = TestApp::with_args(&["--identity-secret", SECRET]).await;
        let (created, c) = upsert(&app, json!({ "externalId": "user-7", "identifierHash": hash("user-7"), "displayName": "Visitor" })).await;
        assert!(created);
        assert_eq!(c["externalId"], "user-7");

        for bad in [
            json!(null),
            json!(""),
            json!(hash("user-8")),
            json!(hash("user-7").to_uppercase().replace('A', "B")),
        ] {
            let input =
                json!({ "externalId": "user-7", "identifierHash": bad, "displayName": "Hijacked" });
            let (code, _, message) = app.error(UPSERT, json!({ "input": input })).await;
            assert_eq!(code, "UNAUTHENTICATED", "{bad}: {message}");
        }
        let input = json!({ "externalId": "user-9", "displayName": "No hash" });
        let (code, _, _) = app.error(UPSERT, json!({ "input": input })).await;
        assert_eq!(code, "UNAUTHENTICATED");
        assert_eq!(
            app.get(s(&c["id"])).await["displayName"],
            "Visitor",
            "nothing written"
        );
        assert_eq!(count(&app).await, 1);

        // Upper-case hex of the right tag is the same bytes.
        let (created, _) = upsert(&app, json!({ "externalId": "user-7", "identifierHash": hash("user-7").to_uppercase(), "title": "ok" })).await;
        assert!(!created);
        // Without externalId no hash is asked for.
        let (created, _) = upsert(
            &app,
            json!({ "via": [{ "source": "email", "handle": "anon@example.org" }] }),
        )
        .await;
        assert!(created);
    }

    #[tokio::test]
    async fn a_hash_authorises_only_its_own_contact() {
        let app = TestApp::with_args(&["--identity-secret", SECRET]).await;
        let (_, victim) = upsert(&app, json!({ "displayName": "Victim", "via": [{ "source": "email", "handle": "victim@example.org" }] })).await;
        let input = json!({
            "externalId": "attacker", "identifierHash": hash("attacker"),
            "displayName": "Mine now", "via": [{ "source": "email", "handle": "victim@example.org" }]
        });
        let (code, _, message) = app.error(UPSERT, json!({ "input": input })).await;
        assert_eq!(code, "FORBIDDEN", "{message}");
        let input = json!({ "id": victim["id"], "externalId": "attacker", "identifierHash": hash("attacker"), "displayName": "Mine now" });
        let (code, _, _) = app.error(UPSERT, json!({ "input": input })).await;
        assert_eq!(code, "FORBIDDEN");
        assert_eq!(app.get(s(&victim["id"])).await["displayName"], "Victim");
    }
}

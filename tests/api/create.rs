use serde_json::json;

use crate::common::{s, TestApp};

fn liskov() -> serde_json::Value {
    json!({
        "displayName": "Barbara Liskov",
        "avatarUrl": "https://example.org/avatar.jpg",
        "title": "Professor",
        "timezone": "America/New_York",
        "gender": "female",
        "locale": "en_US",
        "organizationName": "Massachusetts Institute of Technology",
        "description": "Turing award 2008",
        "contactType": "lead",
        "isSpammer": false,
        "externalId": "crm-42",
        "groupNames": ["faculty", "vip", "vip"],
        "links": ["https://www.csail.mit.edu/person/barbara-liskov"],
        "via": [
            { "source": "phone", "handle": "+1 (617) 253-1000" },
            { "source": "email", "handle": " B.Liskov@MIT.org " },
            { "source": "twitter", "handle": "BLiskov" }
        ],
        "address": {
            "organizationName": "Massachusetts Institute of Technology",
            "addressLine1": "77 Massachusetts Ave",
            "addressLine2": "building A",
            "postcode": "02139",
            "city": "Cambridge",
            "state": "MA",
            "country": "USA"
        },
        "conversations": [
            { "id": "ea1cba21-2bd6-477c-9a40-59cd9bb96bef", "channel": "facebook" },
            { "id": "8904adee-38b4-493b-a4d8-272e2e5a6815", "channel": "twilio.sms" }
        ],
        "metadata": {
            "facebook": { "psid": "1234567890", "page_id": "9876543210" },
            "salesforce_id": "ABC123",
            "score": 7.5,
            "active": true
        }
    })
}

#[tokio::test]
async fn create_stores_and_returns_every_field() {
    let app = TestApp::new().await;
    let created = app.create(liskov()).await;
    // What the mutation returns is what a later read finds.
    let read = app.get(s(&created["id"])).await;
    assert_eq!(created, read);

    assert_eq!(read["displayName"], "Barbara Liskov");
    assert_eq!(read["avatarUrl"], "https://example.org/avatar.jpg");
    assert_eq!(read["title"], "Professor");
    assert_eq!(read["timezone"], "America/New_York");
    assert_eq!(read["gender"], "female");
    assert_eq!(read["locale"], "en_US");
    assert_eq!(
        read["organizationName"],
        "Massachusetts Institute of Technology"
    );
    assert_eq!(read["description"], "Turing award 2008");
    assert_eq!(read["contactType"], "lead");
    assert_eq!(read["isSpammer"], false);
    assert_eq!(read["externalId"], "crm-42");
    assert_eq!(read["groupNames"], json!(["faculty", "vip"]));
    assert_eq!(
        read["links"],
        json!(["https://www.csail.mit.edu/person/barbara-liskov"])
    );
    assert_eq!(
        read["via"],
        json!([
            { "source": "phone", "handle": "+16172531000", "extension": null },
            { "source": "email", "handle": "b.liskov@mit.org", "extension": null },
            { "source": "twitter", "handle": "@bliskov", "extension": null }
        ])
    );
    assert_eq!(read["address"], liskov()["address"]);
    assert_eq!(read["metadata"], liskov()["metadata"]);
    let conversations = read["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 2);
    for c in conversations {
        assert_eq!(c["contact"]["id"], read["id"]);
    }
    assert_eq!(read["mergeHistory"], json!([]));
    assert_eq!(read["createdAt"], read["updatedAt"]);
    let created_at = s(&read["createdAt"]);
    assert!(
        created_at.ends_with('Z') && created_at.len() == 24,
        "{created_at}"
    );
    // UUID v7: the version nibble is 7.
    assert_eq!(&s(&read["id"])[14..15], "7");
}

#[tokio::test]
async fn create_defaults_contact_type_and_spam_flag() {
    let app = TestApp::new().await;
    let c = app.create(json!({ "displayName": "Ada" })).await;
    assert_eq!(c["contactType"], "contact");
    assert_eq!(c["isSpammer"], false);
    assert_eq!(c["address"], json!(null));
    assert_eq!(c["metadata"], json!({}));
    assert_eq!(c["via"], json!([]));
}

#[tokio::test]
async fn empty_input_is_rejected() {
    let app = TestApp::new().await;
    let q = "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }";
    for input in [
        json!({}),
        json!({ "displayName": "  ", "via": [], "metadata": {} }),
    ] {
        let (code, field, _) = app.error(q, json!({ "input": input })).await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("input"))
        );
    }
}

#[tokio::test]
async fn invalid_fields_are_named() {
    let app = TestApp::new().await;
    let q = "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }";
    let cases = [
        (
            json!({ "metadata": { "tags": ["a"] } }),
            "input.metadata.tags",
        ),
        (
            json!({ "metadata": { "a": { "b": { "c": [1] } } } }),
            "input.metadata.a.b.c",
        ),
        (json!({ "metadata": "text" }), "input.metadata"),
        (
            json!({ "via": [{ "source": "phone", "handle": "12" }] }),
            "input.via.0.handle",
        ),
        (
            json!({ "via": [{ "source": "email", "handle": "a@b.org" }, { "source": "email", "handle": "nope" }] }),
            "input.via.1.handle",
        ),
        (
            json!({ "via": [{ "source": "Bad Source!", "handle": "x" }] }),
            "input.via.0.source",
        ),
        (json!({ "avatarUrl": "not a url" }), "input.avatarUrl"),
        (
            json!({ "links": ["https://ok.org", "ftp://x.org"] }),
            "input.links.1",
        ),
        (json!({ "timezone": "Mars/Olympus" }), "input.timezone"),
        (json!({ "locale": "english please" }), "input.locale"),
        (json!({ "contactType": "alien" }), "input.contactType"),
        (json!({ "groupNames": ["ok", " "] }), "input.groupNames.1"),
        (
            json!({ "conversations": [{ "id": "nope", "channel": "facebook" }] }),
            "input.conversations.0.id",
        ),
        (
            json!({ "displayName": "x".repeat(1001) }),
            "input.displayName",
        ),
    ];
    for (input, want) in cases {
        let (code, field, message) = app.error(q, json!({ "input": input })).await;
        assert_eq!(code, "BAD_USER_INPUT", "{input}");
        assert_eq!(field.as_deref(), Some(want), "{input}: {message}");
        assert!(
            message.contains(want),
            "message should name the field: {message}"
        );
    }
    // Nothing was written by any of them.
    let data = app.data("{ contacts { totalCount } }", json!({})).await;
    assert_eq!(data["contacts"]["totalCount"], 0);
}

#[tokio::test]
async fn taken_handle_external_id_or_conversation_conflict_and_write_nothing() {
    let app = TestApp::new().await;
    let owner = app
        .create(json!({
            "externalId": "ext-1",
            "via": [{ "source": "phone", "handle": "+16172531000" }],
            "conversations": [{ "id": "ea1cba21-2bd6-477c-9a40-59cd9bb96bef", "channel": "facebook" }]
        }))
        .await;
    let q = "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }";
    let cases = [
        (
            json!({ "displayName": "Dup", "via": [{ "source": "email", "handle": "x@y.org" }, { "source": "phone", "handle": "617-253-1000" }] }),
            "input.via.1.handle",
        ),
        (
            json!({ "displayName": "Dup", "externalId": "ext-1" }),
            "input.externalId",
        ),
        (
            json!({ "displayName": "Dup", "conversations": [{ "id": "ea1cba21-2bd6-477c-9a40-59cd9bb96bef", "channel": "facebook" }] }),
            "input.conversations.0.id",
        ),
    ];
    for (input, want) in cases {
        let (code, field, message) = app.error(q, json!({ "input": input })).await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("CONFLICT", Some(want)),
            "{message}"
        );
        assert!(
            message.contains(s(&owner["id"])),
            "names the owner: {message}"
        );
    }
    // The failed creates left no contact, handle or group behind.
    let data = app
        .data("{ contacts { totalCount } email: contact(handle: {source: \"email\", handle: \"x@y.org\"}) { id } }", json!({}))
        .await;
    assert_eq!(data["contacts"]["totalCount"], 1);
    assert_eq!(data["email"], json!(null));
}

#[tokio::test]
async fn same_handle_in_another_source_is_a_different_handle() {
    let app = TestApp::new().await;
    app.create(json!({ "via": [{ "source": "facebook", "handle": "12345" }] }))
        .await;
    let other = app
        .create(json!({ "via": [{ "source": "instagram", "handle": "12345" }] }))
        .await;
    assert_eq!(other["via"][0]["source"], "instagram");
}

#[tokio::test]
async fn default_region_reads_numbers_without_plus() {
    let app = TestApp::with_args(&["--default-region", "DE"]).await;
    let c = app
        .create(json!({ "via": [{ "source": "phone", "handle": "030 901820" }] }))
        .await;
    assert_eq!(c["via"][0]["handle"], "+4930901820");
}

#[tokio::test]
async fn concurrent_creates_all_succeed() {
    let app = TestApp::new().await;
    let q = "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }";
    let calls = (0..24).map(|i| {
        let input = json!({
            "displayName": format!("Writer {i}"),
            "groupNames": ["shared-group"],
            "via": [{ "source": "email", "handle": format!("w{i}@example.org") }]
        });
        app.gql(q, json!({ "input": input }))
    });
    for response in futures::future::join_all(calls).await {
        assert!(response.get("errors").is_none(), "{response:#}");
    }
    let data = app
        .data(
            "{ contacts(filter: {groupName: \"shared-group\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data["contacts"]["totalCount"], 24);
}

/// Free text sent with Windows or old Mac line ends is stored with LF.
#[tokio::test]
async fn crlf_in_free_text_is_stored_as_lf() {
    let app = TestApp::new().await;
    let created = app
        .create(json!({
            "displayName": "Line Ends",
            "description": "first\r\nsecond\rthird",
            "address": { "addressLine1": "1 Main St\r\nFlat 2" }
        }))
        .await;
    assert_eq!(created["description"], json!("first\nsecond\nthird"));
    assert_eq!(
        created["address"]["addressLine1"],
        json!("1 Main St\nFlat 2")
    );
    let read = app.get(s(&created["id"])).await;
    assert_eq!(read["description"], json!("first\nsecond\nthird"));
}

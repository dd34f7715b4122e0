use serde_json::json;

use crate::common::{s, TestApp};

async fn seeded(app: &TestApp) -> serde_json::Value {
    app.create(json!({
        "displayName": "Grace Hopper",
        "title": "Rear Admiral",
        "gender": "female",
        "timezone": "+02:00",
        "contactType": "lead",
        "isSpammer": true,
        "externalId": "gh-1",
        "groupNames": ["navy", "cobol"],
        "links": ["https://navy.mil/hopper"],
        "via": [{ "source": "email", "handle": "grace@navy.mil" }, { "source": "phone", "handle": "+12025550100" }],
        "address": { "city": "Arlington", "state": "VA", "country": "USA" },
        "metadata": { "a": "b", "c": { "d": "e", "f": "g" }, "keep": 1 }
    }))
    .await
}

#[tokio::test]
async fn absent_fields_are_kept() {
    let app = TestApp::new().await;
    let before = seeded(&app).await;
    let after = app
        .update(json!({ "id": before["id"], "description": "Computer pioneer" }))
        .await;
    for field in [
        "displayName",
        "title",
        "gender",
        "timezone",
        "contactType",
        "isSpammer",
        "externalId",
        "groupNames",
        "links",
        "via",
        "address",
        "metadata",
        "createdAt",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
    assert_eq!(after["description"], "Computer pioneer");
    assert!(s(&after["updatedAt"]) >= s(&before["updatedAt"]));
}

#[tokio::test]
async fn null_or_empty_string_removes() {
    let app = TestApp::new().await;
    let before = seeded(&app).await;
    let after = app
        .update(json!({
            "id": before["id"],
            "title": null,
            "gender": "",
            "externalId": "",
            "contactType": null,
            "isSpammer": null,
            "groupNames": null,
            "links": [],
            "via": null,
            "address": null,
            "metadata": null
        }))
        .await;
    assert_eq!(after["title"], json!(null));
    assert_eq!(after["gender"], json!(null));
    assert_eq!(after["externalId"], json!(null));
    assert_eq!(after["contactType"], "contact");
    assert_eq!(after["isSpammer"], false);
    assert_eq!(after["groupNames"], json!([]));
    assert_eq!(after["links"], json!([]));
    assert_eq!(after["via"], json!([]));
    assert_eq!(after["address"], json!(null));
    assert_eq!(after["metadata"], json!({}));
    assert_eq!(after["displayName"], "Grace Hopper");
    assert_eq!(app.get(s(&before["id"])).await, after);
}

#[tokio::test]
async fn lists_replace_and_free_old_handles() {
    let app = TestApp::new().await;
    let before = seeded(&app).await;
    let after = app
        .update(json!({
            "id": before["id"],
            "groupNames": ["admirals"],
            "via": [{ "source": "twitter", "handle": "@grace" }]
        }))
        .await;
    assert_eq!(after["groupNames"], json!(["admirals"]));
    assert_eq!(
        after["via"],
        json!([{ "source": "twitter", "handle": "@grace", "extension": null }])
    );
    // The handles she dropped are free for someone else.
    let other = app
        .create(json!({ "via": [{ "source": "email", "handle": "grace@navy.mil" }] }))
        .await;
    assert_eq!(other["via"][0]["handle"], "grace@navy.mil");
    // And groups filter on the new membership only.
    let data = app
        .data(
            "{ contacts(filter: {groupName: \"navy\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data["contacts"]["totalCount"], 0);
}

#[tokio::test]
async fn metadata_is_a_json_merge_patch() {
    let app = TestApp::new().await;
    let before = seeded(&app).await;
    let after = app
        .update(json!({
            "id": before["id"],
            "metadata": { "a": "z", "c": { "f": null, "h": { "i": 1 } }, "new": true }
        }))
        .await;
    assert_eq!(
        after["metadata"],
        json!({ "a": "z", "c": { "d": "e", "h": { "i": 1 } }, "keep": 1, "new": true })
    );
    let again = app
        .update(json!({ "id": before["id"], "metadata": { "keep": null } }))
        .await;
    assert_eq!(
        again["metadata"],
        json!({ "a": "z", "c": { "d": "e", "h": { "i": 1 } }, "new": true })
    );
    let (code, field, _) = app
        .error(
            "mutation($input: UpdateContactInput!) { updateContact(input: $input) { id } }",
            json!({ "input": { "id": before["id"], "metadata": { "c": { "list": [1, 2] } } } }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("input.metadata.c.list"))
    );
}

#[tokio::test]
async fn address_fields_patch_one_by_one() {
    let app = TestApp::new().await;
    let before = seeded(&app).await;
    let after = app
        .update(json!({ "id": before["id"], "address": { "city": "Washington", "state": null, "postcode": "20001" } }))
        .await;
    assert_eq!(
        after["address"],
        json!({ "organizationName": null, "addressLine1": null, "addressLine2": null, "postcode": "20001", "city": "Washington", "state": null, "country": "USA" })
    );
}

#[tokio::test]
async fn unknown_or_malformed_ids_and_conflicts() {
    let app = TestApp::new().await;
    let grace = seeded(&app).await;
    let other = app
        .create(json!({ "displayName": "Other", "externalId": "other-1" }))
        .await;
    let q = "mutation($input: UpdateContactInput!) { updateContact(input: $input) { id } }";

    let missing = "01900000-0000-7000-8000-000000000000";
    let (code, field, _) = app
        .error(q, json!({ "input": { "id": missing, "title": "x" } }))
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("NOT_FOUND", Some("input.id"))
    );

    let (code, field, _) = app
        .error(q, json!({ "input": { "id": "nope", "title": "x" } }))
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("input.id"))
    );

    let (code, field, _) = app
        .error(
            q,
            json!({ "input": { "id": other["id"], "externalId": "gh-1" } }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("CONFLICT", Some("input.externalId"))
    );

    let (code, field, _) = app
        .error(q, json!({ "input": { "id": other["id"], "title": "kept?", "via": [{ "source": "phone", "handle": "(202) 555-0100" }] } }))
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("CONFLICT", Some("input.via.0.handle"))
    );
    // The failed update wrote nothing, not even the valid title.
    assert_eq!(app.get(s(&other["id"])).await["title"], json!(null));
    assert_eq!(app.get(s(&grace["id"])).await["via"], grace["via"]);

    // Keeping your own handle or externalId is no conflict.
    let same = app
        .update(json!({ "id": grace["id"], "externalId": "gh-1", "via": [{ "source": "email", "handle": "GRACE@navy.mil" }] }))
        .await;
    assert_eq!(
        same["via"],
        json!([{ "source": "email", "handle": "grace@navy.mil", "extension": null }])
    );
}

#[tokio::test]
async fn an_update_without_changes_keeps_updated_at() {
    let app = TestApp::new().await;
    let before = seeded(&app).await;
    let after = app
        .update(json!({ "id": before["id"], "title": "Rear Admiral", "groupNames": ["cobol", "navy"], "metadata": { "a": "b" } }))
        .await;
    assert_eq!(after["updatedAt"], before["updatedAt"]);
}

#[tokio::test]
async fn concurrent_metadata_patches_lose_no_key() {
    let app = TestApp::new().await;
    let c = app.create(json!({ "displayName": "Busy" })).await;
    let q = "mutation($input: UpdateContactInput!) { updateContact(input: $input) { id } }";
    let calls = (0..16).map(|i| {
        // All patches touch one top-level key: the read-merge-write races on it.
        let mut inner = serde_json::Map::new();
        inner.insert(format!("k{i}"), json!(i));
        app.gql(
            q,
            json!({ "input": { "id": c["id"], "metadata": { "shared": inner } } }),
        )
    });
    for response in futures::future::join_all(calls).await {
        assert!(response.get("errors").is_none(), "{response:#}");
    }
    let metadata = &app.get(s(&c["id"])).await["metadata"];
    for i in 0..16 {
        assert_eq!(metadata["shared"][format!("k{i}")], json!(i), "{metadata}");
    }
}

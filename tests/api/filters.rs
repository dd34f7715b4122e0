use serde_json::{json, Value};

use crate::common::TestApp;

async fn seed(app: &TestApp) {
    for input in [
        json!({ "displayName": "Ada Lovelace", "organizationName": "Analytical Engines", "groupNames": ["math"],
                "via": [{ "source": "email", "handle": "ada@engines.org" }] }),
        json!({ "displayName": "Alan Turing", "externalId": "AT-1912", "contactType": "lead",
                "via": [{ "source": "phone", "handle": "+44 20 7946 0958" }] }),
        json!({ "displayName": "50% off_sale", "isSpammer": true, "via": [{ "source": "facebook", "handle": "spam.page" }] }),
        json!({ "displayName": "500 offXsale", "groupNames": ["math"] }),
        json!({ "displayName": "Grace Hopper", "via": [{ "source": "phone", "handle": "+1 617 253 1000" }] }),
    ] {
        app.create(input).await;
    }
}

async fn names(app: &TestApp, filter: Value) -> Vec<String> {
    let data = app
        .data(
            "query($f: ContactFilter) { contacts(first: 100, filter: $f, orderBy: {field: DISPLAY_NAME}) { totalCount nodes { displayName } } }",
            json!({ "f": filter }),
        )
        .await;
    let nodes = data["contacts"]["nodes"].as_array().unwrap();
    assert_eq!(
        data["contacts"]["totalCount"],
        nodes.len(),
        "totalCount matches the filter"
    );
    nodes
        .iter()
        .map(|n| n["displayName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_matches_names_organizations_handles_and_external_ids() {
    let app = TestApp::new().await;
    seed(&app).await;
    assert_eq!(
        names(&app, json!({ "search": "LOVE" })).await,
        ["Ada Lovelace"]
    );
    assert_eq!(
        names(&app, json!({ "search": "analytical" })).await,
        ["Ada Lovelace"]
    );
    assert_eq!(
        names(&app, json!({ "search": "@engines" })).await,
        ["Ada Lovelace"]
    );
    assert_eq!(
        names(&app, json!({ "search": "at-19" })).await,
        ["Alan Turing"]
    );
    assert_eq!(
        names(&app, json!({ "search": "spam.p" })).await,
        ["50% off_sale"]
    );
    assert_eq!(
        names(&app, json!({ "search": "zzz" })).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn phone_digits_match_whatever_the_formatting() {
    let app = TestApp::new().await;
    seed(&app).await;
    for q in ["(617) 253-1000", "617.253", "+1 617", "2531000"] {
        assert_eq!(
            names(&app, json!({ "search": q })).await,
            ["Grace Hopper"],
            "{q}"
        );
    }
    assert_eq!(
        names(&app, json!({ "search": "7946 0958" })).await,
        ["Alan Turing"]
    );
}

#[tokio::test]
async fn like_wildcards_are_literal() {
    let app = TestApp::new().await;
    seed(&app).await;
    assert_eq!(
        names(&app, json!({ "search": "50%" })).await,
        ["50% off_sale"]
    );
    assert_eq!(
        names(&app, json!({ "search": "off_" })).await,
        ["50% off_sale"]
    );
    assert_eq!(
        names(&app, json!({ "search": "%" })).await,
        ["50% off_sale"]
    );
    assert_eq!(
        names(&app, json!({ "search": "_" })).await,
        ["50% off_sale"]
    );
    assert_eq!(
        names(&app, json!({ "search": "!" })).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn structured_filters_combine() {
    let app = TestApp::new().await;
    seed(&app).await;
    assert_eq!(
        names(&app, json!({ "source": "phone" })).await,
        ["Alan Turing", "Grace Hopper"]
    );
    assert_eq!(
        names(&app, json!({ "source": "PHONE", "search": "alan" })).await,
        ["Alan Turing"]
    );
    assert_eq!(
        names(&app, json!({ "groupName": "math" })).await,
        ["500 offXsale", "Ada Lovelace"]
    );
    assert_eq!(
        names(&app, json!({ "groupName": "nope" })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app, json!({ "contactType": "lead" })).await,
        ["Alan Turing"]
    );
    assert_eq!(
        names(&app, json!({ "isSpammer": true })).await,
        ["50% off_sale"]
    );
    assert_eq!(names(&app, json!({ "isSpammer": false })).await.len(), 4);
    assert_eq!(
        names(
            &app,
            json!({ "groupName": "math", "isSpammer": false, "search": "ada" })
        )
        .await,
        ["Ada Lovelace"]
    );
}

#[tokio::test]
async fn created_after_and_before_bound_the_range() {
    let app = TestApp::new().await;
    let first = app.create(json!({ "displayName": "First" })).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = app.create(json!({ "displayName": "Second" })).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let third = app.create(json!({ "displayName": "Third" })).await;
    assert_eq!(
        names(&app, json!({ "createdAfter": first["createdAt"] })).await,
        ["Second", "Third"]
    );
    assert_eq!(
        names(&app, json!({ "createdBefore": third["createdAt"] })).await,
        ["First", "Second"]
    );
    assert_eq!(
        names(
            &app,
            json!({ "createdAfter": first["createdAt"], "createdBefore": third["createdAt"] })
        )
        .await,
        ["Second"]
    );
    assert_eq!(
        names(
            &app,
            json!({ "createdAfter": second["createdAt"].as_str().unwrap().replace('Z', "+00:00") })
        )
        .await,
        ["Third"]
    );
    let (code, _, _) = app
        .error(
            "{ contacts(filter: {createdAfter: \"yesterday\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

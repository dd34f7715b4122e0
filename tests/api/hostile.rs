//! Inputs from the third attack round, kept: each once answered
//! INTERNAL_SERVER_ERROR, broke later reads, or held a worker for seconds.

use serde_json::{json, Value};

use crate::common::{s, TestApp};

const CREATE: &str =
    "mutation($i: CreateContactInput!) { createContact(input: $i) { id metadata } }";

fn list(n: usize, item: impl Fn(usize) -> Value) -> Vec<Value> {
    (0..n).map(item).collect()
}

#[tokio::test]
async fn every_list_of_an_input_is_bounded() {
    let app = TestApp::new().await;
    let group = |i: usize| json!(format!("g{i}"));
    let link = |i: usize| json!(format!("https://example.org/{i}"));
    let conversation =
        |i: usize| json!({ "id": format!("01a1fefa-217c-752c-bea3-{i:012}"), "channel": "email" });
    for (field, over, at) in [
        ("groupNames", list(40_000, group), list(250, group)),
        ("links", list(251, link), list(250, link)),
        (
            "conversations",
            list(20_000, conversation),
            list(1_000, conversation),
        ),
    ] {
        let (code, _, message) = app.error(CREATE, json!({ "i": { field: over } })).await;
        assert_eq!(code, "LIMIT_EXCEEDED", "{field}: {message}");
        assert!(message.contains(&format!("input.{field}")), "{message}");
        app.data(CREATE, json!({ "i": { field: at } })).await;
    }
}

#[tokio::test]
async fn merging_long_link_lists_is_linear() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for side in ["a", "b"] {
        let links = list(250, |i| json!(format!("https://{side}.example.org/{i}")));
        let created = app.data(CREATE, json!({ "i": { "links": links } })).await;
        ids.push(s(&created["createContact"]["id"]).to_owned());
    }
    let merged = app
        .data(
            "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { links mergeHistory { id } } }",
            json!({ "s": ids[0], "d": ids[1] }),
        )
        .await;
    assert_eq!(
        merged["mergeContacts"]["links"].as_array().unwrap().len(),
        500
    );
    let record = s(&merged["mergeContacts"]["mergeHistory"][0]["id"]).to_owned();
    let back = app
        .data(
            "mutation($r: ID!) { unmergeContact(mergeRecordId: $r) { links } }",
            json!({ "r": record }),
        )
        .await;
    assert_eq!(
        back["unmergeContact"]["links"].as_array().unwrap().len(),
        250
    );
    let destination = app.get(&ids[1]).await;
    assert_eq!(destination["links"].as_array().unwrap().len(), 250);
}

#[tokio::test]
async fn metadata_postgresql_cannot_keep_is_refused_by_name() {
    let app = TestApp::new().await;
    for (metadata, field) in [
        // The key itself is named, NUL and all (JSON escapes it).
        (json!({ "a\u{0}b": "c" }), "input.metadata.a\u{0}b"),
        (json!({ "k": "c\u{0}d" }), "input.metadata.k"),
        (
            json!({ "n": 1.797_693_134_862_315_7e308 }),
            "input.metadata.n",
        ),
        (json!({ "deep": { "n": -1e305 } }), "input.metadata.deep.n"),
    ] {
        let (code, got, message) = app
            .error(CREATE, json!({ "i": { "metadata": metadata } }))
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{message}");
        assert_eq!(got.as_deref(), Some(field), "{message}");
    }
    // The largest accepted comes back, and the page holding it reads.
    let created = app
        .data(CREATE, json!({ "i": { "metadata": { "n": 1e300 } } }))
        .await;
    assert_eq!(created["createContact"]["metadata"]["n"], json!(1e300));
    app.data(
        "{ contacts(last: 100) { nodes { id metadata } } }",
        json!({}),
    )
    .await;
}

#[tokio::test]
async fn nul_in_lookups_and_cursors_is_bad_input() {
    use base64::Engine;
    let app = TestApp::new().await;
    let (code, field, _) = app
        .error(
            "query($e: String) { contact(externalId: $e) { id } }",
            json!({ "e": "\u{0}" }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("externalId"))
    );
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"f":"n","k":"a\u0000b","i":"01a1fefa-217c-752c-bea3-d578cd4dbd7c"}"#);
    let (code, field, _) = app
        .error(
            "query($a: String) { contacts(first: 5, after: $a, orderBy: { field: DISPLAY_NAME }) { nodes { id } } }",
            json!({ "a": cursor }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("after"))
    );
}

#[tokio::test]
async fn a_variable_the_request_does_not_carry_is_bad_input_naming_it() {
    let app = TestApp::new().await;
    for (query, name) in [
        // An input object argument: async-graphql notices only at execution.
        (
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
            "variables.i",
        ),
        // A scalar: refused by validation.
        (
            "query($n: Int!) { contacts(first: $n) { totalCount } }",
            "variables.n",
        ),
    ] {
        let (code, field, message) = app.error(query, json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{query}: {message}");
        assert_eq!(field.as_deref(), Some(name), "{query}: {message}");
    }
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM contacts").await, 0);
}

use serde_json::json;

use crate::common::TestApp;

/// The introspection query GraphiQL and code generators send.
const INTROSPECTION: &str = include_str!("../queries/introspection.graphql");

#[tokio::test]
async fn depth_limit_answers_limit_exceeded() {
    let app = TestApp::with_args(&["--max-depth", "4"]).await;
    app.data("{ contacts { nodes { id } } }", json!({})).await;
    let (code, _, message) = app
        .error(
            "{ contacts { nodes { conversations { contact { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "LIMIT_EXCEEDED", "{message}");
}

#[tokio::test]
async fn complexity_limit_counts_page_rows() {
    let app = TestApp::with_args(&["--max-complexity", "300"]).await;
    app.data(
        "{ contacts(first: 10) { nodes { id displayName } } }",
        json!({}),
    )
    .await;
    let (code, _, message) = app
        .error(
            "{ contacts(first: 100) { nodes { id displayName via { source handle } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "LIMIT_EXCEEDED", "{message}");
}

#[tokio::test]
async fn default_limits_admit_introspection_and_a_full_page() {
    let app = TestApp::new().await;
    let data = app.data(INTROSPECTION, json!({})).await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
    let full = format!("{{ contacts(first: 100) {{ totalCount edges {{ cursor node {{ {} }} }} pageInfo {{ hasNextPage endCursor }} }} }}", crate::common::CONTACT_FIELDS);
    app.data(&full, json!({})).await;
}

#[tokio::test]
async fn malformed_documents_and_arguments_are_bad_user_input() {
    let app = TestApp::new().await;
    for (doc, vars) in [
        ("{ contacts { ", json!({})),
        ("{ nope }", json!({})),
        ("{ contacts(first: \"ten\") { totalCount } }", json!({})),
        (
            "query($f: Int) { contacts(first: $f) { totalCount } }",
            json!({ "f": "ten" }),
        ),
        (
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
            json!({ "i": { "isSpammer": "yes" } }),
        ),
        (
            "mutation { createContact(input: {displayName: \"A\", metadata: 3}) { id } }",
            json!({}),
        ),
    ] {
        let (code, _, message) = app.error(doc, vars).await;
        assert_eq!(code, "BAD_USER_INPUT", "{doc}: {message}");
    }
}

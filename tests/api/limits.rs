use serde_json::json;

use crate::common::{s, TestApp};

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
    assert!(message.contains("--max-depth"), "{message}");
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
    assert!(message.contains("--max-complexity"), "{message}");
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

#[tokio::test]
async fn page_size_follows_its_flag() {
    let app = TestApp::with_args(&["--max-page-size", "10"]).await;
    app.data("{ contacts(first: 10) { totalCount } }", json!({}))
        .await;
    let (code, field, message) = app
        .error("{ contacts(last: 11) { totalCount } }", json!({}))
        .await;
    assert_eq!(code, "LIMIT_EXCEEDED");
    assert!(
        message.contains("at most 10") && message.contains("last"),
        "{message}"
    );
    assert_eq!(field, None);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_with_a_clear_error() {
    let app = TestApp::with_args(&["--max-body-bytes", "2000"]).await;
    let small = json!({ "query": "{ contacts { totalCount } }" });
    assert_eq!(app.post_with(&[], small).await.0, 200);
    let big = json!({ "query": format!("{{ contacts {{ totalCount }} }} # {}", "x".repeat(3000)) });
    let (status, body) = app.post_with(&[], big).await;
    assert_eq!(status, 413);
    assert_eq!(body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2000 bytes"),
        "{body}"
    );
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let app = TestApp::with_args(&["--disable-introspection"]).await;
    let (code, _, message) = app
        .error("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("--disable-introspection"), "{message}");
    // Hidden in a fragment, it still yields nothing.
    let response = app
        .gql(
            "{ ...F } fragment F on Query { __type(name: \"Contact\") { name } }",
            json!({}),
        )
        .await;
    assert!(response["data"]["__type"].is_null(), "{response}");
    app.data("{ contacts { totalCount } }", json!({})).await;
}

#[tokio::test]
async fn cors_allows_only_the_listed_origins() {
    use axum::body::Body;
    use axum::http::Request;
    let preflight = |origin: &str| {
        Request::options("/graphql")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let allowed = |app: &TestApp, origin: &'static str| {
        let request = preflight(origin);
        let router = app.router.clone();
        async move {
            use tower::ServiceExt;
            let response = router.oneshot(request).await.unwrap();
            response
                .headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap().to_owned())
        }
    };
    let app = TestApp::with_args(&[
        "--cors-origin",
        "https://app.example.com",
        "--cors-origin",
        "https://admin.example.com",
    ])
    .await;
    assert_eq!(
        allowed(&app, "https://app.example.com").await.as_deref(),
        Some("https://app.example.com")
    );
    assert_eq!(
        allowed(&app, "https://admin.example.com").await.as_deref(),
        Some("https://admin.example.com")
    );
    assert_eq!(allowed(&app, "https://evil.example.com").await, None);
    // What browsers and client libraries add may be sent, and the request id
    // read back.
    let sent = "content-type,authorization,idempotency-key,x-request-id,traceparent,tracestate,\
                baggage,sentry-trace,apollographql-client-name,apollographql-client-version,\
                apollo-require-preflight,x-apollo-operation-name";
    let request = Request::options("/graphql")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", sent)
        .body(Body::empty())
        .unwrap();
    let response = {
        use tower::ServiceExt;
        app.router.clone().oneshot(request).await.unwrap()
    };
    let allowed_headers = response.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for header in sent.split(',') {
        assert!(
            allowed_headers.contains(header),
            "{header} in {allowed_headers}"
        );
    }
    let request = Request::post("/graphql")
        .header("origin", "https://app.example.com")
        .header("content-type", "application/json")
        .header("x-request-id", "trace-me-42")
        .body(Body::from(r#"{"query":"{ contacts { totalCount } }"}"#))
        .unwrap();
    let response = {
        use tower::ServiceExt;
        app.router.clone().oneshot(request).await.unwrap()
    };
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    let closed = TestApp::new().await;
    assert_eq!(allowed(&closed, "https://app.example.com").await, None);
}

#[tokio::test]
async fn what_one_input_carries_is_bounded_by_flags_it_names() {
    let app = TestApp::with_args(&[
        "--max-via",
        "2",
        "--max-group-names",
        "2",
        "--max-links",
        "1",
        "--max-conversations",
        "1",
        "--max-metadata-keys",
        "2",
        "--max-contact-bytes",
        "2048",
    ])
    .await;
    let create = "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }";
    let conversation = |n: u8| json!({ "id": format!("0b7d3c3e-1f43-4d8e-9a8e-7c1d2b3a4f5{n}"), "channel": "chat" });
    for (input, field, flag) in [
        (
            json!({ "via": [
                { "source": "email", "handle": "a@x.org" },
                { "source": "email", "handle": "b@x.org" },
                { "source": "email", "handle": "c@x.org" }
            ] }),
            "input.via",
            "--max-via",
        ),
        (
            json!({ "groupNames": ["a", "b", "c"] }),
            "input.groupNames",
            "--max-group-names",
        ),
        (
            json!({ "links": ["https://a.org", "https://b.org"] }),
            "input.links",
            "--max-links",
        ),
        (
            json!({ "conversations": [conversation(1), conversation(2)] }),
            "input.conversations",
            "--max-conversations",
        ),
        (
            json!({ "metadata": { "a": 1, "b": 2, "c": 3 } }),
            "input.metadata",
            "--max-metadata-keys",
        ),
        (
            json!({ "description": "x".repeat(1500), "title": "y".repeat(900) }),
            "input",
            "--max-contact-bytes",
        ),
    ] {
        let response = app.gql(create, json!({ "i": input })).await;
        let error = &response["errors"][0];
        assert_eq!(error["extensions"]["code"], "LIMIT_EXCEEDED", "{response}");
        assert_eq!(error["extensions"]["field"], field, "{response}");
        assert!(s(&error["message"]).contains(flag), "{response}");
    }
    // Within the bounds, the same input is written.
    app.create(
        json!({ "via": [{ "source": "email", "handle": "a@x.org" }], "groupNames": ["a", "b"] }),
    )
    .await;
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM contacts").await, 1);
}

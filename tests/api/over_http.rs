//! GraphQL over HTTP as the spec says: GET runs queries, the response's
//! media type follows Accept, request errors are 400 (with no `data`
//! entry) for clients that speak application/graphql-response+json, and
//! compression when the client accepts it. (graphql-http's own audit runs
//! in node.rs.)

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::common::TestApp;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn send(app: &TestApp, request: Request<Body>) -> Reply {
    let response = app.router.clone().oneshot(request).await.expect("router");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn encode(text: &str) -> String {
    serde_urlencoded::to_string([("q", text)]).expect("encode")[2..].to_owned()
}

async fn get(app: &TestApp, query_string: &str, accept: Option<&str>) -> Reply {
    let mut request = Request::get(format!("/graphql?{query_string}"));
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    send(app, request.body(Body::empty()).expect("request")).await
}

async fn post(app: &TestApp, body: &str, accept: Option<&str>) -> Reply {
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    send(
        app,
        request.body(Body::from(body.to_owned())).expect("request"),
    )
    .await
}

#[tokio::test]
async fn get_runs_queries_with_variables_in_the_media_type_asked_for() {
    let app = TestApp::new().await;
    let id = app.create(json!({ "displayName": "Ada" })).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = "query One($id: ID!) { contact(id: $id) { displayName } }";
    let qs = format!(
        "query={}&operationName=One&variables={}&extensions=%7B%7D",
        encode(query),
        encode(&json!({ "id": id }).to_string())
    );
    for (accept, expected) in [
        (None, "application/json"),
        (Some("*/*"), "application/json"),
        (Some("application/json"), "application/json"),
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (
            Some("application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed"),
            GRAPHQL_RESPONSE,
        ),
    ] {
        let reply = get(&app, &qs, accept).await;
        assert_eq!(reply.status, StatusCode::OK, "{accept:?}");
        assert!(reply.content_type().starts_with(expected), "{accept:?}: {}", reply.content_type());
        assert_eq!(reply.json()["data"]["contact"]["displayName"], "Ada");
    }
}

#[tokio::test]
async fn a_browser_gets_the_playground_and_nothing_acceptable_is_406() {
    let app = TestApp::new().await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let reply = get(&app, "", Some(browser)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.content_type().starts_with("text/html"));
    // One URL, three media types: caches must key on Accept.
    let vary = |reply: &Reply| {
        reply
            .headers
            .get_all(header::VARY)
            .iter()
            .any(|v| v.to_str().unwrap_or("").contains("accept"))
    };
    assert!(vary(&reply));
    assert!(vary(&get(&app, "query=%7B__typename%7D", None).await));
    let reply = get(&app, "query=%7B__typename%7D", Some("application/xml")).await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    let reply = post(&app, r#"{"query":"{__typename}"}"#, Some("text/html")).await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn a_mutation_over_get_is_405_and_writes_nothing() {
    let app = TestApp::new().await;
    let mutation = r#"mutation { createContact(input: { displayName: "Eve" }) { id } }"#;
    for accept in [None, Some(GRAPHQL_RESPONSE)] {
        let reply = get(&app, &format!("query={}", encode(mutation)), accept).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(reply.headers[header::ALLOW], "POST");
        let body = reply.json();
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert!(body.get("data").is_none(), "{body}");
    }
    // Not a mutation: an operation GET cannot pick out is its request error.
    let two = encode("query A { __typename } query B { __typename }");
    let reply = get(&app, &format!("query={two}"), Some(GRAPHQL_RESPONSE)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let subscription = "subscription { contactEvents { kind } }";
    let reply = get(&app, &format!("query={}", encode(subscription)), None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM contacts").await, 0);
}

#[tokio::test]
async fn bad_get_parameters_are_400_naming_them() {
    let app = TestApp::new().await;
    for (qs, field) in [
        ("", "query"),
        ("query=%7B__typename%7D&variables=%5B%5D", "variables"),
        ("query=%7B__typename%7D&variables=nope", "variables"),
        ("query=%7B__typename%7D&extensions=1", "extensions"),
        ("query=a&query=b", "query"),
    ] {
        let reply = get(&app, qs, None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{qs}");
        let body = reply.json();
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{qs}: {body}"
        );
    }
}

/// Request errors (nothing executed): 400 and no `data` entry for
/// application/graphql-response+json; 200 for plain JSON, still without
/// `data`. A field error that nulls the result is executed: 200.
#[tokio::test]
async fn request_errors_answer_by_media_type() {
    let app = TestApp::new().await;
    let cases = [
        (r#"{"query":"{"}"#, "parse", None),
        (r#"{"query":"{ noSuchField }"}"#, "validation", None),
        (
            r#"{"query":"query($n: Int) { contacts(first: $n) { totalCount } }","variables":{"n":"x"}}"#,
            "variable coercion",
            Some("variables.n"),
        ),
        (
            r#"{"query":"query($id: ID!) { contact(id: $id) { id } }","variables":{}}"#,
            "missing variable",
            Some("variables.id"),
        ),
        (
            r#"{"query":"query($d: DateTime) { contacts(filter: { createdAfter: $d }) { totalCount } }","variables":{"d":"nope"}}"#,
            "custom scalar variable",
            Some("variables.d"),
        ),
        (
            r#"{"query":"{ contacts(filter: { createdAfter: \"nope\" }) { totalCount } }"}"#,
            "custom scalar literal",
            None,
        ),
        (
            r#"{"query":"query($n: Int) { contacts(first: $n) { totalCount } }","variables":{"n":1e400}}"#,
            "inexact number",
            Some("variables.n"),
        ),
    ];
    for (body, what, field) in cases {
        let reply = post(&app, body, Some(GRAPHQL_RESPONSE)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}");
        assert!(reply.content_type().starts_with(GRAPHQL_RESPONSE), "{what}");
        let json = reply.json();
        assert!(json.get("data").is_none(), "{what}: {json}");
        assert_eq!(
            json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{what}: {json}"
        );
        if let Some(field) = field {
            assert_eq!(
                json["errors"][0]["extensions"]["field"], field,
                "{what}: {json}"
            );
        }
        // The marker of an inexact number (domain::numbers) stays inside.
        assert!(!json.to_string().contains("\\u0000"), "{what}: {json}");

        let reply = post(&app, body, Some("application/json")).await;
        assert_eq!(reply.status, StatusCode::OK, "{what}");
        assert!(
            reply.content_type().starts_with("application/json"),
            "{what}"
        );
        assert!(reply.json().get("data").is_none(), "{what}");
    }
    // Executed, the root field failed: data is null, the error has a path.
    let invalid = r#"{"query":"mutation { createContact(input: { via: [{ source: \"email\", handle: \"not an address\" }] }) { id } }"}"#;
    let reply = post(&app, invalid, Some(GRAPHQL_RESPONSE)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let json = reply.json();
    assert!(json.get("data").is_some(), "{json}");
    assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    // Not a GraphQL request at all (not JSON, no query): 400 whatever is
    // accepted.
    for accept in [None, Some(GRAPHQL_RESPONSE)] {
        let reply = post(&app, "{nope", accept).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let reply = post(&app, r#"{"qeury":"{ __typename }"}"#, accept).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.json()["errors"][0]["extensions"]["field"], "query");
        let reply = post(&app, r#"[{"query":"{ __typename }"},{}]"#, accept).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        for (body, field) in [
            (r#"{"query":5}"#, "query"),
            (r#"{"query":"{ __typename }","variables":[1]}"#, "variables"),
            (
                r#"{"query":"{ __typename }","operationName":7}"#,
                "operationName",
            ),
            (
                r#"[{"query":"{ __typename }","extensions":"x"}]"#,
                "extensions",
            ),
            ("7", "body"),
        ] {
            let reply = post(&app, body, accept).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
            let json = reply.json();
            assert_eq!(
                json["errors"][0]["extensions"]["field"], field,
                "{body}: {json}"
            );
            assert!(!json.to_string().contains("untagged"), "{body}: {json}");
        }
    }
}

/// GET goes through the same authentication as POST.
#[tokio::test]
async fn get_needs_the_token_post_needs() {
    let app = TestApp::new().await;
    let token = contacts_api::service::tokens::create(
        &app.state.db,
        "reader",
        contacts_api::domain::Scope::Read,
    )
    .await
    .expect("token");
    let qs = "query=%7B__typename%7D";
    let reply = get(&app, qs, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.headers.contains_key(header::WWW_AUTHENTICATE));
    let request = Request::get(format!("/graphql?{qs}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["data"]["__typename"], "Query");
}

#[tokio::test]
async fn responses_and_assets_are_compressed_when_accepted() {
    let app = TestApp::new().await;
    for i in 0..20 {
        app.create(json!({ "displayName": format!("Person {i}") }))
            .await;
    }
    let query = encode("{ contacts(first: 20) { edges { node { id displayName } } } }");
    for encoding in ["gzip", "br"] {
        let request = Request::get(format!("/graphql?query={query}"))
            .header(header::ACCEPT_ENCODING, encoding)
            .body(Body::empty())
            .expect("request");
        let reply = send(&app, request).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.headers[header::CONTENT_ENCODING], encoding);
    }
    let request = Request::get("/graphql/assets/graphiql.min.js")
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .body(Body::empty())
        .expect("request");
    let asset = send(&app, request).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert!(asset.headers.contains_key(header::CONTENT_ENCODING));
    assert!(asset.body.len() < 500_000, "{} bytes", asset.body.len());
    let plain = get(&app, &format!("query={query}"), None).await;
    assert!(!plain.headers.contains_key(header::CONTENT_ENCODING));
    assert_eq!(
        plain.json()["data"]["contacts"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
}

fn sha256(text: &str) -> String {
    contacts_api::domain::persisted::hash_of(text)
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// Apollo's automatic persisted queries: a hash alone is
/// PERSISTED_QUERY_NOT_FOUND (the message PersistedQueryLink matches) until
/// the hash comes with its text; then the hash alone runs it, over POST and
/// GET. A hash that is not the text's is refused, naming it.
#[tokio::test]
async fn persisted_queries_follow_apollos_protocol() {
    let app = TestApp::new().await;
    let query = "query Types { contactTypes { value } }";
    let hash = sha256(query);
    let hash_only = json!({ "extensions": persisted(&hash) }).to_string();
    let reply = post(&app, &hash_only, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    assert!(body.get("data").is_none());

    let wrong = json!({ "query": "{ __typename }", "extensions": persisted(&hash) }).to_string();
    let body = post(&app, &wrong, None).await.json();
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "extensions.persistedQuery.sha256Hash"
    );
    let bad_version =
        json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash } } });
    let body = post(&app, &bad_version.to_string(), None).await.json();
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "extensions.persistedQuery.version"
    );

    // Refused requests teach nothing: a mutation over GET (405), a document
    // that does not parse.
    let mutation = "mutation { createContact(input: { displayName: \"Via GET\" }) { id } }";
    let qs = format!(
        "query={}&extensions={}",
        encode(mutation),
        encode(&persisted(&sha256(mutation)).to_string())
    );
    assert_eq!(
        get(&app, &qs, None).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let broken = "{ nope";
    post(
        &app,
        &json!({ "query": broken, "extensions": persisted(&sha256(broken)) }).to_string(),
        None,
    )
    .await;
    for text in [mutation, broken] {
        let body = json!({ "extensions": persisted(&sha256(text)) }).to_string();
        let reply = post(&app, &body, None).await.json();
        assert_eq!(
            reply["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND",
            "{text}"
        );
    }
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM contacts").await, 0);

    let full = json!({ "query": query, "extensions": persisted(&hash) }).to_string();
    let reply = post(&app, &full, None).await;
    assert!(reply.json()["data"]["contactTypes"].is_array());
    let reply = post(&app, &hash_only, None).await;
    assert!(
        reply.json()["data"]["contactTypes"].is_array(),
        "{}",
        reply.json()
    );
    let qs = format!("extensions={}", encode(&persisted(&hash).to_string()));
    let reply = get(&app, &qs, None).await;
    assert!(
        reply.json()["data"]["contactTypes"].is_array(),
        "{}",
        reply.json()
    );
}

/// --trusted-documents: only registered documents run, as text or by hash;
/// a client cannot register one by sending it.
#[tokio::test]
async fn trusted_documents_run_only_what_was_registered() {
    let app = TestApp::with_args(&["--trusted-documents"]).await;
    let query = "query Types { contactTypes { value } }";
    let hash = sha256(query);
    let other = "{ contacts { totalCount } }";
    for body in [
        json!({ "query": other }),
        json!({ "query": other, "extensions": persisted(&sha256(other)) }),
    ] {
        let reply = post(&app, &body.to_string(), None).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(reply.json()["errors"][0]["extensions"]["code"], "FORBIDDEN");
    }
    let hash_only = json!({ "extensions": persisted(&sha256(other)) }).to_string();
    assert_eq!(
        post(&app, &hash_only, None).await.json()["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    let manifest = contacts_api::domain::persisted::parse_manifest(
        &json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": hash, "name": "Types", "type": "query", "body": query }]
        })
        .to_string(),
    )
    .expect("manifest");
    let registered = contacts_api::service::persisted::register(&app.state.db, &manifest)
        .await
        .expect("register");
    assert_eq!((registered.added, registered.known), (1, 0));
    for body in [
        json!({ "query": query }),
        json!({ "extensions": persisted(&hash) }),
        json!({ "query": query, "extensions": persisted(&hash) }),
    ] {
        let reply = post(&app, &body.to_string(), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{body}");
        assert!(reply.json()["data"]["contactTypes"].is_array(), "{body}");
    }
    let again = contacts_api::service::persisted::register(&app.state.db, &manifest)
        .await
        .expect("register again");
    assert_eq!((again.added, again.known), (0, 1));
}

/// A JSON array of operations is answered in order, each authorised on its
/// own; the batch is bounded by --max-batch-operations and takes no
/// Idempotency-Key.
#[tokio::test]
async fn batches_run_in_order_each_authorised() {
    let app = TestApp::with_args(&["--max-batch-operations", "3"]).await;
    let batch = json!([
        { "query": "mutation { createContact(input: { displayName: \"One\" }) { displayName } }" },
        { "query": "{ contacts { totalCount } }" },
        { "query": "{ nope }" }
    ]);
    let reply = post(&app, &batch.to_string(), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body[0]["data"]["createContact"]["displayName"], "One");
    assert_eq!(body[1]["data"]["contacts"]["totalCount"], 1);
    assert_eq!(body[2]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(body[2].get("data").is_none());

    let four = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }, { "query": "{ __typename }" }, { "query": "{ __typename }" }]);
    let reply = post(&app, &four.to_string(), None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["code"],
        "LIMIT_EXCEEDED"
    );
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", "k-1")
        .body(Body::from(
            json!([{ "query": "{ __typename }" }]).to_string(),
        ))
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["field"],
        "idempotencyKey"
    );

    // A read token's batch: its mutation is refused, its query runs.
    let token = contacts_api::service::tokens::create(
        &app.state.db,
        "reader",
        contacts_api::domain::Scope::Read,
    )
    .await
    .expect("token");
    let mixed = json!([
        { "query": "mutation { createContact(input: { displayName: \"Two\" }) { id } }" },
        { "query": "{ contacts { totalCount } }" }
    ]);
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(mixed.to_string()))
        .expect("request");
    let body = send(&app, request).await.json();
    assert_eq!(
        body[0]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    assert_eq!(body[1]["data"]["contacts"]["totalCount"], 1, "{body}");
}

/// Headers a proxy and this server could read differently are refused: two
/// Authorization headers, two Content-Types, Content-Length with
/// Transfer-Encoding.
#[tokio::test]
async fn ambiguous_headers_are_refused() {
    let app = TestApp::new().await;
    let body = r#"{"query":"{ __typename }"}"#;
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, "Bearer a")
        .header(header::AUTHORIZATION, "Bearer b")
        .body(Body::from(body))
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["field"],
        "Authorization"
    );
    for types in [
        ["application/json", "text/plain"],
        ["text/plain", "application/json"],
    ] {
        let request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, types[0])
            .header(header::CONTENT_TYPE, types[1])
            .body(Body::from(body))
            .expect("request");
        assert_eq!(
            send(&app, request).await.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::TRANSFER_ENCODING, "chunked")
        .body(Body::from(body))
        .expect("request");
    assert_eq!(send(&app, request).await.status, StatusCode::BAD_REQUEST);
}

/// An inexact number where a string is expected (an ID) is refused with a
/// message that quotes the number, never the marker it travels under.
#[tokio::test]
async fn an_inexact_number_for_an_id_is_quoted_plainly() {
    let app = TestApp::new().await;
    let body = r#"{"query":"query($i: ID!) { node(id: $i) { id } }","variables":{"i":1e400}}"#;
    let text = String::from_utf8(post(&app, body, None).await.body).expect("UTF-8");
    assert!(text.contains("BAD_USER_INPUT"), "{text}");
    assert!(
        !text.contains("inexact-number") && !text.contains("\\u0000"),
        "{text}"
    );
}

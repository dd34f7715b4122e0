use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::common::TestApp;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = TestApp::new().await;
    let (status, body) = app
        .request(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok");
}

#[tokio::test]
async fn get_graphql_serves_the_playground() {
    let app = TestApp::new().await;
    let request = Request::get("/graphql")
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let (status, body) = app.request(request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.to_lowercase().contains("graphiql"), "{body}");
    assert!(body.contains("/graphql"));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_rejected() {
    let app = TestApp::new().await;
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let (status, _) = app.request(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    use tower::ServiceExt;
    let app = TestApp::new().await;
    let response = app
        .router
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get("/healthz")
                .header("x-request-id", "from-the-load-balancer")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "from-the-load-balancer");
}

#[tokio::test]
async fn metrics_count_requests_pool_and_events() {
    let app = TestApp::new().await;
    app.data(
        "query CountThem { contacts { totalCount } }",
        serde_json::json!({}),
    )
    .await;
    app.error(
        "query Broken { contacts(first: -1) { totalCount } }",
        serde_json::json!({}),
    )
    .await;
    // A name that has run without error keeps its label when it fails.
    app.error(
        "query CountThem { contacts(first: -1) { totalCount } }",
        serde_json::json!({}),
    )
    .await;
    // 300 made-up names, failing: none takes a label, so none pushes a real
    // one out.
    for i in 0..300 {
        app.error(&format!("query Junk{i} {{ nope }}"), serde_json::json!({}))
            .await;
    }
    app.data(
        "query LateButReal { contacts { totalCount } }",
        serde_json::json!({}),
    )
    .await;
    app.create(serde_json::json!({ "displayName": "M" })).await;
    let (status, text) = app
        .request(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    for want in [
        "contacts_graphql_requests_total{operation=\"CountThem\",outcome=\"ok\"} 1",
        // A name never seen to succeed is counted as other.
        "contacts_graphql_requests_total{operation=\"other\",outcome=\"BAD_USER_INPUT\"} 301",
        "contacts_graphql_requests_total{operation=\"CountThem\",outcome=\"BAD_USER_INPUT\"} 1",
        "contacts_graphql_requests_total{operation=\"LateButReal\",outcome=\"ok\"} 1",
        "contacts_graphql_request_duration_seconds_bucket{le=",
        "contacts_db_pool_connections{state=\"idle\"}",
        "contacts_db_pool_connections{state=\"in_use\"}",
        "contacts_events_published_total 1",
        "contacts_websocket_connections 0",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
}

#[tokio::test]
async fn readyz_answers_while_the_database_does() {
    let app = TestApp::new().await;
    let (status, body) = app
        .request(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready"));
}

#[tokio::test]
async fn the_playground_is_built_in() {
    let app = TestApp::new().await;
    let (_, page) = app
        .request(
            Request::get("/graphql")
                .header("accept", "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no CDN: {page}"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphql-ws.min.js",
    ] {
        assert!(
            page.contains(&format!("/graphql/assets/{asset}")),
            "{asset}"
        );
        let (status, body) = app
            .request(
                Request::get(format!("/graphql/assets/{asset}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{asset}");
        assert!(body.len() > 5_000, "{asset}");
    }
    let (status, _) = app
        .request(
            Request::get("/graphql/assets/nope.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// On PostgreSQL one pooled connection listens for events for good: a pool
/// of one would leave none for requests, so the server refuses it up front.
#[tokio::test]
async fn a_pool_of_one_is_refused_on_postgres() {
    let port = crate::process::free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let (ok, _, err) = crate::process::run(&[
        "serve",
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none",
        "--db-pool-size",
        "1",
        "--listen",
        &listen,
    ])
    .await;
    assert!(
        !ok && err.contains("--db-pool-size must be at least 2"),
        "{err}"
    );
}

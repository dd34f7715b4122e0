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

//! The HTTP surface: GraphQL (POST, WebSocket), the playground, health,
//! readiness and metrics, behind request ids, tracing, CORS and a body limit.

pub mod auth;
mod documents;
mod graphql;
mod health;
pub mod metrics;
mod playground;
mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::{header, HeaderName, HeaderValue, Method, Request};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use sea_orm::DatabaseConnection;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use auth::Auth;
pub use documents::Documents;
pub use metrics::Metrics;

use crate::graphql::AppSchema;

/// Limits and options of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Whether __schema and __type are answered.
    pub introspection: bool,
    /// Origins allowed by CORS; empty: no CORS headers (same-origin only).
    pub cors_origins: Vec<String>,
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub db: DatabaseConnection,
    pub auth: Auth,
    pub metrics: Arc<Metrics>,
    pub documents: Arc<Documents>,
    /// Permits for large requests, one per core (see graphql.rs).
    pub large_requests: Arc<Semaphore>,
    pub settings: Arc<HttpSettings>,
    /// Cancelled when the server begins shutting down: WebSocket connections
    /// close, in-flight requests finish.
    pub shutdown: CancellationToken,
    /// WebSocket connections, which outlive the HTTP server's own graceful
    /// shutdown; serve waits for them.
    pub tasks: TaskTracker,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The routes. Fails only on a CORS origin that is not a valid header value.
pub fn router(state: AppState) -> anyhow::Result<Router> {
    let cors = cors_layer(&state.settings.cors_origins)?;
    let mut router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql::post))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/graphql/assets/{file}", get(playground::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::scrape))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .with_state(state);
    if let Some(cors) = cors {
        router = router.layer(cors);
    }
    Ok(router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let id = request
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        id,
                        method = %request.method(),
                        path = request.uri().path(),
                    )
                })
                // One line per request at INFO, inside the span: the access log.
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid)))
}

/// GET /graphql: a WebSocket upgrade, else the playground.
async fn graphql_get(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (mut parts, _) = request.into_parts();
    match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => ws::upgrade(State(state), parts.headers, ws).await,
        Err(_) => playground::page(&state).await,
    }
}

fn cors_layer(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o.trim() == "*") {
        AllowOrigin::any()
    } else {
        let list = origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o.trim().trim_end_matches('/'))
                    .map_err(|_| anyhow::anyhow!("--cors-origin {o:?} is not a valid origin"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        AllowOrigin::list(list)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
            .max_age(Duration::from_secs(3600)),
    ))
}

//! The HTTP surface: GraphQL (POST, WebSocket), the playground, health,
//! readiness and metrics, behind request ids, tracing, CORS and a body limit.

pub mod auth;
mod body;
mod export;
mod graphql;
mod guard;
mod health;
mod media;
pub mod metrics;
mod params;
mod playground;
mod serve;
mod upload;
mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sea_orm::DatabaseConnection;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use auth::Auth;
pub use body::BodyLimits;
pub use guard::RateLimits;
pub use metrics::Metrics;
pub use serve::{serve, ConnectionLimits};

use crate::graphql::AppSchema;
use crate::service::health::DbHealth;
use media::Media;

/// Limits and options of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Whether __schema and __type are answered.
    pub introspection: bool,
    /// Origins allowed by CORS; empty: no CORS headers (same-origin only).
    pub cors_origins: Vec<String>,
    /// Host values served besides loopback while no token exists.
    pub allowed_hosts: Vec<String>,
    /// Header naming the client's address behind a proxy.
    pub client_ip_header: Option<String>,
    /// Most operations in a batched POST; 0: no batching.
    pub max_batch_operations: usize,
    /// Largest uploaded file (a multipart POST), in bytes.
    pub max_upload_bytes: u64,
    /// An upload idle this long is cut off.
    pub upload_idle: Duration,
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub db: DatabaseConnection,
    pub auth: Auth,
    pub metrics: Arc<Metrics>,
    /// Bounds on reading request bodies.
    pub body: Arc<BodyLimits>,
    /// Requests per second per token and per address.
    pub rates: Arc<RateLimits>,
    /// Whether the database answers, as last seen.
    pub health: DbHealth,
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
        .route("/graphql/ws", get(graphql_ws))
        .route("/graphql/assets/{file}", get(playground::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/export", get(export::get))
        // The GraphQL handler reads its body itself (body.rs).
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
        // gzip or br when the client accepts it (bodies over 32 bytes; not
        // for event streams). Level 4: brotli's default (11) costs far more
        // CPU than a JSON answer is worth.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)));
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
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                // A 5xx is mostly a state the client is told to wait out
                // (503 SERVER_BUSY while the duplicate index builds, storage
                // full): WARN. An internal error is logged at ERROR, with
                // its cause, where it is classified (graphql/error_codes.rs).
                .on_failure(DefaultOnFailure::new().level(Level::WARN)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid)))
}

impl AppState {
    /// While the server runs without tokens, only loopback and
    /// --allowed-host names are served (see guard::check_host). Ok: whether
    /// the server runs open.
    async fn check_host(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
        media: Media,
    ) -> Result<bool, Box<Response>> {
        let open = match self.auth.open_mode().await {
            Ok(open) => open,
            Err(error) => {
                return Err(Box::new(graphql::error_reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &error,
                    media,
                )))
            }
        };
        if !open {
            return Ok(false);
        }
        guard::check_host(headers, uri, &self.settings.allowed_hosts)
            .map_err(|(status, error)| Box::new(graphql::error_reply(status, &error, media)))?;
        Ok(true)
    }
}

/// GET /graphql: a WebSocket upgrade; else the playground for a browser
/// (Accept: text/html); else a query in the query string (graphql.rs).
async fn graphql_get(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    if parts.headers.contains_key(header::UPGRADE) {
        return websocket(state, parts).await;
    }
    let offered = [Media::GraphQlResponse, Media::Json, Media::Html];
    match media::negotiate(&parts.headers, &offered) {
        Some(Media::Html) => {
            if let Err(response) = state
                .check_host(&parts.headers, &parts.uri, Media::Json)
                .await
            {
                return *response;
            }
            let mut page = playground::page(&state).await;
            graphql::vary_on_accept(&mut page);
            page
        }
        Some(media) => graphql::get(state, parts, media).await,
        None => graphql::not_acceptable(&state, std::time::Instant::now()),
    }
}

/// GET /graphql/ws.
async fn graphql_ws(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    websocket(state, request.into_parts().0).await
}

/// A WebSocket upgrade (either path), once the host is checked.
async fn websocket(state: AppState, mut parts: axum::http::request::Parts) -> Response {
    if let Err(response) = state
        .check_host(&parts.headers, &parts.uri, Media::Json)
        .await
    {
        return *response;
    }
    match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => ws::upgrade(state, parts.headers, parts.uri, parts.extensions, ws).await,
        Err(rejection) => rejection.into_response(),
    }
}

/// Headers a page on an allowed origin may send: the request's own, the
/// request id, the tracing headers of W3C Trace Context and Baggage and of
/// Sentry, Apollo's client identification, and the CSRF-prevention headers
/// (guard::check_content_type).
const CORS_REQUEST_HEADERS: [&str; 12] = [
    "content-type",
    "authorization",
    graphql::IDEMPOTENCY_KEY,
    "x-request-id",
    "traceparent",
    "tracestate",
    "baggage",
    "sentry-trace",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
];

/// Response headers a page may read: the request id (to quote in a report)
/// and when to retry.
const CORS_EXPOSED_HEADERS: [&str; 2] = ["x-request-id", "retry-after"];

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
            .allow_headers(CORS_REQUEST_HEADERS.map(HeaderName::from_static))
            .expose_headers(CORS_EXPOSED_HEADERS.map(HeaderName::from_static))
            .max_age(Duration::from_secs(3600)),
    ))
}

//! Liveness and readiness for load balancers and orchestrators.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;

/// GET /healthz: the process is up and serving HTTP.
pub async fn healthz() -> &'static str {
    "ok"
}

/// GET /readyz: the database answers (503 while it does not).
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.health.is_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable");
    }
    match tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
        Err(_) => {
            tracing::warn!("not ready: the database did not answer within 2 s");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

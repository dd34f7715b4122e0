//! POST /graphql: authenticate, authorise, execute within the time limit,
//! count.

use std::time::Instant;

use async_graphql::parser::types::OperationType;
use async_graphql::Executor as _;
use async_graphql::{BatchResponse, Response as GqlResponse};
use async_graphql_axum::GraphQLResponse;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use crate::error::AppError;
use crate::graphql::access;
use crate::graphql::server_error;

/// Bodies above this many bytes count as large: about 250 rows of an import.
/// At most one large request per core is parsed and executed at a time.
const LARGE_BODY_BYTES: usize = 64 * 1024;

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let error = AppError::LimitExceeded(format!(
                "the request body is larger than {} bytes (--max-body-bytes)",
                state.settings.max_body_bytes
            ));
            state.metrics.observe(None, error.code(), started.elapsed());
            return (StatusCode::PAYLOAD_TOO_LARGE, json(error_response(&error))).into_response();
        }
        Err(rejection) => return rejection.into_response(),
    };
    // Large requests (imports) take a permit before their JSON becomes
    // values, and keep it until they are done: their memory is bounded by
    // the number of cores, not by how many clients send one at once.
    let permit = if body.len() > LARGE_BODY_BYTES {
        match state.large_requests.clone().acquire_owned().await {
            Ok(permit) => Some(permit),
            // The semaphore is never closed; answer as if shutting down.
            Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    } else {
        None
    };
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let error = AppError::BadUserInput {
                field: None,
                message: format!("the body must be a JSON GraphQL request: {e}"),
            };
            state.metrics.observe(None, error.code(), started.elapsed());
            return (StatusCode::BAD_REQUEST, json(error_response(&error))).into_response();
        }
    };

    let principal = match state
        .auth
        .authenticate(headers.get(header::AUTHORIZATION))
        .await
    {
        Ok(principal) => principal,
        Err(error) => return finish(&state, None, error_response(&error), started),
    };
    // Parsed once here (or taken from the cache); the executor reuses it.
    state.documents.prepare(&mut request);
    let operation_name = request.operation_name.clone();
    let mut operation_type = None;
    let mut label = operation_name.clone();
    if let Ok(doc) = request.parsed_query() {
        operation_type = access::operation_type(doc, operation_name.as_deref());
        label = label.or_else(|| access::operation_label(doc));
        if let Err(error) = access::authorize(principal, doc, operation_name.as_deref()) {
            return finish(&state, label.as_deref(), error_response(&error), started);
        }
        // The schema answers such fields with null; say why instead.
        if !state.settings.introspection && access::introspects(doc, operation_name.as_deref()) {
            let error = AppError::BadUserInput {
                field: None,
                message: "introspection is disabled on this server (--disable-introspection)"
                    .into(),
            };
            return finish(&state, label.as_deref(), error_response(&error), started);
        }
    }
    let response = execute(&state, request.data(principal), operation_type, permit).await;
    finish(&state, label.as_deref(), response, started)
}

/// Runs the request in a task of its own, so that running out of time can
/// leave a mutation to finish its transaction (cutting it off mid-way would
/// leave its connection holding locks) while a query is simply stopped.
async fn execute(
    state: &AppState,
    request: async_graphql::Request,
    operation_type: Option<OperationType>,
    permit: Option<OwnedSemaphorePermit>,
) -> GqlResponse {
    let schema = state.schema.clone();
    // Tracked, so that shutdown waits for a mutation that outran its client.
    let mut task = state.tasks.spawn(async move {
        let response = schema.execute(request).await;
        drop(permit);
        response
    });
    let limit = state.settings.request_timeout;
    match tokio::time::timeout(limit, &mut task).await {
        Ok(Ok(response)) => response,
        Ok(Err(panic)) => error_response(&AppError::Internal(anyhow::anyhow!(
            "request task failed: {panic}"
        ))),
        Err(_) => {
            let mutation = operation_type == Some(OperationType::Mutation);
            if !mutation {
                task.abort();
            }
            error_response(&AppError::LimitExceeded(format!(
                "the request took longer than {} s (--request-timeout){}",
                limit.as_secs(),
                if mutation {
                    "; the mutation was not cut off and may still be applied"
                } else {
                    ""
                }
            )))
        }
    }
}

fn finish(
    state: &AppState,
    operation: Option<&str>,
    response: GqlResponse,
    started: Instant,
) -> Response {
    let outcome = response.errors.first().map_or("ok", |e| {
        e.extensions
            .as_ref()
            .and_then(|ext| ext.get("code"))
            .and_then(|code| match code {
                async_graphql::Value::String(code) => Some(code.as_str()),
                _ => None,
            })
            .unwrap_or("error")
    });
    state.metrics.observe(operation, outcome, started.elapsed());
    json(response)
}

fn json(response: GqlResponse) -> Response {
    GraphQLResponse(BatchResponse::Single(response)).into_response()
}

pub fn error_response(error: &AppError) -> GqlResponse {
    GqlResponse::from_errors(vec![server_error(error)])
}

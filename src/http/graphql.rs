//! POST /graphql: the header checks, authentication before the body is
//! read, a bounded body, then the gate and execution within the time limit,
//! counted.

use std::net::IpAddr;
use std::time::Instant;

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchResponse, Response as GqlResponse};
use async_graphql_axum::GraphQLResponse;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::OwnedSemaphorePermit;

use super::body::BodyError;
use super::guard::{self, RateKey};
use super::AppState;
use crate::domain::numbers;
use crate::error::AppError;
use crate::graphql::access::Principal;
use crate::graphql::{idempotent, server_error};

/// The header a client retries a mutation under (see graphql::idempotent).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Bodies above this many bytes count as large: about 250 rows of an import.
/// At most one large request per core is parsed and executed at a time.
const LARGE_BODY_BYTES: usize = 64 * 1024;

pub async fn post(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let started = Instant::now();
    if state.health.is_down() {
        return unavailable(&state, started);
    }
    let (parts, body) = request.into_parts();
    let principal = match caller(&state, &parts, started).await {
        Ok(principal) => principal,
        Err(refusal) => return *refusal,
    };
    let (request, permit) = match read_request(&state, &parts, body, started).await {
        Ok(read) => read,
        Err(refusal) => return *refusal,
    };
    let trusted = principal != Principal::Visitor;
    let (label, mut response) = run(&state, request, principal, permit, started).await;
    if reason(&response) == Some("SERVER_BUSY") && !state.health.probe(&state.db).await {
        // Not busy: the database is gone (see service::health).
        response = error_response(&AppError::Unavailable(sea_orm::DbErr::Custom(
            "the database does not accept connections".into(),
        )));
    }
    finish(&state, label.as_deref(), response, started, trusted)
}

/// Who is calling, from the headers alone (Host, Content-Type, rates, the
/// token), before a byte of the body is read: a bad token or a foreign page
/// costs the server no memory.
async fn caller(
    state: &AppState,
    parts: &Parts,
    started: Instant,
) -> Result<Principal, Box<Response>> {
    let open = state.check_host(&parts.headers, &parts.uri).await?;
    if let Err((status, error)) = guard::check_content_type(&parts.headers) {
        return Err(Box::new(refuse(state, status, &error, started)));
    }
    let authorization = parts.headers.get(header::AUTHORIZATION);
    let address = guard::client_address(
        &parts.headers,
        &parts.extensions,
        state.settings.client_ip_header.as_deref(),
    );
    if let Some(refusal) = rate_limited(state, address, authorization, open, started) {
        return Err(Box::new(refusal));
    }
    match authorization {
        None if open => Ok(Principal::Open),
        None => Ok(Principal::Visitor),
        Some(value) => match state.auth.authenticate(Some(value)).await {
            Ok(principal) => Ok(principal),
            Err(error) => {
                // Made-up tokens count against the address they come from.
                if let (Some(address), AppError::Unauthenticated(_)) = (address, &error) {
                    if let Err(wait) = state.rates.failed(address) {
                        return Err(Box::new(too_many(state, wait, started)));
                    }
                }
                Err(Box::new(finish(
                    state,
                    None,
                    error_response(&error),
                    started,
                    false,
                )))
            }
        },
    }
}

/// Reads the body within its bounds and decodes the GraphQL request. Large
/// requests (imports) take a permit before their JSON becomes values, and
/// keep it until they are done: their memory is bounded by the number of
/// cores, not by how many clients send one at once.
async fn read_request(
    state: &AppState,
    parts: &Parts,
    body: axum::body::Body,
    started: Instant,
) -> Result<(async_graphql::Request, Option<OwnedSemaphorePermit>), Box<Response>> {
    let body = match state.body.read(&parts.headers, body).await {
        Ok(body) => body,
        Err(BodyError::Aborted) => return Err(Box::new(StatusCode::BAD_REQUEST.into_response())),
        Err(BodyError::Refused {
            status,
            error,
            retry_after,
        }) => {
            let mut response = refuse(state, status, &error, started);
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            return Err(Box::new(response));
        }
    };
    let permit = if body.bytes.len() > LARGE_BODY_BYTES {
        match state.large_requests.clone().acquire_owned().await {
            Ok(permit) => Some(permit),
            // The semaphore is never closed; answer as if shutting down.
            Err(_) => return Err(Box::new(StatusCode::SERVICE_UNAVAILABLE.into_response())),
        }
    } else {
        None
    };
    // Numbers that parsing would round become marked strings, refused by
    // validation with their field (domain::numbers).
    let marked = std::str::from_utf8(&body.bytes)
        .ok()
        .and_then(numbers::mark_inexact_json);
    let bytes = marked.as_ref().map_or(&body.bytes[..], String::as_bytes);
    let decoded = serde_json::from_slice(bytes).map_err(|e| AppError::BadUserInput {
        field: None,
        message: format!("the body must be a JSON GraphQL request: {e}"),
    });
    match decoded.map(|request| with_header_key(&parts.headers, request)) {
        Ok(request) => Ok((request, permit)),
        Err(error) => Err(Box::new(refuse(
            state,
            StatusCode::BAD_REQUEST,
            &error,
            started,
        ))),
    }
}

/// Hands the `Idempotency-Key` header values to the schema, which checks
/// them only for a mutation (queries ignore the key).
fn with_header_key(
    headers: &axum::http::HeaderMap,
    mut request: async_graphql::Request,
) -> async_graphql::Request {
    let values: Vec<Vec<u8>> = headers
        .get_all(IDEMPOTENCY_KEY)
        .iter()
        .map(|v| v.as_bytes().to_vec())
        .collect();
    if !values.is_empty() {
        request.data.insert(idempotent::HeaderKeys(values));
    }
    request
}

/// Counts the request against its token's or its address's rate; Some: the
/// refusal to answer with.
pub(super) fn rate_limited(
    state: &AppState,
    address: Option<IpAddr>,
    authorization: Option<&HeaderValue>,
    open: bool,
    started: Instant,
) -> Option<Response> {
    if let Some(wait) = address.and_then(|a| state.rates.penalty(a)) {
        return Some(too_many(state, wait, started));
    }
    let key = match authorization.and_then(|v| v.to_str().ok()) {
        Some(value) => RateKey::Token(Sha256::digest(value.trim().as_bytes()).into()),
        None => RateKey::Address(address?),
    };
    // The quick-start mode (no token exists, loopback) is the developer's own.
    if matches!(key, RateKey::Address(_)) && open {
        return None;
    }
    state
        .rates
        .check(key)
        .err()
        .map(|wait| too_many(state, wait, started))
}

/// HTTP 429 with Retry-After.
fn too_many(state: &AppState, wait: std::time::Duration, started: Instant) -> Response {
    let (status, error, seconds) = guard::too_many(wait);
    let mut response = refuse(state, status, &error, started);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// Admits and executes within the request timeout, measured from when the
/// request arrived: reading, parsing and validating count against it.
/// Execution runs in a task of its own, so that running out of time can leave
/// a mutation to finish its transaction (cutting it off mid-way would leave
/// its connection holding locks) while a query is simply stopped.
async fn run(
    state: &AppState,
    mut request: async_graphql::Request,
    principal: Principal,
    permit: Option<OwnedSemaphorePermit>,
    started: Instant,
) -> (Option<String>, GqlResponse) {
    let limit = state.settings.request_timeout;
    let deadline = tokio::time::Instant::from_std(started) + limit;
    let timed_out = |mutation: bool| {
        error_response(&AppError::LimitExceeded(format!(
            "the request took longer than {} s (--request-timeout){}",
            limit.as_secs(),
            if mutation {
                "; the mutation was not cut off and may still be applied"
            } else {
                ""
            }
        )))
    };
    let admitted =
        match tokio::time::timeout_at(deadline, state.schema.admit(&mut request, Some(principal)))
            .await
        {
            Err(_) => return (None, timed_out(false)),
            Ok(Err(error)) => return (None, GqlResponse::from_errors(vec![error])),
            Ok(Ok(admitted)) => admitted,
        };
    let schema = state.schema.clone();
    let run_as = admitted.clone();
    // Tracked, so that shutdown waits for a mutation that outran its client.
    let mut task = state.tasks.spawn(async move {
        let response = schema.execute_admitted(request, &run_as).await;
        drop(permit);
        response
    });
    let response = match tokio::time::timeout_at(deadline, &mut task).await {
        Ok(Ok(response)) => response,
        Ok(Err(panic)) => error_response(&AppError::Internal(anyhow::anyhow!(
            "request task failed: {panic}"
        ))),
        Err(_) => {
            let mutation = admitted.operation_type == Some(OperationType::Mutation);
            if !mutation {
                task.abort();
            }
            timed_out(mutation)
        }
    };
    (admitted.label, response)
}

/// Answers a refusal made before the request reached GraphQL.
fn refuse(state: &AppState, status: StatusCode, error: &AppError, started: Instant) -> Response {
    state
        .metrics
        .observe(None, error.code(), started.elapsed(), false);
    (status, json(error_response(error))).into_response()
}

/// DATABASE_UNAVAILABLE at once, while the database is known to be down.
fn unavailable(state: &AppState, started: Instant) -> Response {
    let error = AppError::Unavailable(sea_orm::DbErr::Custom(
        "the database was marked down".into(),
    ));
    let mut response = refuse(state, StatusCode::SERVICE_UNAVAILABLE, &error, started);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
    response
}

/// The first error's `extensions.reason`, if it has one.
fn reason(response: &GqlResponse) -> Option<&str> {
    let ext = response.errors.first()?.extensions.as_ref()?;
    match ext.get("reason")? {
        async_graphql::Value::String(reason) => Some(reason.as_str()),
        _ => None,
    }
}

fn finish(
    state: &AppState,
    operation: Option<&str>,
    response: GqlResponse,
    started: Instant,
    trusted: bool,
) -> Response {
    let reason = reason(&response).map(str::to_owned);
    if reason.as_deref() == Some("DATABASE_UNAVAILABLE") {
        state.health.mark_down();
    }
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
    state
        .metrics
        .observe(operation, outcome, started.elapsed(), trusted);
    let refused = match outcome {
        "UNAUTHENTICATED" => Some(StatusCode::UNAUTHORIZED),
        "FORBIDDEN" => Some(StatusCode::FORBIDDEN),
        _ => None,
    };
    // Nothing answered and a retry may succeed: say so in HTTP terms too,
    // for load balancers and clients that retry on 503.
    let retry = matches!(
        reason.as_deref(),
        Some("DATABASE_UNAVAILABLE" | "SERVER_BUSY" | "STORAGE_FULL")
    );
    if retry && response.data == async_graphql::Value::Null {
        let mut http = (StatusCode::SERVICE_UNAVAILABLE, json(response)).into_response();
        http.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
        return http;
    }
    // Nothing ran for want of a token or of its scope: say so in HTTP terms.
    match refused.filter(|_| response.data == async_graphql::Value::Null) {
        Some(StatusCode::UNAUTHORIZED) => unauthorized(json(response)),
        Some(status) => (status, json(response)).into_response(),
        None => json(response),
    }
}

/// HTTP 401 with the RFC 6750 challenge: nothing ran because the request
/// carried no token where one is needed, or one that is not valid (client
/// interceptors keyed on 401 can then ask for a token).
fn unauthorized(body: Response) -> Response {
    let mut http = (StatusCode::UNAUTHORIZED, body).into_response();
    http.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"contacts-api\""),
    );
    http
}

fn json(response: GqlResponse) -> Response {
    GraphQLResponse(BatchResponse::Single(response)).into_response()
}

/// A response carrying one error, with `status`.
pub fn error_reply(status: StatusCode, error: &AppError) -> Response {
    (status, json(error_response(error))).into_response()
}

pub fn error_response(error: &AppError) -> GqlResponse {
    GqlResponse::from_errors(vec![server_error(error)])
}

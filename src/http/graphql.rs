//! GraphQL over HTTP: POST /graphql (the header checks, authentication
//! before the body is read, a bounded body) and GET /graphql with the
//! request in the query string (queries only), then the gate and execution
//! within the time limit, counted, answered in the media type the client
//! accepts (media.rs) with the status GraphQL over HTTP gives it.

use std::net::IpAddr;
use std::time::Instant;

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, Response as GqlResponse};
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::OwnedSemaphorePermit;

use super::body::BodyError;
use super::guard::{self, RateKey};
use super::media::{self, Media};
use super::{params, upload, AppState};
use crate::domain::numbers;
use crate::error::AppError;
use crate::graphql::access::Principal;
use crate::graphql::{executed, idempotent, server_error};

/// The header a client retries a mutation under (see graphql::idempotent).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Bodies above this many bytes count as large: about 250 rows of an import.
/// At most one large request per core is parsed and executed at a time.
const LARGE_BODY_BYTES: usize = 64 * 1024;

/// The media types a GraphQL response is sent as.
pub const RESPONSE_MEDIA: [Media; 2] = [Media::GraphQlResponse, Media::Json];

pub async fn post(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let Some(media) = media::negotiate(&parts.headers, &RESPONSE_MEDIA) else {
        return not_acceptable(&state, started);
    };
    if state.health.is_down() {
        return unavailable(&state, media, started);
    }
    let principal = match caller(&state, &parts, media, started, true).await {
        Ok(principal) => principal,
        Err(refusal) => return *refusal,
    };
    if upload::is_multipart(&parts.headers) {
        // Only a writer may upload: a read token or a visitor is refused
        // before a byte of the file is spooled to disk.
        if let Some((status, error)) = upload::refusal(&principal) {
            return refuse(&state, status, &error, media, started);
        }
        return match upload::read(&state, &parts, body).await {
            Ok(request) => {
                let request = with_header_key(&parts.headers, request);
                answer(
                    &state,
                    request,
                    principal,
                    None,
                    media,
                    started,
                    Method::Post,
                )
                .await
            }
            Err((status, error)) => refuse(&state, status, &error, media, started),
        };
    }
    let (request, permit) = match read_request(&state, &parts, body, media, started).await {
        Ok(read) => read,
        Err(refusal) => return *refusal,
    };
    match request {
        BatchRequest::Single(request) => {
            answer(
                &state,
                request,
                principal,
                permit,
                media,
                started,
                Method::Post,
            )
            .await
        }
        BatchRequest::Batch(requests) => {
            answer_batch(&state, &parts, requests, principal, permit, media, started).await
        }
    }
}

/// A batch (a JSON array of requests): at most --max-batch-operations, no
/// Idempotency-Key (it names one operation), counted as that many requests
/// against the rate limits before any runs; then each is admitted and run
/// in order, within the one --request-timeout, and answered as an array.
async fn answer_batch(
    state: &AppState,
    parts: &Parts,
    requests: Vec<async_graphql::Request>,
    principal: Principal,
    permit: Option<OwnedSemaphorePermit>,
    media: Media,
    started: Instant,
) -> Response {
    let max = state.settings.max_batch_operations;
    let refusal = if requests.is_empty() {
        Some(AppError::bad_input("body", "body: an empty batch"))
    } else if requests.len() > max {
        Some(AppError::LimitExceeded(if max == 0 {
            "batched requests are turned off on this server (--max-batch-operations 0)".into()
        } else {
            format!(
                "at most {max} operations per batch (--max-batch-operations), {} sent",
                requests.len()
            )
        }))
    } else if parts.headers.contains_key(IDEMPOTENCY_KEY) {
        Some(AppError::bad_input(
            "idempotencyKey",
            "idempotencyKey: an Idempotency-Key names one operation: send the mutation alone, \
             not in a batch",
        ))
    } else {
        None
    };
    if let Some(error) = refusal {
        return refuse(state, StatusCode::BAD_REQUEST, &error, media, started);
    }
    let authorization = parts.headers.get(header::AUTHORIZATION);
    let address = guard::client_address(
        &parts.headers,
        &parts.extensions,
        state.settings.client_ip_header.as_deref(),
    );
    let open = principal == Principal::Open;
    // The first was counted with the headers (caller).
    for _ in 1..requests.len() {
        if let Some(refusal) = rate_limited(state, address, authorization, open, media, started) {
            return refusal;
        }
    }
    let trusted = principal != Principal::Visitor;
    let mut bodies = Vec::with_capacity(requests.len());
    for request in requests {
        let (label, response) = match run(
            state,
            request,
            principal.clone(),
            None,
            started,
            Method::Post,
        )
        .await
        {
            Ran::Done(label, response) => (label, response),
            Ran::NotOverGet(error) => (None, error_response(&error)),
        };
        observe(state, label.as_deref(), &response, started, trusted);
        match body_of(&response) {
            Ok(body) => bodies.push(body),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    drop(permit);
    let mut body =
        Vec::with_capacity(bodies.iter().map(Vec::len).sum::<usize>() + bodies.len() + 1);
    body.push(b'[');
    for (i, one) in bodies.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(one);
    }
    body.push(b']');
    let mut http = ([(header::CONTENT_TYPE, media.content_type())], body).into_response();
    vary_on_accept(&mut http);
    http
}

/// GET /graphql with `query`, `variables`, `operationName` and `extensions`
/// in the query string, for a client that accepts JSON (mod.rs sends
/// browsers the playground): queries only; a mutation answers 405 with
/// `Allow: POST`.
pub async fn get(state: AppState, parts: Parts, media: Media) -> Response {
    let started = Instant::now();
    if state.health.is_down() {
        return unavailable(&state, media, started);
    }
    let principal = match caller(&state, &parts, media, started, false).await {
        Ok(principal) => principal,
        Err(refusal) => return *refusal,
    };
    let request = match params::from_query_string(parts.uri.query().unwrap_or("")) {
        Ok(request) => request,
        Err(error) => return refuse(&state, StatusCode::BAD_REQUEST, &error, media, started),
    };
    answer(
        &state,
        request,
        principal,
        None,
        media,
        started,
        Method::Get,
    )
    .await
}

/// How the request came: GET runs queries only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

/// Runs an admitted caller's request and answers it.
async fn answer(
    state: &AppState,
    request: async_graphql::Request,
    principal: Principal,
    permit: Option<OwnedSemaphorePermit>,
    media: Media,
    started: Instant,
    method: Method,
) -> Response {
    let trusted = principal != Principal::Visitor;
    let (label, mut response) = match run(state, request, principal, permit, started, method).await
    {
        Ran::Done(label, response) => (label, response),
        Ran::NotOverGet(error) => {
            let mut http = refuse(
                state,
                StatusCode::METHOD_NOT_ALLOWED,
                &error,
                media,
                started,
            );
            http.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return http;
        }
    };
    if reason(&response) == Some("SERVER_BUSY") && !state.health.probe(&state.db).await {
        // Not busy: the database is gone (see service::health).
        response = error_response(&AppError::Unavailable(sea_orm::DbErr::Custom(
            "the database does not accept connections".into(),
        )));
    }
    finish(state, label.as_deref(), response, media, started, trusted)
}

/// Who is calling, from the headers alone (Host, Content-Type of a POST,
/// rates, the token), before a byte of the body is read: a bad token or a
/// foreign page costs the server no memory.
async fn caller(
    state: &AppState,
    parts: &Parts,
    media: Media,
    started: Instant,
    has_body: bool,
) -> Result<Principal, Box<Response>> {
    let open = state.check_host(&parts.headers, &parts.uri, media).await?;
    if has_body {
        if let Err((status, error)) = guard::check_content_type(&parts.headers) {
            return Err(Box::new(refuse(state, status, &error, media, started)));
        }
    }
    if let Err(error) = guard::check_framing(&parts.headers) {
        return Err(Box::new(refuse(
            state,
            StatusCode::BAD_REQUEST,
            &error,
            media,
            started,
        )));
    }
    let authorization = parts.headers.get(header::AUTHORIZATION);
    let address = guard::client_address(
        &parts.headers,
        &parts.extensions,
        state.settings.client_ip_header.as_deref(),
    );
    if let Some(refusal) = rate_limited(state, address, authorization, open, media, started) {
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
                        return Err(Box::new(too_many(state, wait, media, started)));
                    }
                }
                Err(Box::new(finish(
                    state,
                    None,
                    error_response(&error),
                    media,
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
    media: Media,
    started: Instant,
) -> Result<(BatchRequest, Option<OwnedSemaphorePermit>), Box<Response>> {
    let body = match state.body.read(&parts.headers, body).await {
        Ok(body) => body,
        Err(BodyError::Aborted) => return Err(Box::new(StatusCode::BAD_REQUEST.into_response())),
        Err(BodyError::Refused {
            status,
            error,
            retry_after,
        }) => {
            let mut response = refuse(state, status, &error, media, started);
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
    let decoded = serde_json::from_slice(bytes).map_err(|e| undecodable(bytes, &e));
    let decoded = decoded.and_then(|request| {
        let missing = match &request {
            BatchRequest::Single(one) => lacks_query(one),
            BatchRequest::Batch(all) => all.iter().any(lacks_query),
        };
        if missing {
            return Err(AppError::bad_input(
                "query",
                "query: missing (a request needs a query, or a persisted query's hash in \
                 extensions.persistedQuery)",
            ));
        }
        Ok(request)
    });
    let decoded = decoded.map(|request| match request {
        BatchRequest::Single(request) => {
            BatchRequest::Single(with_header_key(&parts.headers, request))
        }
        batch => batch,
    });
    match decoded {
        Ok(request) => Ok((request, permit)),
        Err(error) => Err(Box::new(refuse(
            state,
            StatusCode::BAD_REQUEST,
            &error,
            media,
            started,
        ))),
    }
}

/// Why a body is not a GraphQL request, naming the parameter at fault when
/// the body is JSON (serde's own message names Rust types).
fn undecodable(bytes: &[u8], error: &serde_json::Error) -> AppError {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return AppError::BadUserInput {
            field: None,
            message: format!("the body is not JSON: {error}"),
        };
    };
    let requests = match &value {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for request in requests {
        let serde_json::Value::Object(fields) = request else {
            return AppError::bad_input(
                "body",
                "body: a GraphQL request is a JSON object (or an array of them, a batch)",
            );
        };
        let wrong = [
            ("query", "a string"),
            ("operationName", "a string or null"),
            ("variables", "an object or null"),
            ("extensions", "an object or null"),
        ]
        .into_iter()
        .find(|(name, _)| {
            fields.get(*name).is_some_and(|v| match (*name, v) {
                (_, serde_json::Value::Null) => *name == "query",
                ("query" | "operationName", v) => !v.is_string(),
                (_, v) => !v.is_object(),
            })
        });
        if let Some((name, expected)) = wrong {
            return AppError::bad_input(name, format!("{name}: must be {expected}"));
        }
    }
    AppError::bad_input("body", "body: not a GraphQL request")
}

/// A request with neither a document nor a persisted query's hash: its
/// parameters are wrong (400 whatever the media type), not its document.
fn lacks_query(request: &async_graphql::Request) -> bool {
    request.query.is_empty() && !request.extensions.contains_key("persistedQuery")
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
    media: Media,
    started: Instant,
) -> Option<Response> {
    if let Some(wait) = address.and_then(|a| state.rates.penalty(a)) {
        return Some(too_many(state, wait, media, started));
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
        .map(|wait| too_many(state, wait, media, started))
}

/// HTTP 429 with Retry-After.
fn too_many(
    state: &AppState,
    wait: std::time::Duration,
    media: Media,
    started: Instant,
) -> Response {
    let (status, error, seconds) = guard::too_many(wait);
    let mut response = refuse(state, status, &error, media, started);
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
    method: Method,
) -> Ran {
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
            Err(_) => return Ran::Done(None, timed_out(false)),
            Ok(Err(error)) => return Ran::Done(None, GqlResponse::from_errors(vec![error])),
            Ok(Ok(admitted)) => admitted,
        };
    // A GET must be safe (RFC 9110): it runs no mutation, and a
    // subscription has no stream over plain HTTP.
    // (An operation that cannot be picked out runs on, to be refused with
    // its own request error.)
    if method == Method::Get
        && matches!(
            admitted.operation_type,
            Some(OperationType::Mutation | OperationType::Subscription)
        )
    {
        return Ran::NotOverGet(AppError::BadUserInput {
            field: None,
            message: "GET runs queries only: send mutations with POST, and subscriptions over \
                      the WebSocket at /graphql/ws"
                .into(),
        });
    }
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
    Ran::Done(admitted.label, response)
}

/// What running a request came to.
enum Ran {
    /// The operation's label (for metrics) and the GraphQL response.
    Done(Option<String>, GqlResponse),
    /// A mutation or subscription sent with GET: 405.
    NotOverGet(AppError),
}

/// Answers a refusal made before the request reached GraphQL.
fn refuse(
    state: &AppState,
    status: StatusCode,
    error: &AppError,
    media: Media,
    started: Instant,
) -> Response {
    state
        .metrics
        .observe(None, error.code(), started.elapsed(), false);
    (status, encode(media, error_response(error))).into_response()
}

/// 406: the client accepts none of the media types a GraphQL response is
/// sent as; the error says which are (in plain JSON, as no type fits).
pub fn not_acceptable(state: &AppState, started: Instant) -> Response {
    let error = AppError::BadUserInput {
        field: None,
        message: format!(
            "Accept: a GraphQL response is sent as {} or application/json",
            media::GRAPHQL_RESPONSE_JSON
        ),
    };
    refuse(
        state,
        StatusCode::NOT_ACCEPTABLE,
        &error,
        Media::Json,
        started,
    )
}

/// DATABASE_UNAVAILABLE at once, while the database is known to be down.
fn unavailable(state: &AppState, media: Media, started: Instant) -> Response {
    let error = AppError::Unavailable(sea_orm::DbErr::Custom(
        "the database was marked down".into(),
    ));
    let mut response = refuse(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        &error,
        media,
        started,
    );
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
    media: Media,
    started: Instant,
    trusted: bool,
) -> Response {
    let outcome = observe(state, operation, &response, started, trusted);
    let refused = match outcome {
        "UNAUTHENTICATED" => Some(StatusCode::UNAUTHORIZED),
        "FORBIDDEN" => Some(StatusCode::FORBIDDEN),
        _ => None,
    };
    let internal = outcome == "INTERNAL_SERVER_ERROR";
    let reason = reason(&response).map(str::to_owned);
    // Nothing answered and a retry may succeed: say so in HTTP terms too,
    // for load balancers and clients that retry on 503.
    let retry = matches!(
        reason.as_deref(),
        Some("DATABASE_UNAVAILABLE" | "SERVER_BUSY" | "STORAGE_FULL")
    );
    if retry && response.data == async_graphql::Value::Null {
        let mut http = (StatusCode::SERVICE_UNAVAILABLE, encode(media, response)).into_response();
        http.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
        return http;
    }
    // Nothing ran for want of a token or of its scope: say so in HTTP terms.
    match refused.filter(|_| response.data == async_graphql::Value::Null) {
        Some(StatusCode::UNAUTHORIZED) => unauthorized(encode(media, response)),
        Some(status) => (status, encode(media, response)).into_response(),
        // A request error (nothing was executed) is the client's: 400 to a
        // client that speaks application/graphql-response+json; one that
        // asked for plain JSON expects 200 whatever the errors.
        None if media == Media::GraphQlResponse && !executed(&response) => {
            let status = if internal {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            };
            (status, encode(media, response)).into_response()
        }
        None => encode(media, response),
    }
}

/// Counts a response in the metrics (and marks the database down when it
/// says so); returns its outcome: "ok" or the first error's code.
fn observe<'r>(
    state: &AppState,
    operation: Option<&str>,
    response: &'r GqlResponse,
    started: Instant,
    trusted: bool,
) -> &'r str {
    if reason(response) == Some("DATABASE_UNAVAILABLE") {
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
    outcome
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

/// The response's body in `media`, with the headers the schema set. A
/// request that never ran has no `data` entry (GraphQL, 7.1.2: "If an error
/// was raised before execution begins, the data entry should not be
/// present").
fn encode(media: Media, response: GqlResponse) -> Response {
    let mut http = match body_of(&response) {
        Ok(body) => ([(header::CONTENT_TYPE, media.content_type())], body).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    http.headers_mut().extend(response.http_headers);
    vary_on_accept(&mut http);
    http
}

/// The answer's media type follows Accept (and on GET, whether it is the
/// playground): caches must key on it.
pub fn vary_on_accept(response: &mut Response) {
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept"));
}

/// The JSON of one response (an error is logged: answer 500).
fn body_of(response: &GqlResponse) -> serde_json::Result<Vec<u8>> {
    #[derive(serde::Serialize)]
    struct Unexecuted<'a> {
        errors: &'a [async_graphql::ServerError],
        #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
    }
    let body = if executed(response) {
        serde_json::to_vec(response)
    } else {
        serde_json::to_vec(&Unexecuted {
            errors: &response.errors,
            extensions: &response.extensions,
        })
    };
    body.inspect_err(|error| tracing::error!(%error, "a response could not be serialized"))
}

/// A response carrying one error, with `status`.
pub fn error_reply(status: StatusCode, error: &AppError, media: Media) -> Response {
    (status, encode(media, error_response(error))).into_response()
}

pub fn error_response(error: &AppError) -> GqlResponse {
    GqlResponse::from_errors(vec![server_error(error)])
}

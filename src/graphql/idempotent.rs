//! Mutations sent with an idempotency key (the `Idempotency-Key` HTTP header,
//! or `extensions.idempotencyKey` in a request over any transport) run at
//! most once per key: see service::idempotency for the rules. Queries and
//! subscriptions ignore the key.

use std::any::TypeId;

use async_graphql::{Request, Response, ServerError, Value};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use super::access::Principal;
use super::server_error;
use crate::error::AppError;
use crate::service::idempotency::{self, Claim, KeyPolicy};

/// Where a request carries its key.
pub const EXTENSION: &str = "idempotencyKey";
/// Longest key, in bytes (a UUID takes 36).
pub const MAX_KEY_BYTES: usize = 255;
/// The extension set on a response that is a replay of an earlier one.
const REPLAYED: &str = "idempotentReplayed";

/// Runs mutations under their key.
#[derive(Clone)]
pub struct Idempotency {
    pub db: DatabaseConnection,
    pub policy: KeyPolicy,
}

impl Idempotency {
    /// Runs `request` (an admitted mutation) through `execute`, at most once
    /// per key; without a key, just runs it.
    pub async fn run<F, Fut>(&self, request: Request, execute: F) -> Response
    where
        F: FnOnce(Request) -> Fut,
        Fut: std::future::Future<Output = Response>,
    {
        let key = match key_of(&request) {
            Ok(None) => return execute(request).await,
            Ok(Some(key)) => key,
            Err(error) => return Response::from_errors(vec![error]),
        };
        let fingerprint = fingerprint(&request);
        let scope = scope_of(&request);
        let claim = idempotency::claim(&self.db, self.policy, scope, &key, &fingerprint).await;
        match claim {
            Err(error) => Response::from_errors(vec![server_error(&error)]),
            Ok(Claim::Replay(json)) => replay(&json),
            Ok(Claim::Run(ticket)) => {
                let holding = tokio::spawn(idempotency::keep_holding(
                    self.db.clone(),
                    ticket.clone(),
                    self.policy.hold,
                ));
                let response = idempotency::within(&ticket, execute(request)).await;
                holding.abort();
                let kept =
                    serde_json::to_string(&response).map_err(|e| AppError::Internal(e.into()));
                let settled = match kept {
                    Ok(json) => idempotency::settle(&self.db, &ticket, &json).await,
                    Err(error) => Err(error),
                };
                if let Err(error) = settled {
                    // The response still goes out; a retry learns the write
                    // was applied (IDEMPOTENCY_RESPONSE_LOST).
                    tracing::warn!(%error, "keeping an idempotent response failed");
                }
                response
            }
        }
    }
}

/// The raw values of the `Idempotency-Key` HTTP header, put in a request's
/// data by the HTTP transport.
pub struct HeaderKeys(pub Vec<Vec<u8>>);

/// The key a request carries (header or `extensions.idempotencyKey`, which
/// must agree): Ok(None) without one.
fn key_of(request: &Request) -> Result<Option<String>, ServerError> {
    let refuse = |message: &str| {
        server_error(&AppError::bad_input(
            EXTENSION,
            format!(
                "the Idempotency-Key {message}: send 1 to {MAX_KEY_BYTES} visible ASCII \
                 characters, such as a random UUID"
            ),
        ))
    };
    let header = match header_key(request) {
        Ok(header) => header,
        Err(message) => return Err(refuse(message)),
    };
    let given = match request.extensions.get(EXTENSION) {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) => Some(key.as_bytes()),
        Some(_) => return Err(refuse("is not a string")),
    };
    let key = match (header, given) {
        (Some(h), Some(g)) if h != g => {
            return Err(refuse("header and extensions.idempotencyKey differ"))
        }
        (Some(key), _) | (None, Some(key)) => key,
        (None, None) => return Ok(None),
    };
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        Err(refuse(&format!("is {} bytes long", key.len())))
    } else if !key.iter().all(u8::is_ascii_graphic) {
        Err(refuse("has a character that is not visible ASCII"))
    } else {
        Ok(Some(String::from_utf8_lossy(key).into_owned()))
    }
}

/// The header's one value; every copy of the header must say the same.
fn header_key(request: &Request) -> Result<Option<&[u8]>, &'static str> {
    let Some(HeaderKeys(values)) = request
        .data
        .get(&TypeId::of::<HeaderKeys>())
        .and_then(|v| v.downcast_ref::<HeaderKeys>())
    else {
        return Ok(None);
    };
    match values.as_slice() {
        [] => Ok(None),
        [first, rest @ ..] if rest.iter().all(|v| v == first) => Ok(Some(first.as_slice())),
        _ => Err("header was sent several times with different values"),
    }
}

/// Keys are per kind of caller: staff (any token, or the open mode before
/// a token exists; they all act for the same business, so keys must be
/// unguessable, random) and visitors.
fn scope_of(request: &Request) -> &'static str {
    let principal = request
        .data
        .get(&TypeId::of::<Principal>())
        .and_then(|p| p.downcast_ref::<Principal>());
    match principal {
        Some(Principal::Token(..) | Principal::Open) => "staff",
        Some(Principal::Visitor) | None => "visitor",
    }
}

/// SHA-256 (hex) of what the request asks for: its document, operation name
/// and variables. serde_json's maps are sorted by key (no `preserve_order`
/// in this build; the test below fails if that changes), so a client that
/// re-serialises its variables in another key order is still the same
/// request.
fn fingerprint(request: &Request) -> String {
    let variables = serde_json::to_value(&request.variables).unwrap_or_default();
    let what = serde_json::json!([request.query, request.operation_name, variables]);
    hex::encode(Sha256::digest(what.to_string().as_bytes()))
}

/// The kept response, marked as a replay (extension and HTTP header).
fn replay(json: &str) -> Response {
    match serde_json::from_str::<Response>(json) {
        Ok(mut response) => {
            response
                .extensions
                .insert(REPLAYED.to_owned(), Value::Boolean(true));
            response.http_headers.insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
            response
        }
        Err(error) => Response::from_errors(vec![server_error(&AppError::Internal(
            anyhow::anyhow!("a kept idempotent response does not parse: {error}"),
        ))]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reordered_variables_are_the_same_request() {
        let a = Request::new("mutation($a: Int, $b: Int) { x }").variables(
            async_graphql::Variables::from_json(serde_json::json!({"a": 1, "b": {"c": 1, "d": 2}})),
        );
        let b = Request::new("mutation($a: Int, $b: Int) { x }").variables(
            async_graphql::Variables::from_json(serde_json::json!({"b": {"d": 2, "c": 1}, "a": 1})),
        );
        let c = Request::new("mutation($a: Int, $b: Int) { x }").variables(
            async_graphql::Variables::from_json(serde_json::json!({"a": 2, "b": {"c": 1, "d": 2}})),
        );
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn keys_are_bounded_visible_ascii() {
        let with = |key: Value| {
            let mut r = Request::new("mutation { x }");
            r.extensions.insert(EXTENSION.to_owned(), key);
            key_of(&r).map_err(|e| e.message)
        };
        assert_eq!(with(Value::from("k-1")), Ok(Some("k-1".to_owned())));
        assert_eq!(with(Value::Null), Ok(None));
        assert!(with(Value::from("")).is_err());
        assert!(with(Value::from("a\0b")).is_err());
        assert!(with(Value::from("a b")).is_err());
        assert!(with(Value::from("é")).is_err());
        assert!(with(Value::from("k".repeat(MAX_KEY_BYTES))).is_ok());
        assert!(with(Value::from("k".repeat(MAX_KEY_BYTES + 1))).is_err());
        assert!(with(Value::from(5)).is_err());
    }
}

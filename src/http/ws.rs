//! GraphQL over WebSocket (graphql-transport-ws, and the older graphql-ws) on
//! /graphql/ws and as an upgrade of GET /graphql. The token goes in the
//! connection_init payload ({"Authorization": "Bearer TOKEN"}) or in the
//! upgrade request's Authorization header. The caller is asked again before
//! every operation (the gate decides, as for HTTP) and on a timer: a socket
//! whose token is revoked, or that was opened without one before a token
//! existed, is closed with 4401. On shutdown every connection gets a close
//! frame (1001, going away) instead of being cut.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::Data;
use axum::extract::ws::{CloseFrame, Message, WebSocket as Socket, WebSocketUpgrade};
use axum::http::{header, Extensions, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::guard::RateKey;
use super::{guard, AppState, Auth, RateLimits};
use crate::domain::numbers;
use crate::error::AppError;
use crate::graphql::access::Principal;
use crate::graphql::gate::{PrincipalSource, SessionPrincipal};

/// GET /graphql/ws (and GET /graphql with an Upgrade header), once the Host
/// has been checked.
pub async fn upgrade(
    state: AppState,
    headers: HeaderMap,
    uri: Uri,
    extensions: Extensions,
    ws: WebSocketUpgrade,
) -> Response {
    let headers = &headers;
    let Some(protocol) = protocol(headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol must offer graphql-transport-ws (or graphql-ws)",
        )
            .into_response();
    };
    if let Err(error) = guard::check_framing(headers) {
        return (StatusCode::BAD_REQUEST, error.to_string()).into_response();
    }
    // Browsers send WebSockets cross-site without asking: the Origin decides.
    let open = state.auth.open_mode().await.unwrap_or(false);
    let address = guard::client_address(
        headers,
        &extensions,
        state.settings.client_ip_header.as_deref(),
    );
    if let Some(refusal) = super::graphql::rate_limited(
        &state,
        address,
        headers.get(header::AUTHORIZATION),
        open,
        super::media::Media::Json,
        std::time::Instant::now(),
    ) {
        return refusal;
    }
    if !guard::origin_allowed(headers, &uri, &state.settings.cors_origins, open) {
        return (
            StatusCode::FORBIDDEN,
            "this Origin may not open a WebSocket here (see --cors-origin)",
        )
            .into_response();
    }
    let header = headers.get(header::AUTHORIZATION).cloned();
    let tasks = state.tasks.clone();
    let max = state.settings.max_body_bytes;
    ws.protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| tasks.track_future(serve(state, socket, protocol, header)))
}

/// Who the socket acts for: the credentials of its connection_init (or of
/// the upgrade request), asked again before each operation and on a timer.
struct Caller {
    auth: Auth,
    rates: Arc<RateLimits>,
    credentials: Mutex<Option<Option<HeaderValue>>>,
    /// Set when connection_init was refused: async-graphql then closes with
    /// 1002, which becomes graphql-transport-ws's 4403.
    refused: AtomicBool,
}

impl Caller {
    fn credentials(&self) -> Option<Option<HeaderValue>> {
        self.credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Why the socket must close now, if it must: its token was revoked, or
    /// it was opened without one and a token now exists.
    async fn close_reason(&self) -> Option<&'static str> {
        let credentials = self.credentials()?;
        match self
            .auth
            .authenticate_within(credentials.as_ref(), self.auth.recheck_every())
            .await
        {
            Ok(Principal::Visitor) => Some("an API token now exists; reconnect with one"),
            Err(AppError::Unauthenticated(_)) => Some("the API token was revoked"),
            // The database not answering is no reason to drop subscribers.
            _ => None,
        }
    }
}

#[async_trait::async_trait]
impl PrincipalSource for Caller {
    async fn current(&self) -> Result<Principal, AppError> {
        let Some(credentials) = self.credentials() else {
            return Err(AppError::Unauthenticated("connection_init first".into()));
        };
        let principal = match self.auth.authenticate(credentials.as_ref()).await? {
            Principal::Visitor => {
                return Err(AppError::Unauthenticated(
                    "an API token now exists; reconnect with one".into(),
                ))
            }
            principal => principal,
        };
        // Each operation on a socket counts against its token's rate, as an
        // HTTP request does.
        if let Some(value) = credentials.as_ref().and_then(|v| v.to_str().ok()) {
            let key = RateKey::Token(Sha256::digest(value.trim().as_bytes()).into());
            if let Err(wait) = self.rates.check(key) {
                let (_, error, _) = guard::too_many(wait);
                return Err(error);
            }
        }
        Ok(principal)
    }
}

/// graphql-transport-ws close code for a caller no longer authenticated.
const CLOSE_UNAUTHORIZED: u16 = 4401;
/// graphql-transport-ws close code for a refused connection_init.
const CLOSE_FORBIDDEN: u16 = 4403;

async fn serve(
    state: AppState,
    socket: Socket,
    protocol: WebSocketProtocols,
    header: Option<HeaderValue>,
) {
    state.metrics.websocket_opened();
    let (mut sink, stream) = socket.split();
    let shutdown = state.shutdown.clone();
    let transport_ws = protocol == WebSocketProtocols::GraphQLWS;
    let rules = Arc::new(Mutex::new(ProtocolRules::default()));
    let broken = CancellationToken::new();
    let (input_rules, input_broken) = (rules.clone(), broken.clone());
    let input = stream
        .take_until(shutdown.clone().cancelled_owned())
        .take_while(|message| std::future::ready(message.is_ok()))
        .filter_map(move |message| {
            std::future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                    let data = message.into_data();
                    let allowed = !transport_ws || lock(&input_rules).incoming(&data).is_ok() || {
                        input_broken.cancel();
                        false
                    };
                    allowed.then(|| mark_inexact_numbers(data))
                }
                _ => None,
            })
        })
        .take_until(broken.clone().cancelled_owned());
    let caller = Arc::new(Caller {
        auth: state.auth.clone(),
        rates: state.rates.clone(),
        credentials: Mutex::new(None),
        refused: AtomicBool::new(false),
    });
    let init_caller = caller.clone();
    let output = WebSocket::new(state.schema.clone(), input, protocol).on_connection_init(
        move |payload| async move {
            let from_payload = ["Authorization", "authorization"]
                .iter()
                .find_map(|key| payload.get(*key).and_then(|v| v.as_str()))
                .and_then(|v| HeaderValue::from_str(v).ok());
            let credentials = from_payload.or(header);
            let refuse = |message: String| {
                init_caller.refused.store(true, Ordering::Relaxed);
                async_graphql::Error::new(message)
            };
            let principal = init_caller
                .auth
                .authenticate(credentials.as_ref())
                .await
                .map_err(|e| refuse(e.to_string()))?;
            if principal == Principal::Visitor {
                return Err(refuse(
                    "missing API token: put {\"Authorization\": \"Bearer TOKEN\"} in the connection_init payload".into(),
                ));
            }
            *init_caller
                .credentials
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(credentials);
            let mut data = Data::default();
            data.insert(SessionPrincipal(init_caller));
            Ok(data)
        },
    );
    let mut output = std::pin::pin!(output);
    // graphql-transport-ws answers a subscribe refused before it ran with
    // one `error` message (and no `complete`); async-graphql sends
    // `next` + `complete`: rewritten here.
    let mut refused_ids: HashSet<String> = HashSet::new();
    let mut recheck = tokio::time::interval(state.auth.recheck_every());
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let message = tokio::select! {
            message = output.next() => match message {
                Some(WsMessage::Text(text)) if transport_ws => {
                    if lock(&rules).outgoing(&text) == Rewrite::Drop {
                        continue;
                    }
                    match protocol_error(&text, &mut refused_ids) {
                        Rewrite::Keep => Message::Text(text.into()),
                        Rewrite::Replace(error) => Message::Text(error.into()),
                        Rewrite::Drop => continue,
                    }
                }
                Some(WsMessage::Text(text)) => Message::Text(text.into()),
                Some(WsMessage::Close(code, reason)) => Message::Close(Some(CloseFrame {
                    code: if code == 1002 && caller.refused.load(Ordering::Relaxed) {
                        CLOSE_FORBIDDEN
                    } else {
                        code
                    },
                    reason: reason.into(),
                })),
                None => break,
            },
            _ = recheck.tick() => match caller.close_reason().await {
                Some(reason) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code: CLOSE_UNAUTHORIZED,
                            reason: reason.into(),
                        })))
                        .await;
                    break;
                }
                None => continue,
            },
        };
        if sink.send(message).await.is_err() {
            break;
        }
    }
    let violation = lock(&rules).violation.take();
    if let Some((code, reason)) = violation {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    } else if shutdown.is_cancelled() {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: 1001,
                reason: "server shutting down".into(),
            })))
            .await;
    }
    let _ = sink.close().await;
    state.metrics.websocket_closed();
}

/// graphql-transport-ws's rules async-graphql leaves unchecked: no
/// `subscribe` before `connection_init` (close 4401), no second
/// `subscribe` with the id of one still running (close 4409). And the
/// `complete` async-graphql answers a client's own `complete` with is
/// dropped: the protocol has none, and a client that reuses the id at once
/// would take it for the end of its new operation.
#[derive(Default)]
struct ProtocolRules {
    initialised: bool,
    running: HashSet<String>,
    /// Ids the client completed while they ran: async-graphql's echo due.
    completed_by_client: HashSet<String>,
    violation: Option<(u16, String)>,
}

impl ProtocolRules {
    /// Err: the message breaks a rule; the socket is to close as
    /// `violation` says.
    fn incoming(&mut self, data: &[u8]) -> Result<(), ()> {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(data) else {
            return Ok(());
        };
        let id = message["id"].as_str().unwrap_or_default();
        match message["type"].as_str() {
            Some("connection_init") => self.initialised = true,
            Some("subscribe") if !self.initialised => {
                self.violation = Some((4401, "Unauthorized".into()));
                return Err(());
            }
            Some("subscribe") if !self.running.insert(id.to_owned()) => {
                self.violation = Some((4409, format!("Subscriber for {id} already exists")));
                return Err(());
            }
            // (The guard takes the id out of those running.)
            Some("complete") if self.running.remove(id) => {
                self.completed_by_client.insert(id.to_owned());
            }
            _ => {}
        }
        Ok(())
    }

    /// A `complete` or `error` the server sends ends its operation; Drop:
    /// the echo of a client's own `complete`.
    fn outgoing(&mut self, text: &str) -> Rewrite {
        let complete = text.starts_with(r#"{"type":"complete""#);
        let ends = complete || text.starts_with(r#"{"type":"error""#);
        if !ends || (self.running.is_empty() && self.completed_by_client.is_empty()) {
            return Rewrite::Keep;
        }
        let Ok(message) = serde_json::from_str::<serde_json::Value>(text) else {
            return Rewrite::Keep;
        };
        let Some(id) = message["id"].as_str() else {
            return Rewrite::Keep;
        };
        if complete && self.completed_by_client.remove(id) {
            return Rewrite::Drop;
        }
        self.running.remove(id);
        Rewrite::Keep
    }
}

fn lock(rules: &Mutex<ProtocolRules>) -> std::sync::MutexGuard<'_, ProtocolRules> {
    rules.lock().unwrap_or_else(|e| e.into_inner())
}

/// What to do with an outgoing graphql-transport-ws message.
#[derive(Debug, PartialEq)]
enum Rewrite {
    Keep,
    Replace(String),
    Drop,
}

/// A `next` whose payload is a request error (no data, no error raised at
/// a field: the subscribe failed validation, the gate or its variables)
/// becomes `{"type":"error","id":..,"payload":[errors]}`, and the
/// `complete` async-graphql sends after it is dropped. Other messages are
/// kept; only the rare frame that looks like a request error is parsed.
fn protocol_error(text: &str, refused_ids: &mut HashSet<String>) -> Rewrite {
    if text.starts_with(r#"{"type":"complete""#) && !refused_ids.is_empty() {
        let id = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|m| m["id"].as_str().map(str::to_owned));
        if id.is_some_and(|id| refused_ids.remove(&id)) {
            return Rewrite::Drop;
        }
        return Rewrite::Keep;
    }
    if !(text.starts_with(r#"{"type":"next""#) && text.contains(r#""payload":{"data":null"#)) {
        return Rewrite::Keep;
    }
    let Ok(message) = serde_json::from_str::<serde_json::Value>(text) else {
        return Rewrite::Keep;
    };
    let (Some(id), Some(errors)) = (
        message["id"].as_str(),
        message["payload"]["errors"].as_array(),
    ) else {
        return Rewrite::Keep;
    };
    if errors.is_empty() || errors.iter().any(|e| e.get("path").is_some()) {
        return Rewrite::Keep;
    }
    refused_ids.insert(id.to_owned());
    Rewrite::Replace(
        serde_json::json!({ "type": "error", "id": id, "payload": errors }).to_string(),
    )
}

/// A message whose numbers would be rounded by parsing, with those numbers
/// as marked strings that validation refuses (domain::numbers).
fn mark_inexact_numbers(data: axum::body::Bytes) -> axum::body::Bytes {
    match std::str::from_utf8(&data)
        .ok()
        .and_then(numbers::mark_inexact_json)
    {
        Some(marked) => marked.into(),
        None => data,
    }
}

/// The subprotocol to speak: our first choice among those the client offers,
/// the same one `WebSocketUpgrade::protocols` answers with.
fn protocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    let offered: Vec<&str> = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .map(str::trim)
        .collect();
    ALL_WEBSOCKET_PROTOCOLS
        .iter()
        .find(|p| offered.contains(p))
        .and_then(|p| WebSocketProtocols::from_str(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocols_rules_are_kept() {
        let subscribe = br#"{"type":"subscribe","id":"1","payload":{"query":"{a}"}}"#;
        let mut rules = ProtocolRules::default();
        assert!(rules.incoming(subscribe).is_err());
        assert_eq!(rules.violation.as_ref().map(|v| v.0), Some(4401));

        let mut rules = ProtocolRules::default();
        assert!(rules.incoming(br#"{"type":"connection_init"}"#).is_ok());
        assert!(rules.incoming(subscribe).is_ok());
        assert!(rules.incoming(subscribe).is_err());
        assert_eq!(rules.violation.as_ref().map(|v| v.0), Some(4409));

        let mut rules = ProtocolRules::default();
        assert!(rules.incoming(br#"{"type":"connection_init"}"#).is_ok());
        assert!(rules.incoming(subscribe).is_ok());
        assert!(rules.incoming(br#"{"type":"complete","id":"1"}"#).is_ok());
        assert!(rules.incoming(subscribe).is_ok());
        // The echo of the client's complete is dropped; the new "1" runs on.
        assert_eq!(
            rules.outgoing(r#"{"type":"complete","id":"1"}"#),
            Rewrite::Drop
        );
        assert!(rules.incoming(subscribe).is_err());
        // A complete of the server's own ends the operation.
        let mut rules = ProtocolRules::default();
        assert!(rules.incoming(br#"{"type":"connection_init"}"#).is_ok());
        assert!(rules.incoming(subscribe).is_ok());
        assert_eq!(
            rules.outgoing(r#"{"type":"complete","id":"1"}"#),
            Rewrite::Keep
        );
        assert!(rules.incoming(subscribe).is_ok());
    }

    #[test]
    fn a_refused_subscribe_is_one_error_message() {
        let mut refused = HashSet::new();
        let next = r#"{"type":"next","id":"7","payload":{"data":null,"errors":[{"message":"Unknown field","extensions":{"code":"BAD_USER_INPUT"}}]}}"#;
        let Rewrite::Replace(error) = protocol_error(next, &mut refused) else {
            panic!("not rewritten");
        };
        let error: serde_json::Value = serde_json::from_str(&error).unwrap();
        assert_eq!(error["type"], "error");
        assert_eq!(error["id"], "7");
        assert_eq!(error["payload"][0]["message"], "Unknown field");
        assert_eq!(
            protocol_error(r#"{"type":"complete","id":"7"}"#, &mut refused),
            Rewrite::Drop
        );
        assert_eq!(
            protocol_error(r#"{"type":"complete","id":"8"}"#, &mut refused),
            Rewrite::Keep
        );
        // An error raised at a field is the operation's result: kept.
        let field = r#"{"type":"next","id":"9","payload":{"data":null,"errors":[{"message":"x","path":["contactEvents"]}]}}"#;
        assert_eq!(protocol_error(field, &mut refused), Rewrite::Keep);
        let event = r#"{"type":"next","id":"9","payload":{"data":{"contactEvents":{}}}}"#;
        assert_eq!(protocol_error(event, &mut refused), Rewrite::Keep);
    }

    #[test]
    fn the_protocol_is_our_first_choice_among_those_offered() {
        let offer = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static(value),
            );
            protocol(&headers)
        };
        assert_eq!(
            offer("graphql-ws, graphql-transport-ws"),
            Some(WebSocketProtocols::GraphQLWS)
        );
        assert_eq!(
            offer("graphql-ws"),
            Some(WebSocketProtocols::SubscriptionsTransportWS)
        );
        assert_eq!(offer("chat"), None);
    }
}

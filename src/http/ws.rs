//! GraphQL over WebSocket (graphql-transport-ws, and the older graphql-ws) on
//! /graphql/ws and as an upgrade of GET /graphql. The token goes in the
//! connection_init payload ({"Authorization": "Bearer TOKEN"}) or in the
//! upgrade request's Authorization header. On shutdown every connection gets
//! a close frame (1001, going away) instead of being cut.

use std::str::FromStr;

use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::Data;
use axum::extract::ws::{CloseFrame, Message, WebSocket as Socket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

use super::AppState;
use crate::graphql::access::Principal;

/// GET /graphql/ws (and GET /graphql with an Upgrade header).
pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(protocol) = protocol(&headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol must offer graphql-transport-ws (or graphql-ws)",
        )
            .into_response();
    };
    let header = headers.get(header::AUTHORIZATION).cloned();
    let tasks = state.tasks.clone();
    ws.protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| tasks.track_future(serve(state, socket, protocol, header)))
}

async fn serve(
    state: AppState,
    socket: Socket,
    protocol: WebSocketProtocols,
    header: Option<HeaderValue>,
) {
    state.metrics.websocket_opened();
    let (mut sink, stream) = socket.split();
    let shutdown = state.shutdown.clone();
    let input = stream
        .take_until(shutdown.clone().cancelled_owned())
        .take_while(|message| std::future::ready(message.is_ok()))
        .filter_map(|message| {
            std::future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let auth = state.auth.clone();
    let output = WebSocket::new(state.schema.clone(), input, protocol).on_connection_init(
        move |payload| async move {
            let from_payload = ["Authorization", "authorization"]
                .iter()
                .find_map(|key| payload.get(*key).and_then(|v| v.as_str()))
                .and_then(|v| HeaderValue::from_str(v).ok());
            let principal = auth
                .authenticate(from_payload.as_ref().or(header.as_ref()))
                .await
                .map_err(|e| async_graphql::Error::new(e.to_string()))?;
            if principal == Principal::Visitor {
                return Err(async_graphql::Error::new(
                    "missing API token: put {\"Authorization\": \"Bearer TOKEN\"} in the connection_init payload",
                ));
            }
            let mut data = Data::default();
            data.insert(principal);
            Ok(data)
        },
    );
    let mut output = std::pin::pin!(output);
    while let Some(message) = output.next().await {
        let message = match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
        };
        if sink.send(message).await.is_err() {
            break;
        }
    }
    if shutdown.is_cancelled() {
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

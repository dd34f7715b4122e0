//! A minimal graphql-transport-ws client for the tests.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Subscriber {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Subscriber {
    /// Connects to ws://addr{path} and completes connection_init. Err carries
    /// the close frame's reason, or the first message when it is not an ack.
    pub async fn connect(addr: &str, path: &str, payload: Value) -> Result<Self, String> {
        let mut sub = Self::open(addr, path).await?;
        sub.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match sub.message(Duration::from_secs(10)).await {
            Some(Message::Text(text)) if text.contains("connection_ack") => Ok(sub),
            Some(Message::Close(frame)) => {
                Err(frame.map(|f| f.reason.to_string()).unwrap_or_default())
            }
            other => Err(format!("{other:?}")),
        }
    }

    /// A graphql-transport-ws socket on which nothing was sent yet.
    pub async fn open(addr: &str, path: &str) -> Result<Self, String> {
        let mut request = format!("ws://{addr}{path}")
            .into_client_request()
            .expect("ws request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self { ws })
    }

    pub async fn send(&mut self, value: Value) {
        self.ws
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("ws send");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.operation(id, json!({ "query": query, "variables": variables }))
            .await;
    }

    /// Starts any operation with the whole `payload` (query, variables,
    /// extensions).
    pub async fn operation(&mut self, id: &str, payload: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": payload }))
            .await;
    }

    /// Starts an operation whose payload is written as is (JSON that
    /// serde_json would rewrite, such as over-long numbers).
    pub async fn operation_raw(&mut self, id: &str, payload: &str) {
        let frame = format!(r#"{{"id":"{id}","type":"subscribe","payload":{payload}}}"#);
        self.ws
            .send(Message::Text(frame.into()))
            .await
            .expect("ws send");
    }

    /// The next frame that is not a ping; None on timeout or end of stream.
    pub async fn message(&mut self, limit: Duration) -> Option<Message> {
        loop {
            match tokio::time::timeout(limit, self.ws.next()).await {
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(Some(Ok(message))) => return Some(message),
                _ => return None,
            }
        }
    }

    /// The next `next` payload (data and errors) of any subscription; None on timeout.
    /// The next protocol message (`next`, `error`, `complete`...), whole.
    pub async fn frame(&mut self, limit: Duration) -> Option<Value> {
        loop {
            match self.message(limit).await? {
                Message::Text(text) => return serde_json::from_str(&text).ok(),
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    pub async fn next(&mut self, limit: Duration) -> Option<Value> {
        loop {
            match self.message(limit).await? {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON frame");
                    match value["type"].as_str() {
                        Some("next") => return Some(value["payload"].clone()),
                        // graphql-transport-ws's answer to a subscribe
                        // refused before it ran: its errors, as a response.
                        Some("error") => return Some(json!({ "errors": value["payload"] })),
                        _ => continue,
                    }
                }
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => continue,
            }
        }
    }
}

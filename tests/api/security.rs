//! The service tried as an attacker would: scopes on every transport, CSRF,
//! Host and Origin, bounded work before execution, slow bodies, rates, the
//! visitor's reach. Each test keeps the input that once got through.

use std::time::{Duration, Instant};

use contacts_api::domain::Scope;
use contacts_api::service::tokens;
use futures::{SinkExt, StreamExt};
use hmac::{KeyInit, Mac};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{postgres_only, s, TestApp};

const CREATE: &str = "mutation { createContact(input: { displayName: \"Intruder\" }) { id } }";
const COUNT: &str = "{ contacts { totalCount } }";

async fn count(app: &TestApp) -> i64 {
    app.data(COUNT, json!({})).await["contacts"]["totalCount"]
        .as_i64()
        .unwrap()
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("none")
}

/// `query { ...F0 }` where each F(i) spreads F(i+1) twice: 2^levels fields.
fn doubling_fragments(levels: usize) -> String {
    let mut doc = String::from("query { ...F0 }\n");
    for i in 0..levels {
        doc.push_str(&format!(
            "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    doc.push_str(&format!(
        "fragment F{levels} on Query {{ contactTypes {{ value }} }}\n"
    ));
    doc
}

// ---- WebSocket clients for both protocols -------------------------------

#[derive(Clone, Copy, Debug)]
enum Protocol {
    /// graphql-transport-ws (the graphql-ws library).
    Transport,
    /// The legacy subscriptions-transport-ws, subprotocol graphql-ws.
    Legacy,
}

struct Socket {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    protocol: Protocol,
}

impl Socket {
    /// Opens and initialises a socket; Err: what refused it.
    async fn open(addr: &str, protocol: Protocol, token: Option<&str>) -> Result<Self, String> {
        let mut request = format!("ws://{addr}/graphql/ws")
            .into_client_request()
            .unwrap();
        let name = match protocol {
            Protocol::Transport => "graphql-transport-ws",
            Protocol::Legacy => "graphql-ws",
        };
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static(name));
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| e.to_string())?;
        let mut socket = Self { ws, protocol };
        let payload = match token {
            Some(t) => json!({ "Authorization": format!("Bearer {t}") }),
            None => json!({}),
        };
        socket
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match socket.frame().await {
            Some(Ok(v)) if v["type"] == "connection_ack" => Ok(socket),
            other => Err(format!("{other:?}")),
        }
    }

    async fn send(&mut self, value: Value) {
        self.ws
            .send(Message::Text(value.to_string().into()))
            .await
            .unwrap();
    }

    /// The next JSON frame (keep-alives skipped), or Err(close code, reason).
    async fn frame(&mut self) -> Option<Result<Value, (u16, String)>> {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    let v: Value = serde_json::from_str(&text).unwrap();
                    if v["type"] == "ka" || v["type"] == "ping" || v["type"] == "pong" {
                        continue;
                    }
                    return Some(Ok(v));
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Some(Err(frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((0, String::new()))));
                }
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        }
    }

    /// Runs one operation; returns its payload (data and errors).
    async fn run(&mut self, id: &str, query: &str) -> Value {
        let kind = match self.protocol {
            Protocol::Transport => "subscribe",
            Protocol::Legacy => "start",
        };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query } }))
            .await;
        loop {
            let frame = self.frame().await.expect("an answer").expect("open socket");
            if frame["id"] != id {
                continue;
            }
            match frame["type"].as_str() {
                Some("next" | "data") => return frame["payload"].clone(),
                Some("error") => return json!({ "errors": frame["payload"] }),
                _ => continue,
            }
        }
    }

    /// Waits for the server to close the socket; returns its code and reason.
    async fn closed(&mut self, within: Duration) -> (u16, String) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            match self.frame().await {
                Some(Err(close)) => return close,
                Some(Ok(_)) => continue,
                None => break,
            }
        }
        panic!("the socket was not closed within {within:?}");
    }
}

#[tokio::test]
async fn a_read_token_cannot_write_over_either_websocket_protocol() {
    let app = TestApp::new().await;
    let read = tokens::create(&app.state.db, "reader", Scope::Read)
        .await
        .unwrap();
    let write = tokens::create(&app.state.db, "writer", Scope::Write)
        .await
        .unwrap();
    let addr = app.listen().await;
    for protocol in [Protocol::Transport, Protocol::Legacy] {
        let mut reader = Socket::open(&addr, protocol, Some(&read)).await.unwrap();
        assert!(reader.run("q", COUNT).await["errors"].is_null());
        for (i, mutation) in [
            CREATE,
            "mutation { deleteContact(id: \"01a1fefa-217c-752c-bea3-d578cd4dbd7c\") }",
            "mutation { importContacts(input: { contacts: [{ displayName: \"A\" }] }) { createdCount } }",
            // Hidden in a fragment, and as the second operation of a document.
            "mutation { ...M } fragment M on Mutation { createContact(input: { displayName: \"F\" }) { id } }",
        ]
        .iter()
        .enumerate()
        {
            let payload = reader.run(&format!("m{i}"), mutation).await;
            let error = &payload["errors"][0];
            assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{protocol:?} {mutation}: {payload}");
        }
        let mut writer = Socket::open(&addr, protocol, Some(&write)).await.unwrap();
        assert!(writer.run("w", CREATE).await["errors"].is_null());
        // Without a token, once one exists: refused at connection_init.
        assert!(Socket::open(&addr, protocol, None).await.is_err());
    }
    let mut writer = Socket::open(&addr, Protocol::Transport, Some(&write))
        .await
        .unwrap();
    assert_eq!(
        writer.run("c", COUNT).await["data"]["contacts"]["totalCount"],
        2
    );
}

#[tokio::test]
async fn a_revoked_tokens_open_socket_is_closed() {
    let app = TestApp::with_args(&["--token-cache-seconds", "1"]).await;
    let addr = app.listen().await;
    for (i, protocol) in [Protocol::Transport, Protocol::Legacy]
        .into_iter()
        .enumerate()
    {
        let name = format!("soon-revoked-{i}");
        let token = tokens::create(&app.state.db, &name, Scope::Write)
            .await
            .unwrap();
        let mut socket = Socket::open(&addr, protocol, Some(&token)).await.unwrap();
        assert!(socket.run("q", COUNT).await["errors"].is_null());
        let mut second = Socket::open(&addr, protocol, Some(&token)).await.unwrap();
        tokens::revoke(&app.state.db, &name).await.unwrap();
        let revoked = Instant::now();
        let (code, reason) = socket.closed(Duration::from_secs(5)).await;
        assert_eq!(code, 4401, "{reason}");
        assert!(reason.contains("revoked"), "{reason}");
        // The socket is checked every half cache time, so it closes within
        // the cache time; twice that leaves room for a slow machine, and a
        // socket that never closed would fail here all the same.
        assert!(
            revoked.elapsed() <= Duration::from_secs(2),
            "closed after {:?}, the cache time is 1 s",
            revoked.elapsed()
        );
        second.closed(Duration::from_secs(5)).await;
    }
}

#[tokio::test]
async fn a_socket_opened_without_a_token_closes_once_one_exists() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let mut socket = Socket::open(&addr, Protocol::Transport, None)
        .await
        .unwrap();
    assert!(socket.run("q", COUNT).await["errors"].is_null());
    tokens::create(&app.state.db, "first", Scope::Write)
        .await
        .unwrap();
    let (code, reason) = socket.closed(Duration::from_secs(5)).await;
    assert_eq!(code, 4401, "{reason}");
}

#[tokio::test]
async fn websocket_origins_are_checked() {
    let app = TestApp::with_args(&["--cors-origin", "https://app.example.com"]).await;
    let addr = app.listen().await;
    let upgrade = |origin: Option<&'static str>| {
        let addr = addr.clone();
        async move {
            let mut request = format!("ws://{addr}/graphql/ws")
                .into_client_request()
                .unwrap();
            let headers = request.headers_mut();
            headers.insert(
                "sec-websocket-protocol",
                HeaderValue::from_static("graphql-transport-ws"),
            );
            if let Some(origin) = origin {
                headers.insert("origin", HeaderValue::from_static(origin));
            }
            match tokio_tungstenite::connect_async(request).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    response.status().as_u16()
                }
                Err(e) => panic!("{e}"),
            }
        }
    };
    assert_eq!(upgrade(None).await, 101, "no Origin: not a browser");
    assert_eq!(upgrade(Some("https://app.example.com")).await, 101);
    assert_eq!(upgrade(Some("https://evil.example")).await, 403);
    // No token exists: a loopback page (the playground) may.
    assert_eq!(upgrade(Some("http://localhost:3000")).await, 101);
    tokens::create(&app.state.db, "t", Scope::Read)
        .await
        .unwrap();
    assert_eq!(upgrade(Some("http://localhost:3000")).await, 403);
    assert_eq!(upgrade(Some("https://app.example.com")).await, 101);
}

// ---- CSRF, Host ---------------------------------------------------------

#[tokio::test]
async fn cross_site_posts_are_refused() {
    use axum::body::Body;
    use axum::http::Request;
    let app = TestApp::new().await;
    let document = json!({ "query": CREATE }).to_string();
    let form_shaped = format!(
        "{{\"query\": \"{}\", \"x\": \"=\"}}",
        CREATE.replace('"', "\\\"")
    );
    for (content_type, body) in [
        (Some("text/plain"), document.clone()),
        (Some("text/plain;charset=UTF-8"), form_shaped.clone()),
        (
            Some("application/x-www-form-urlencoded"),
            format!("query={CREATE}"),
        ),
        (
            Some("multipart/form-data; boundary=X"),
            format!("--X\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{document}\r\n--X--\r\n"),
        ),
        (None, document.clone()),
    ] {
        let mut request = Request::post("/graphql");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, text) = app
            .request(request.body(Body::from(body)).unwrap())
            .await;
        assert_eq!(status, 415, "{content_type:?}: {text}");
        assert!(text.contains("application/json") && text.contains("Apollo-Require-Preflight"), "{text}");
    }
    assert_eq!(count(&app).await, 0, "nothing was written");
    // A client that proves a preflight may send any type (a JSON body here).
    let request = Request::post("/graphql")
        .header("content-type", "text/plain")
        .header("apollo-require-preflight", "true")
        .body(Body::from(document))
        .unwrap();
    let (status, text) = app.request(request).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(count(&app).await, 1);
}

#[tokio::test]
async fn other_hosts_are_refused_while_no_token_exists() {
    use axum::body::Body;
    use axum::http::Request;
    let app = TestApp::with_args(&["--allowed-host", "contacts.internal"]).await;
    let post = |host: &'static str| {
        Request::post("/graphql")
            .header("host", host)
            .header("content-type", "application/json")
            .body(Body::from(json!({ "query": CREATE }).to_string()))
            .unwrap()
    };
    for host in ["evil.example", "evil.example:8080", "127.0.0.1.nip.io:8080"] {
        let (status, text) = app.request(post(host)).await;
        assert_eq!(status, 403, "{host}: {text}");
        assert!(text.contains("--allowed-host"), "{text}");
        let playground = Request::get("/graphql")
            .header("host", host)
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.request(playground).await.0, 403, "{host}");
    }
    // The WebSocket endpoint checks the Host before upgrading too.
    let upgrade = Request::get("/graphql/ws")
        .header("host", "evil.example")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-protocol", "graphql-transport-ws")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.request(upgrade).await.0, 403);
    assert_eq!(count(&app).await, 0);
    for host in [
        "localhost:8080",
        "127.0.0.1:8080",
        "[::1]:8080",
        "contacts.internal:8080",
    ] {
        let (status, text) = app.request(post(host)).await;
        assert_eq!(status, 200, "{host}: {text}");
    }
    // Probes carry no Host worth checking.
    let health = Request::get("/healthz")
        .header("host", "evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.request(health).await.0, 200);
    // Once a token exists, the token protects the API; any Host is served.
    let token = tokens::create(&app.state.db, "t", Scope::Write)
        .await
        .unwrap();
    let (status, body) = app
        .post_with(
            &[
                ("host", "api.example.com"),
                ("authorization", &format!("Bearer {token}")),
            ],
            json!({ "query": COUNT }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
}

// ---- Bounded work before execution ---------------------------------------

#[tokio::test]
async fn fragment_bombs_are_refused_by_the_bound_while_health_answers() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let client = reqwest::Client::new();
    let bomb = doubling_fragments(25);
    assert!(bomb.len() < 2_000, "a {} byte document", bomb.len());
    let started = Instant::now();
    let requests = (0..3).map(|_| {
        let client = client.clone();
        let url = format!("http://{addr}/graphql");
        let bomb = bomb.clone();
        async move {
            let response = client
                .post(url)
                .json(&json!({ "query": bomb }))
                .send()
                .await
                .unwrap();
            let elapsed = started.elapsed();
            (response.json::<Value>().await.unwrap(), elapsed)
        }
    });
    let health = async {
        let response = client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), started.elapsed())
    };
    let (answers, (health_status, health_elapsed)) =
        tokio::join!(futures::future::join_all(requests), health);
    assert_eq!(health_status, 200);
    for (body, elapsed) in answers {
        assert_eq!(code(&body), "LIMIT_EXCEEDED", "{body}");
        // The bound answered, not a timer.
        let message = s(&body["errors"][0]["message"]);
        assert!(message.contains("--max-root-fields"), "{message}");
        eprintln!("fragment bomb answered in {elapsed:?}");
    }
    eprintln!("/healthz answered in {health_elapsed:?}");
}

#[tokio::test]
async fn thousands_of_aliases_are_refused() {
    let app = TestApp::with_args(&["--max-document-bytes", "1000000"]).await;
    let aliases: String = (0..5_000)
        .map(|i| format!("a{i}: contacts(first: 1) {{ totalCount }} "))
        .collect();
    let (code, _, message) = app.error(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(code, "LIMIT_EXCEEDED");
    assert!(message.contains("--max-root-fields"), "{message}");
    // Each root field and each count is charged to the complexity estimate.
    let app = TestApp::with_args(&["--max-root-fields", "100", "--max-complexity", "2000"]).await;
    let aliases: String = (0..100)
        .map(|i| format!("a{i}: contacts(first: 1) {{ totalCount }} "))
        .collect();
    let (code, _, message) = app.error(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(code, "LIMIT_EXCEEDED");
    assert!(message.contains("complex"), "{message}");
}

#[tokio::test]
async fn large_documents_and_error_floods_are_bounded() {
    let app = TestApp::with_args(&["--max-document-bytes", "10000"]).await;
    let big = format!("{{ contactTypes {{ value }} }} #{}", "x".repeat(10_000));
    let (code, _, message) = app.error(&big, json!({})).await;
    assert_eq!(code, "LIMIT_EXCEEDED");
    assert!(message.contains("--max-document-bytes"), "{message}");
    // Thousands of mistakes: at most 50 errors come back.
    let fields: String = (0..1_000).map(|i| format!("nope{i} ")).collect();
    let response = app
        .gql(&format!("{{ contactTypes {{ {fields} }} }}"), json!({}))
        .await;
    let errors = response["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 50, "{}", errors.len());
    let last = &errors[49];
    assert_eq!(last["extensions"]["omittedErrors"], 951, "{last}");
    assert_eq!(last["extensions"]["code"], "BAD_USER_INPUT");
}

/// 200 clients each trickling a body: each is answered 408 once it falls
/// below --min-body-rate; memory stays bounded and /healthz answers.
#[tokio::test]
async fn slow_bodies_are_cut_off_and_cost_little() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let rss = || {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
            .unwrap_or(0)
    };
    let before = rss();
    let clients = (0..200).map(|_| {
        let addr = addr.clone();
        async move {
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let head = "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{";
            stream.write_all(head.as_bytes()).await.unwrap();
            let started = Instant::now();
            let mut answer = String::new();
            loop {
                tokio::select! {
                    read = async {
                        use tokio::io::AsyncReadExt;
                        let mut buf = [0u8; 1024];
                        stream.read(&mut buf).await.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
                    } => {
                        answer = read.unwrap_or_default();
                        break;
                    }
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {
                        if stream.write_all(b" ").await.is_err() { break; }
                    }
                }
                if started.elapsed() > Duration::from_secs(20) {
                    break;
                }
            }
            answer
        }
    });
    let health = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let started = Instant::now();
        let status = reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap()
            .status();
        (status, started.elapsed(), rss())
    };
    let (answers, (status, health_time, during)) =
        tokio::join!(futures::future::join_all(clients), health);
    assert_eq!(status, 200);
    // Answering at all is the point; the bound only catches a server that
    // waits for the slow clients (they take 5 s or more).
    assert!(health_time < Duration::from_secs(4), "{health_time:?}");
    let timed_out = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 408"))
        .count();
    assert_eq!(timed_out, 200, "{:?}", &answers[..3]);
    let grown = during.saturating_sub(before);
    eprintln!("RSS grew {grown} kB with 200 slow clients");
    assert!(grown < 64 * 1024, "RSS grew {grown} kB");
}

#[tokio::test]
async fn visitors_are_rate_limited_per_address() {
    let app = TestApp::with_args(&["--rate-limit-per-address", "2"]).await;
    tokens::create(&app.state.db, "t", Scope::Write)
        .await
        .unwrap();
    let addr = app.listen().await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..8 {
        let response = client
            .post(format!("http://{addr}/graphql"))
            .json(&json!({ "query": COUNT }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            retry_after = response.headers().get("retry-after").cloned();
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["errors"][0]["extensions"]["reason"], "RATE_LIMITED");
        }
    }
    // A visitor may not count contacts: 401 (with a token it could), until
    // the rate stops it first.
    assert_eq!(
        &statuses[..4],
        &[401, 401, 401, 401],
        "a burst of twice the rate passes"
    );
    assert!(statuses[4..].contains(&429), "{statuses:?}");
    assert!(retry_after.is_some());
}

// ---- Time limits without depending on the machine's speed ---------------

/// Holds a lock that makes writes (`exclusive`) or every statement on the
/// contacts table wait, until dropped.
struct Lock {
    release: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Lock {
    async fn take(app: &TestApp, mode: &str) -> Self {
        use sea_orm::{ConnectOptions, ConnectionTrait, Database};
        let mut options = ConnectOptions::new(app.database_url.clone());
        options.max_connections(1).min_connections(1);
        let db = Database::connect(options).await.unwrap();
        let sqlite = app.database_url.starts_with("sqlite");
        if sqlite {
            db.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        } else {
            db.execute_unprepared(&format!("BEGIN; LOCK TABLE contacts IN {mode} MODE"))
                .await
                .unwrap();
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let done = tokio::spawn(async move {
            let _ = rx.await;
            db.execute_unprepared("ROLLBACK").await.unwrap();
            db.close().await.ok();
        });
        Self {
            release: Some(tx),
            done: Some(done),
        }
    }

    async fn release(mut self) {
        let _ = self.release.take().unwrap().send(());
        self.done.take().unwrap().await.unwrap();
    }
}

#[tokio::test]
async fn a_mutation_over_time_is_answered_and_never_half_written() {
    let app = TestApp::with_args(&["--request-timeout", "1"]).await;
    let sqlite = app.database_url.starts_with("sqlite");
    let lock = Lock::take(&app, "EXCLUSIVE").await;
    let rows: Vec<_> = (0..50)
        .map(|i| json!({ "displayName": format!("P{i}"), "via": [{ "source": "email", "handle": format!("p{i}@example.org") }] }))
        .collect();
    let started = Instant::now();
    let response = app
        .gql(
            "mutation($i: ImportContactsInput!) { importContacts(input: $i) { createdCount } }",
            json!({ "i": { "contacts": rows, "atomic": true } }),
        )
        .await;
    let answered = started.elapsed();
    let error = &response["errors"][0];
    let message = error["message"].as_str().unwrap_or_default();
    if sqlite {
        // SQLite's writer waits four fifths of the limit for the lock, then
        // says plainly that nothing was applied.
        assert_eq!(error["extensions"]["code"], "CONFLICT", "{response}");
        assert_eq!(error["extensions"]["reason"], "WRITE_LOCKED", "{response}");
        assert!(message.contains("nothing was applied"), "{message}");
    } else {
        // PostgreSQL: the request's clock ("may still be applied") or the
        // statement timeout ("not applied"), whichever fires first.
        assert_eq!(error["extensions"]["code"], "LIMIT_EXCEEDED", "{response}");
        assert!(message.contains("--request-timeout"), "{message}");
    }
    // Answered at the limit, not when the lock went away.
    assert!(answered < Duration::from_secs(5), "{answered:?}");
    lock.release().await;
    // All or nothing, and the server is well.
    let settle = Instant::now();
    let mut last = -1;
    while settle.elapsed() < Duration::from_secs(3) {
        let n = count(&app).await;
        assert!(n == 0 || n == 50, "half-written: {n}");
        last = n;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if sqlite {
        assert_eq!(last, 0, "WRITE_LOCKED wrote nothing");
    }
}

#[tokio::test]
async fn a_query_over_time_leaves_no_statement_running() {
    if !postgres_only("pg_stat_activity") {
        return;
    }
    use sea_orm::{ConnectionTrait, Database, Statement};
    let app = TestApp::with_args(&["--request-timeout", "1"]).await;
    app.create(json!({ "displayName": "Locked" })).await;
    let lock = Lock::take(&app, "ACCESS EXCLUSIVE").await;
    let started = Instant::now();
    let (code, _, message) = app.error(COUNT, json!({})).await;
    assert_eq!(code, "LIMIT_EXCEEDED", "{message}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Statements of this test's server waiting on the lock: none, within a
    // moment of the answer (statement_timeout equals --request-timeout).
    let admin = Database::connect(&app.database_url).await.unwrap();
    let waiting = || async {
        let row = admin
            .query_one_raw(Statement::from_string(
                admin.get_database_backend(),
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE state = 'active' AND wait_event_type = 'Lock' \
                 AND query ILIKE '%contacts%' AND pid <> pg_backend_pid()",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut left = waiting().await;
    while left > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = waiting().await;
    }
    assert_eq!(
        left, 0,
        "statements still waiting after the request timed out"
    );
    lock.release().await;
    assert_eq!(count(&app).await, 1);
}

// ---- The visitor ----------------------------------------------------------

pub fn identifier_hash(secret: &str, external_id: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(external_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

const VISITOR_UPSERT: &str = "mutation($i: CreateOrUpdateContactInput!) { createOrUpdateContact(input: $i) { created contact { id externalId displayName via { source handle } metadata conversations { id contact { id } } mergeHistory { sourceId snapshot } } } }";

#[tokio::test]
async fn a_visitor_reaches_its_own_contact_and_nothing_else() {
    let app = TestApp::with_args(&["--identity-secret", "s3cret"]).await;
    let token = tokens::create(&app.state.db, "staff", Scope::Write)
        .await
        .unwrap();
    let staff = [("authorization", format!("Bearer {token}"))];
    let staff: Vec<(&str, &str)> = staff.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let visitor = |input: Value| {
        let app = &app;
        async move {
            let (status, body) = app
                .post_with(
                    &[],
                    json!({ "query": VISITOR_UPSERT, "variables": { "i": input } }),
                )
                .await;
            assert_eq!(status, 200);
            body
        }
    };
    let hash = identifier_hash("s3cret", "visitor-x");
    let mine =
        visitor(json!({ "externalId": "visitor-x", "identifierHash": hash, "displayName": "X" }))
            .await;
    let x_id = s(&mine["data"]["createOrUpdateContact"]["contact"]["id"]).to_owned();

    // Staff's contact Y, with private metadata and a conversation.
    let (_, body) = app
        .post_with(
            &staff,
            json!({ "query": "mutation { createContact(input: { displayName: \"Y\", externalId: \"crm-y\", via: [{ source: \"email\", handle: \"y@example.org\" }], metadata: { secret: \"salary 90k\" }, conversations: [{ id: \"01a1fefa-217c-752c-bea3-d578cd4dbd7c\", channel: \"email\" }] }) { id } }" }),
        )
        .await;
    let y_id = s(&body["data"]["createContact"]["id"]).to_owned();

    // A key that belongs to Y: CONFLICT, naming neither Y's id nor its data.
    let body = visitor(json!({ "externalId": "visitor-x", "identifierHash": hash, "via": [{ "source": "email", "handle": "y@example.org" }] })).await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
    let text = body.to_string();
    assert!(!text.contains(&y_id) && !text.contains("salary"), "{text}");

    // Staff merges Y into X: the visitor's answers carry none of Y's past.
    let (_, body) = app
        .post_with(
            &staff,
            json!({ "query": format!("mutation {{ mergeContacts(destinationId: \"{x_id}\", sourceId: \"{y_id}\") {{ id mergeHistory {{ sourceId }} }} }}") }),
        )
        .await;
    assert_eq!(
        body["data"]["mergeContacts"]["mergeHistory"][0]["sourceId"],
        json!(y_id),
        "{body}"
    );
    let body =
        visitor(json!({ "externalId": "visitor-x", "identifierHash": hash, "title": "Visitor" }))
            .await;
    let contact = &body["data"]["createOrUpdateContact"]["contact"];
    assert_eq!(contact["id"], json!(x_id), "{body}");
    assert_eq!(contact["mergeHistory"], json!([]), "{body}");
    assert_eq!(contact["conversations"], json!([]), "{body}");
    assert!(!body.to_string().contains(&y_id), "{body}");
    // Staff still sees everything.
    let (_, body) = app
        .post_with(
            &staff,
            json!({ "query": format!("{{ contact(id: \"{x_id}\") {{ conversations {{ id }} mergeHistory {{ sourceId }} }} }}") }),
        )
        .await;
    assert_eq!(
        body["data"]["contact"]["conversations"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{body}"
    );
    assert_eq!(
        body["data"]["contact"]["mergeHistory"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{body}"
    );
    // A visitor claims at most 10 handles in one call.
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({ "source": "email", "handle": format!("v{i}@example.org") }))
        .collect();
    let body =
        visitor(json!({ "externalId": "visitor-x", "identifierHash": hash, "via": eleven })).await;
    assert_eq!(code(&body), "LIMIT_EXCEEDED", "{body}");
    // Nothing but createOrUpdateContact, whatever the transport.
    let (_, body) = app.post_with(&[], json!({ "query": COUNT })).await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
}

// ---- Connections, second round of attacks --------------------------------

/// Reads until the server closes the connection; returns whether it did
/// within `limit`.
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 256];
    matches!(
        tokio::time::timeout(limit, stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn silent_and_slow_header_connections_are_closed() {
    let app = TestApp::with_args(&["--header-read-timeout", "1"]).await;
    let addr = app.listen().await;
    let mut silent = Vec::new();
    for _ in 0..50 {
        silent.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    for stream in &mut silent {
        assert!(closed_within(stream, Duration::from_secs(5)).await);
    }
    assert!(closed_within(&mut slow, Duration::from_secs(5)).await);
    assert!(started.elapsed() < Duration::from_secs(5));
    // The server is well.
    let status = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn one_address_holds_a_bounded_number_of_connections() {
    let app = TestApp::with_args(&["--max-connections-per-address", "5"]).await;
    let addr = app.listen().await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // Let the server accept them all before the sixth.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sixth = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert!(closed_within(&mut sixth, Duration::from_secs(2)).await);
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn websocket_operations_count_against_the_tokens_rate() {
    let app = TestApp::with_args(&["--rate-limit-per-token", "2"]).await;
    let token = tokens::create(&app.state.db, "busy", Scope::Read)
        .await
        .unwrap();
    let addr = app.listen().await;
    let mut socket = Socket::open(&addr, Protocol::Transport, Some(&token))
        .await
        .unwrap();
    let mut reasons = Vec::new();
    for i in 0..10 {
        let payload = socket.run(&format!("q{i}"), "{ __typename }").await;
        reasons.push(payload["errors"][0]["extensions"]["reason"].clone());
    }
    assert!(reasons.contains(&json!("RATE_LIMITED")), "{reasons:?}");
}

#[tokio::test]
async fn made_up_tokens_count_against_the_address() {
    let app = TestApp::with_args(&["--rate-limit-per-address", "2"]).await;
    tokens::create(&app.state.db, "t", Scope::Read)
        .await
        .unwrap();
    let addr = app.listen().await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..10 {
        let response = client
            .post(format!("http://{addr}/graphql"))
            .header("authorization", format!("Bearer cat_made_up_{i}"))
            .json(&json!({ "query": COUNT }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    // Refused before the lookup, with a real token too, until the wait ends.
    assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
}

#[tokio::test]
async fn a_second_host_or_an_absolute_target_cannot_slip_past() {
    use axum::body::Body;
    use axum::http::Request;
    let app = TestApp::new().await;
    // (target, Host headers): each names a foreign host somewhere.
    let cases: [(&str, &[&str]); 3] = [
        ("/graphql", &["localhost", "evil.example"]),
        ("http://evil.example/graphql", &["localhost"]),
        ("/graphql", &["[::1"]),
    ];
    for (target, hosts) in cases {
        let mut request = Request::post(target).header("content-type", "application/json");
        for host in hosts {
            request = request.header("host", *host);
        }
        let request = request
            .body(Body::from(json!({ "query": CREATE }).to_string()))
            .unwrap();
        assert_eq!(app.request(request).await.0, 403, "{target} {hosts:?}");
    }
    assert_eq!(count(&app).await, 0);
}

#[tokio::test]
async fn filter_text_is_bounded_and_nul_free() {
    let app = TestApp::new().await;
    let query = "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }";
    for filter in [
        json!({ "search": "a".repeat(50_000) }),
        json!({ "search": "%_".repeat(15_000) }),
        json!({ "search": "a\u{0}b" }),
        json!({ "groupName": "a\u{0}b" }),
    ] {
        let (code, field, message) = app.error(query, json!({ "f": filter })).await;
        assert_eq!(code, "BAD_USER_INPUT", "{message}");
        assert!(field.is_some_and(|f| f.starts_with("filter.")), "{message}");
    }
    let longest = json!({ "search": "é".repeat(256) });
    app.data(query, json!({ "f": longest })).await;
}

#[tokio::test]
async fn visitors_cannot_fill_the_metrics_labels() {
    use axum::body::Body;
    use axum::http::Request;
    let app = TestApp::with_args(&["--identity-secret", "s3cret"]).await;
    tokens::create(&app.state.db, "t", Scope::Write)
        .await
        .unwrap();
    let hash = identifier_hash("s3cret", "v");
    for i in 0..5 {
        let (_, body) = app
            .post_with(
                &[],
                json!({
                    "query": format!("mutation Junk{i}($i: CreateOrUpdateContactInput!) {{ createOrUpdateContact(input: $i) {{ created }} }}"),
                    "variables": { "i": { "externalId": "v", "identifierHash": hash } }
                }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let (_, text) = app
        .request(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert!(!text.contains("Junk"), "{text}");
    assert!(
        text.contains("operation=\"other\",outcome=\"ok\"} 5"),
        "{text}"
    );
}

/// Every field of Contact is either readable by a visitor (its own data) or
/// emptied for one; a new field fails here until it is put in one list (and
/// the README's Security section says which).
#[tokio::test]
async fn every_contact_field_is_classified_for_visitors() {
    const VISIBLE: &[&str] = &[
        "address",
        "avatarUrl",
        "contactType",
        "createdAt",
        "description",
        "displayName",
        "externalId",
        "gender",
        "groupNames",
        "groupNamesConnection",
        "id",
        "isSpammer",
        "links",
        "locale",
        "metadata",
        "organizationName",
        "timezone",
        "title",
        "updatedAt",
        "via",
        "viaConnection",
    ];
    const EMPTIED: &[&str] = &[
        "conversations",
        "conversationsConnection",
        "history",
        "mergeHistory",
        "mergeHistoryConnection",
    ];
    let app = TestApp::new().await;
    let data = app
        .data(
            "{ __type(name: \"Contact\") { fields { name } } }",
            json!({}),
        )
        .await;
    let mut fields: Vec<String> = data["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| s(&f["name"]).to_owned())
        .collect();
    fields.sort();
    let mut classified: Vec<String> = VISIBLE
        .iter()
        .chain(EMPTIED)
        .map(|f| (*f).to_owned())
        .collect();
    classified.sort();
    assert_eq!(fields, classified);
}

#[tokio::test]
async fn long_via_lists_are_refused_and_the_longest_allowed_is_stored() {
    let app = TestApp::new().await;
    let via = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({ "source": "email", "handle": format!("h{i}@example.org") }))
            .collect()
    };
    // 1,000 handles once overflowed the stack and killed the server.
    let query =
        "mutation($i: CreateContactInput!) { createContact(input: $i) { id via { handle } } }";
    let (code, _, message) = app
        .error(query, json!({ "i": { "via": via(1_000) } }))
        .await;
    assert_eq!(code, "LIMIT_EXCEEDED");
    assert!(message.contains("input.via"), "{message}");
    let created = app.data(query, json!({ "i": { "via": via(250) } })).await;
    assert_eq!(
        created["createContact"]["via"].as_array().unwrap().len(),
        250
    );
    // The same list again, through createOrUpdate's lookup and the update path.
    let upsert = "mutation($i: CreateOrUpdateContactInput!) { createOrUpdateContact(input: $i) { created contact { id } } }";
    let again = app
        .data(upsert, json!({ "i": { "via": via(250), "title": "T" } }))
        .await;
    assert_eq!(again["createOrUpdateContact"]["created"], false);
    assert_eq!(
        app.error(upsert, json!({ "i": { "via": via(251) } }))
            .await
            .0,
        "LIMIT_EXCEEDED"
    );
}

/// A burst then a trickle: cut off at the first slow 5 s stretch, not after
/// the average since the start has fallen low enough.
#[tokio::test]
async fn a_burst_then_a_trickle_is_cut_off() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 16000000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; 2_000_000]).await.unwrap();
    let started = Instant::now();
    let answer = loop {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 64];
        tokio::select! {
            read = stream.read(&mut buf) => break String::from_utf8_lossy(&buf[..read.unwrap_or(0)]).into_owned(),
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                let _ = stream.write_all(b" ").await;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still open");
    };
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
}

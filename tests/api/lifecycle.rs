//! The server as a process: shutdown on SIGTERM, JSON logs, and the database
//! going away and coming back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{postgres_only, TestApp};
use crate::process::{free_port, Server};
use crate::ws_client::Subscriber;

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_and_closes_subscriptions() {
    let app = TestApp::new().await;
    let mut server = Server::start(&app.database_url, &["--log-format", "json"]).await;
    let mut sub = Subscriber::connect(&server.addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    sub.subscribe("1", crate::subscriptions::EVENTS, json!({}))
        .await;

    let rows: Vec<Value> = (0..5_000)
        .map(|i| json!({ "displayName": format!("P{i}"), "via": [{ "source": "email", "handle": format!("p{i}@example.org") }] }))
        .collect();
    let (http, url) = (server.http.clone(), server.url("/graphql"));
    let in_flight = tokio::spawn(async move {
        let response: Value = http
            .post(url)
            .json(&json!({
                "query": "mutation($i: ImportContactsInput!) { importContacts(input: $i) { createdCount } }",
                "variables": { "i": { "contacts": rows } }
            }))
            .send()
            .await
            .expect("the in-flight request is answered")
            .json()
            .await
            .expect("JSON");
        (response, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    server.terminate();

    let (response, answered) = in_flight.await.unwrap();
    assert_eq!(
        response["data"]["importContacts"]["createdCount"], 5_000,
        "{response}"
    );
    assert!(
        answered > signalled,
        "the request must still be in flight at SIGTERM"
    );
    // The subscription ends with a close frame, not a cut connection.
    let close = loop {
        match sub.message(Duration::from_secs(20)).await {
            Some(Message::Close(frame)) => break frame,
            Some(_) => continue, // CREATED events of the import
            None => panic!("no close frame"),
        }
    };
    assert_eq!(u16::from(close.expect("a close frame").code), 1001);
    let status = server.wait(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}: {:#?}", server.logs());

    // --log-format json: every line is an object; request lines carry an id.
    let logs = server.logs();
    let parsed: Vec<Value> = logs
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let access = parsed
        .iter()
        .find(|l| l["span"]["path"] == "/graphql" && l["status"] == 200)
        .unwrap_or_else(|| panic!("no access line for the import: {logs:#?}"));
    assert!(
        uuid::Uuid::parse_str(access["span"]["id"].as_str().unwrap()).is_ok(),
        "{access}"
    );
    assert!(logs.iter().any(|l| l.contains("shut down")), "{logs:#?}");
}

/// A PostgreSQL cluster of the test's own, so that stopping it disturbs
/// nobody else.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

fn as_postgres(bin: &Path, tool: &str, args: &[&str]) -> std::process::Output {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let mut command = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    };
    command.args(args).output().expect("run a PostgreSQL tool")
}

impl Cluster {
    fn new() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries under /usr/lib/postgresql")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|p| p.join("initdb").exists())
            .expect("initdb");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status();
        let out = as_postgres(
            &bin,
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Self {
            bin,
            data,
            port: free_port(),
            _dir: dir,
        };
        cluster.start();
        cluster
    }

    fn pg_ctl(&self, args: &[&str]) {
        let out = as_postgres(
            &self.bin,
            "pg_ctl",
            &[&["-D", self.data.to_str().unwrap(), "-w"], args].concat(),
        );
        assert!(
            out.status.success(),
            "pg_ctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.data.display()
        );
        let log = self.data.join("log");
        self.pg_ctl(&["-o", &options, "-l", log.to_str().unwrap(), "start"]);
    }

    fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}

#[tokio::test]
async fn the_database_going_away_fails_requests_clearly_and_recovery_needs_no_restart() {
    if !postgres_only("it stops and restarts a PostgreSQL cluster of its own") {
        return;
    }
    let cluster = tokio::task::spawn_blocking(Cluster::new).await.unwrap();
    let server = Server::start(&cluster.url(), &[]).await;
    let count = "{ contacts { totalCount } }";
    assert_eq!(server.get("/readyz").await.0, 200);
    assert!(server.gql(count, json!({})).await["errors"].is_null());

    let stopping = tokio::task::spawn_blocking({
        let (bin, data) = (cluster.bin.clone(), cluster.data.clone());
        move || {
            as_postgres(
                &bin,
                "pg_ctl",
                &["-D", data.to_str().unwrap(), "-w", "-m", "fast", "stop"],
            )
        }
    });
    assert!(stopping.await.unwrap().status.success());

    // Known to be down: every request is answered at once, not after the
    // pool's acquire timeout.
    for _ in 0..3 {
        let asked = Instant::now();
        let response = server.gql(count, json!({})).await;
        let took = asked.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "answered after {took:?}: {response}"
        );
        assert_eq!(
            response["errors"][0]["extensions"]["reason"], "DATABASE_UNAVAILABLE",
            "{response}"
        );
    }
    let (status, body) = server.get("/readyz").await;
    assert_eq!((status, body.as_str()), (503, "database unreachable"));
    let response = server.gql(count, json!({})).await;
    let error = &response["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "INTERNAL_SERVER_ERROR",
        "{response}"
    );
    assert_eq!(
        error["extensions"]["reason"], "DATABASE_UNAVAILABLE",
        "{response}"
    );
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("database is unavailable"));
    assert_eq!(
        server.get("/healthz").await.0,
        200,
        "the process itself is fine"
    );

    tokio::task::spawn_blocking({
        let cluster_start = (cluster.bin.clone(), cluster.data.clone(), cluster.port);
        move || {
            let (bin, data, port) = cluster_start;
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                data.display()
            );
            let log = data.join("log");
            as_postgres(
                &bin,
                "pg_ctl",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-w",
                    "-o",
                    &options,
                    "-l",
                    log.to_str().unwrap(),
                    "start",
                ],
            )
        }
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.get("/readyz").await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready again: {:#?}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let response = server.gql(count, json!({})).await;
    assert!(response["errors"].is_null(), "{response}");
    cluster.stop();
}

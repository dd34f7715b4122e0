//! contacts-api as a separate process: for replicas, signals, logs and the
//! database going away.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary under test: this build's, or CONTACTS_API_BIN (say, a release
/// build, to measure the event latency of tests/api/replicas.rs).
pub fn bin() -> String {
    std::env::var("CONTACTS_API_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_contacts-api").into())
}

/// A free loopback port (released again; the server binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

pub struct Server {
    child: Child,
    /// host:port
    pub addr: String,
    pub http: reqwest::Client,
    stderr: Arc<Mutex<Vec<String>>>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Starts the binary on `database_url` and waits until /healthz answers.
    pub async fn start(database_url: &str, extra: &[&str]) -> Self {
        let addr = format!("127.0.0.1:{}", free_port());
        let mut child = Command::new(bin())
            .args(["--database-url", database_url, "--listen", &addr])
            .args(extra)
            .env("RUST_LOG", "info,sqlx=warn,sea_orm=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start contacts-api");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = stderr.clone();
        let pipe = child.stderr.take().expect("stderr");
        let reader = tokio::spawn(async move {
            let mut reader = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                lines.lock().unwrap().push(line);
            }
        });
        let server = Self {
            child,
            addr,
            http: reqwest::Client::new(),
            stderr,
            reader: Some(reader),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if server.get("/healthz").await.0 == 200 {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "server did not come up: {:#?}",
                server.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// (status, body); status 0 when the server cannot be reached.
    pub async fn get(&self, path: &str) -> (u16, String) {
        match self.http.get(self.url(path)).send().await {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(_) => (0, String::new()),
        }
    }

    /// Posts a GraphQL document; returns the whole JSON response.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("POST /graphql")
            .json()
            .await
            .expect("JSON response")
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit and for its last log lines.
    pub async fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .expect("the server did not exit in time")
            .expect("wait");
        if let Some(reader) = self.reader.take() {
            let _ = reader.await;
        }
        status
    }

    /// Standard error so far, one entry per line.
    pub fn logs(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }
}

/// Runs the binary to completion: (success, stdout, stderr).
pub async fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin())
        .args(args)
        .output()
        .await
        .expect("run contacts-api");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

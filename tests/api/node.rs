//! Tests that drive real JavaScript clients: the graphql-ws npm client and
//! the GraphiQL playground in Debian's Chromium. Their setup installs what
//! they need, idempotently: the npm packages of tests/js (npm ci) and the
//! chromium package (apt-get; never a downloaded browser).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use contacts_api::domain::Scope;
use contacts_api::service::tokens;
use serde_json::Value;

use crate::common::TestApp;

static SETUP: Mutex<()> = Mutex::new(());

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// `npm ci` unless node_modules matches package-lock.json already.
fn npm_packages() {
    let _guard = SETUP.lock().unwrap_or_else(|e| e.into_inner());
    let dir = js_dir();
    let installed = dir.join("node_modules/.package-lock.json");
    let fresh = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if fresh(&installed) >= fresh(&dir.join("package-lock.json")) && installed.exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .expect("npm (Node.js 20) must be installed");
    assert!(status.success(), "npm ci failed in tests/js");
}

/// Debian's Chromium, installed with apt-get when missing.
fn chromium() -> String {
    let _guard = SETUP.lock().unwrap_or_else(|e| e.into_inner());
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&path).exists() {
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends", "chromium"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        // Package lists may be missing or stale on a fresh machine.
        let installed = install()
            || (Command::new("apt-get")
                .args(["update", "-q"])
                .status()
                .is_ok()
                && install());
        assert!(
            installed && Path::new(&path).exists(),
            "cannot install Debian's chromium package (run as root, or set CHROMIUM to a Chromium binary)"
        );
    }
    path
}

/// Runs `node SCRIPT ARGS` in tests/js; returns its standard output, parsed.
async fn node(script: &str, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut command = tokio::process::Command::new("node");
    command
        .arg(script)
        .args(args)
        .current_dir(js_dir())
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), command.output())
        .await
        .expect("node did not finish in time")
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "node {script} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("node {script} printed no JSON: {stdout}"))
}

#[tokio::test]
async fn the_graphql_ws_client_receives_events() {
    tokio::task::spawn_blocking(npm_packages).await.unwrap();
    let app = TestApp::new().await;
    let token = tokens::create(&app.state.db, "frontend", Scope::Write)
        .await
        .unwrap();
    let addr = app.listen().await;
    let event = node("graphql-ws-client.mjs", &[&addr, &token], &[]).await;
    assert_eq!(event["kind"], "CREATED", "{event}");
    assert!(event["contact"]["displayName"]
        .as_str()
        .unwrap()
        .starts_with("From graphql-ws"));
}

/// Opens the playground, runs `{ contacts(first: 1) { totalCount } }`
/// (with the token in the headers editor, if any), and checks what the page shows.
async fn run_playground(app: &TestApp, token: Option<&str>, screenshot: &str) {
    tokio::task::spawn_blocking(npm_packages).await.unwrap();
    let browser = tokio::task::spawn_blocking(chromium).await.unwrap();
    let addr = app.listen().await;
    let shot = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(screenshot);
    let url = format!("http://{addr}/graphql");
    let mut args = vec![url.as_str(), shot.to_str().unwrap()];
    args.extend(token);
    let out = node("playground.mjs", &args, &[("CHROMIUM", &browser)]).await;
    assert_eq!(out["result"]["data"]["contacts"]["totalCount"], 1, "{out}");
    assert_eq!(
        out["external"],
        serde_json::json!([]),
        "the page must not leave the server"
    );
    assert_eq!(out["errors"], serde_json::json!([]), "{out}");
    assert!(shot.exists());
}

#[tokio::test]
async fn the_playground_runs_a_query_in_chromium() {
    let app = TestApp::new().await;
    app.create(serde_json::json!({ "displayName": "Shown" }))
        .await;
    run_playground(&app, None, "playground.png").await;
}

#[tokio::test]
async fn the_playground_takes_a_token_in_its_headers_editor() {
    let app = TestApp::new().await;
    app.create(serde_json::json!({ "displayName": "Shown" }))
        .await;
    let token = tokens::create(&app.state.db, "browser", Scope::Read)
        .await
        .unwrap();
    run_playground(&app, Some(&token), "playground-token.png").await;
}

/// graphql-http's audit suite (the GraphQL over HTTP spec's own): every
/// audit passes, MAY items included.
#[tokio::test]
async fn the_graphql_over_http_audit_passes() {
    tokio::task::spawn_blocking(npm_packages).await.unwrap();
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let url = format!("http://{addr}/graphql");
    let report = node("audit.mjs", &[&url], &[]).await;
    assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["warnings"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["notices"], serde_json::json!([]), "{report:#}");
    assert!(report["ok"].as_u64().unwrap() > 40, "{report:#}");
}

/// urql (default options), graphql-request (GET mode), Apollo Client with
/// PersistedQueryLink and with BatchHttpLink, each through its own fetch.
#[tokio::test]
async fn real_clients_speak_to_the_server() {
    tokio::task::spawn_blocking(npm_packages).await.unwrap();
    let app = TestApp::new().await;
    let token = tokens::create(&app.state.db, "frontend", Scope::Write)
        .await
        .unwrap();
    let addr = app.listen().await;
    let url = format!("http://{addr}/graphql");
    let out = node("clients.mjs", &[&url, &token], &[]).await;

    let urql = &out["urql"];
    assert_eq!(urql["created"]["displayName"], "From urql", "{out:#}");
    assert_eq!(urql["found"]["displayName"], "From urql", "{out:#}");
    assert_eq!(urql["found"]["via"][0]["handle"], "urql@example.org");
    // urql's default: the mutation over POST, the query over GET.
    assert_eq!(
        urql["methods"],
        serde_json::json!(["POST", "GET"]),
        "{out:#}"
    );

    let request = &out["graphqlRequest"];
    assert_eq!(request["data"]["contacts"]["totalCount"], 1, "{out:#}");
    assert_eq!(request["methods"], serde_json::json!(["GET"]));

    // The hash alone (unknown), then the hash with the text (kept), then,
    // from a fresh cache, the hash alone (found).
    let apollo = &out["apollo"];
    assert_eq!(
        apollo["first"]["contactTypes"][0]["value"], "contact",
        "{out:#}"
    );
    assert_eq!(apollo["second"], apollo["first"]);
    assert_eq!(
        apollo["requests"],
        serde_json::json!([
            { "method": "GET", "hasQuery": false, "hasHash": true },
            { "method": "POST", "hasQuery": true, "hasHash": true },
            { "method": "GET", "hasQuery": false, "hasHash": true }
        ]),
        "{out:#}"
    );

    let batch = &out["batch"];
    assert_eq!(batch["count"]["contacts"]["totalCount"], 1, "{out:#}");
    assert_eq!(batch["types"]["contactTypes"][0]["value"], "contact");
    assert_eq!(
        batch["bodies"],
        serde_json::json!([2]),
        "one POST of two operations"
    );
}

/// graphql-schema-linter's default rules on the committed schema.graphql
/// (descriptions everywhere, naming, Relay connections): no rule is turned
/// off.
#[tokio::test]
async fn the_schema_passes_graphql_schema_linter() {
    tokio::task::spawn_blocking(npm_packages).await.unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let out = tokio::process::Command::new("node")
        .arg("node_modules/graphql-schema-linter/lib/cli.js")
        .arg("--format")
        .arg("compact")
        .arg(&schema)
        .current_dir(js_dir())
        .output()
        .await
        .expect("node");
    assert!(
        out.status.success(),
        "graphql-schema-linter: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A page on another origin, allowed by --cors-origin, sends the tracing
/// and client headers frontends add and reads X-Request-Id back.
#[tokio::test]
async fn a_page_on_another_origin_sends_tracing_headers_and_reads_the_request_id() {
    tokio::task::spawn_blocking(npm_packages).await.unwrap();
    let browser = tokio::task::spawn_blocking(chromium).await.unwrap();
    let page_port = crate::process::free_port().to_string();
    let page_origin = format!("http://localhost:{page_port}");
    let app = TestApp::with_args(&["--cors-origin", &page_origin]).await;
    let token = tokens::create(&app.state.db, "web", Scope::Read)
        .await
        .unwrap();
    let addr = app.listen().await;
    let url = format!("http://{addr}/graphql");
    let out = node(
        "cors.mjs",
        &[&url, &page_port, &token],
        &[("CHROMIUM", &browser)],
    )
    .await;
    assert_eq!(out["origin"], page_origin.as_str(), "{out:#}");
    assert_eq!(out["status"], 200, "{out:#}");
    assert_eq!(out["requestId"], "req-from-the-page-1", "{out:#}");
    assert_eq!(out["body"]["data"]["contacts"]["totalCount"], 0, "{out:#}");
}

/// GraphiQL runs a subscription over the vendored graphql-ws client and
/// shows an event; with a token, the headers editor's Authorization reaches
/// the WebSocket's connection_init.
#[tokio::test]
async fn the_playground_runs_a_subscription_in_chromium() {
    tokio::task::spawn_blocking(npm_packages).await.unwrap();
    let browser = tokio::task::spawn_blocking(chromium).await.unwrap();
    let app = TestApp::new().await;
    let token = tokens::create(&app.state.db, "browser", Scope::Write)
        .await
        .unwrap();
    let addr = app.listen().await;
    let url = format!("http://{addr}/graphql");
    let out = node(
        "playground-subscription.mjs",
        &[&url, &token],
        &[("CHROMIUM", &browser)],
    )
    .await;
    let shown = out["shown"].as_str().unwrap_or_default();
    assert!(
        shown.contains("CREATED") && shown.contains("Seen live"),
        "{out:#}"
    );
    assert_eq!(out["external"], serde_json::json!([]), "{out:#}");
    assert_eq!(out["errors"], serde_json::json!([]), "{out:#}");
}

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

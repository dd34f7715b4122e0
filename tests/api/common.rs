//! The test harness: a fresh database per test (a temporary SQLite file, or a
//! fresh PostgreSQL schema when TEST_DATABASE_URL is set), the real router,
//! and helpers to post GraphQL documents through it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use clap::Parser;
use contacts_api::app;
use contacts_api::cli::Cli;
use contacts_api::config::Config;
use contacts_api::service::events::EventBus;
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};
use tower::ServiceExt;

/// Every scalar and relation of Contact, for round-trip checks.
pub const CONTACT_FIELDS: &str =
    "id displayName avatarUrl title timezone gender locale organizationName \
    description contactType isSpammer externalId groupNames links via { source handle extension } \
    address { organizationName addressLine1 addressLine2 postcode city state country } \
    metadata conversations { id channel createdAt contact { id } } \
    mergeHistory { id sourceId snapshot mergedAt } createdAt updatedAt";

pub enum Store {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        schema: String,
    },
    /// A database of its own (for settings a schema cannot have, such as
    /// its locale).
    PostgresDatabase {
        admin_url: String,
        name: String,
    },
}

impl Store {
    /// On PostgreSQL, a database of the test's own created with
    /// `LC_COLLATE 'C'` and `LC_CTYPE 'C'` (where `lower()` folds only A-Z);
    /// None on SQLite.
    pub async fn create_c_locale() -> Option<(String, Self)> {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let name = format!("c_{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(&admin_url)
            .await
            .expect("TEST_DATABASE_URL must point at a reachable PostgreSQL");
        admin
            .execute_unprepared(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            ))
            .await
            .expect("create a C-locale database");
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        Some((url.to_string(), Store::PostgresDatabase { admin_url, name }))
    }

    /// An empty database of the test's own (a temporary SQLite file, or a
    /// fresh PostgreSQL schema when TEST_DATABASE_URL is set), and its URL.
    /// Dropping the Store removes it.
    pub async fn create() -> (String, Self) {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
                Self::create_schema(admin_url, schema).await
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
                (url, Store::Sqlite(dir))
            }
        }
    }

    /// A fresh PostgreSQL schema of this name, and its URL.
    pub async fn create_schema(admin_url: String, schema: String) -> (String, Self) {
        let admin = Database::connect(&admin_url)
            .await
            .expect("TEST_DATABASE_URL must point at a reachable PostgreSQL");
        admin
            .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create test schema");
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        // Named after the schema, so that the cleanup can end what is left
        // connected (see Store's Drop).
        let url = format!(
            "{admin_url}{sep}options=-c%20search_path%3D{schema}&application_name={schema}"
        );
        (url, Store::Postgres { admin_url, schema })
    }
}

pub struct TestApp {
    pub router: Router,
    /// What the router serves (schema, auth, metrics, shutdown).
    pub state: app::AppState,
    /// The test's own database, for code that connects by itself (the CLI).
    pub database_url: String,
    /// The bus the server publishes to.
    pub events: EventBus,
    statements: Arc<AtomicUsize>,
    /// Kept for its Drop: the database goes with the app.
    _store: Store,
    connections: contacts_api::http::ConnectionLimits,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_args(&[]).await
    }

    /// A server started with extra command-line flags.
    pub async fn with_args(args: &[&str]) -> Self {
        let (url, store) = Store::create().await;
        Self::on_store(url, store, args).await
    }

    /// A server on a database made by the caller.
    pub async fn on_store(url: String, store: Store, args: &[&str]) -> Self {
        let mut argv = vec!["contacts-api", "--database-url", &url];
        // Tests see every revocation at once unless they test the cache.
        if !args.contains(&"--token-cache-seconds") {
            argv.extend_from_slice(&["--token-cache-seconds", "0"]);
        }
        argv.extend_from_slice(args);
        let config: Config = Cli::try_parse_from(argv).expect("test flags").config;

        app::migrate(&url).await.expect("migrate");
        let mut db = app::connect_server(&config, 8).await.expect("connect");
        // The feed's own reads (it polls the log) are not the requests'
        // statements that tests count: it gets a handle without the counter.
        let feed_db = db.clone();
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let poll = std::time::Duration::from_millis(config.change_poll_ms);
        let events = EventBus::for_database(&feed_db, poll)
            .await
            .expect("event bus");
        let state = app::assemble(db, &config, events.clone())
            .await
            .expect("migrate and build");
        Self {
            router: app::router(state.clone()).expect("router"),
            state,
            database_url: url.clone(),
            events,
            statements,
            _store: store,
            connections: config.connection_limits(),
        }
    }

    /// Serves the router on a real socket (port 0); returns host:port.
    pub async fn listen(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        // The server's own accept loop, so that connection limits apply.
        tokio::spawn(contacts_api::http::serve(
            listener,
            self.router.clone(),
            self.connections,
            self.state.shutdown.clone(),
        ));
        addr.to_string()
    }

    /// Posts a document with extra headers; returns status and body.
    pub async fn post_with(&self, headers: &[(&str, &str)], body: Value) -> (StatusCode, Value) {
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (status, body) = self
            .request(request.body(Body::from(body.to_string())).expect("request"))
            .await;
        let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
        (status, body)
    }

    /// Posts a body exactly as written (for JSON serde_json would rewrite).
    pub async fn raw_post(&self, body: &str) -> (StatusCode, Value) {
        let request = Request::post("/graphql")
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .expect("request");
        let (status, body) = self.request(request).await;
        let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
        (status, body)
    }

    /// The `n` column of a one-row SQL query (`SELECT count(*) AS n ...`)
    /// run straight on the test's database.
    pub async fn sql_count(&self, sql: &str) -> i64 {
        use sea_orm::Statement;
        let db = &self.state.db;
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .expect("count query")
            .expect("a row");
        row.try_get("", "n").expect("column n")
    }

    /// SQL statements executed since the last call.
    pub fn take_statement_count(&self) -> usize {
        self.statements.swap(0, Ordering::SeqCst)
    }

    pub async fn request(&self, request: Request<Body>) -> (StatusCode, String) {
        let response = self.router.clone().oneshot(request).await.expect("router");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// Posts a document; returns the status and the whole response, whatever
    /// the status.
    pub async fn gql_status(&self, query: &str, variables: Value) -> (StatusCode, Value) {
        let body = json!({ "query": query, "variables": variables });
        self.post_with(&[], body).await
    }

    /// Posts a document; returns the whole response (data and errors).
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let request = Request::post("/graphql")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("request");
        let (status, body) = self.request(request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).expect("JSON response")
    }

    /// Posts a document that must succeed; returns its data.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.gql(query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}"
        );
        response["data"].clone()
    }

    /// Posts a document that must fail; returns (code, field, message) of the
    /// first error. The HTTP status must be the one its code calls for.
    pub async fn error(&self, query: &str, variables: Value) -> (String, Option<String>, String) {
        let (status, response) = self.gql_status(query, variables).await;
        assert_eq!(status, status_for(&response), "{response:#}");
        let error = &response["errors"][0];
        assert!(error.is_object(), "expected an error: {response:#}");
        (
            error["extensions"]["code"]
                .as_str()
                .expect("extensions.code")
                .to_owned(),
            error["extensions"]["field"].as_str().map(str::to_owned),
            error["message"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// Creates a contact; returns it with every field.
    pub async fn create(&self, input: Value) -> Value {
        let query = format!("mutation($input: CreateContactInput!) {{ createContact(input: $input) {{ {CONTACT_FIELDS} }} }}");
        self.data(&query, json!({ "input": input })).await["createContact"].clone()
    }

    /// Updates a contact; returns it with every field.
    pub async fn update(&self, input: Value) -> Value {
        let query = format!("mutation($input: UpdateContactInput!) {{ updateContact(input: $input) {{ {CONTACT_FIELDS} }} }}");
        self.data(&query, json!({ "input": input })).await["updateContact"].clone()
    }

    /// Fetches a contact by id with every field (null when unknown).
    pub async fn get(&self, id: &str) -> Value {
        let query = format!("query($id: ID) {{ contact(id: $id) {{ {CONTACT_FIELDS} }} }}");
        self.data(&query, json!({ "id": id })).await["contact"].clone()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let (admin_url, drop) = match self {
            Store::Sqlite(_) => return,
            // The server's background work (the duplicate index, say) may
            // be inside a transaction on a runtime this Drop now blocks: its
            // sessions are ended first, or the DROP would wait for their
            // locks forever.
            Store::Postgres { admin_url, schema } => (
                admin_url.clone(),
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = '{schema}' AND pid <> pg_backend_pid(); \
                     DROP SCHEMA IF EXISTS {schema} CASCADE"
                ),
            ),
            Store::PostgresDatabase { admin_url, name } => (
                admin_url.clone(),
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ),
        };
        // Drop runs inside the test's runtime; clean up from a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                if let Ok(db) = Database::connect(&admin_url).await {
                    let _ = db.execute_unprepared(&drop).await;
                }
            });
            Ok::<_, std::io::Error>(())
        })
        .join();
    }
}

pub fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

/// Whether the tests run on PostgreSQL; tests that only make sense there say
/// why they do nothing on SQLite.
pub fn postgres_only(why: &str) -> bool {
    let on_postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
    if !on_postgres {
        eprintln!("runs on PostgreSQL only ({why}); set TEST_DATABASE_URL");
    }
    on_postgres
}

/// The next event on the bus; on PostgreSQL it comes back through NOTIFY, a
/// moment after the commit.
pub async fn next_bus_event(
    rx: &mut tokio::sync::broadcast::Receiver<Arc<contacts_api::service::changes::Entry>>,
) -> Arc<contacts_api::service::changes::Entry> {
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("an event in time")
        .expect("the bus is open")
}

/// The HTTP status a GraphQL response is answered with: 401 or 403 when
/// nothing ran for want of a token or of its scope, 200 otherwise (the
/// refusals made before GraphQL have their own tests).
pub fn status_for(response: &Value) -> StatusCode {
    let code = response["errors"][0]["extensions"]["code"].as_str();
    match (code, response["data"].is_null()) {
        (Some("UNAUTHENTICATED"), true) => StatusCode::UNAUTHORIZED,
        (Some("FORBIDDEN"), true) => StatusCode::FORBIDDEN,
        _ => StatusCode::OK,
    }
}

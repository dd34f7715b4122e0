//! Wiring: connect, migrate, build the schema, route HTTP, serve.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::domain::IdentitySecret;
use crate::graphql::{build_schema, AppSchema, GqlState, Limits};
use crate::service::events::EventBus;

/// Opens the pool. SQLite runs in WAL mode with a busy timeout, so readers
/// never block the writer and writers queue instead of failing.
pub async fn connect(url: &str, pool_size: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool_size)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
        });
    Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(url)))
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("migrating the database")
}

/// Connects, migrates and builds the schema the server runs.
pub async fn build(config: &Config) -> anyhow::Result<AppSchema> {
    let db = connect(&config.database_url, config.db_pool_size).await?;
    assemble(db, config, EventBus::new()).await
}

/// Migrates an open pool and builds the schema on it, publishing to `events`.
pub async fn assemble(
    db: DatabaseConnection,
    config: &Config,
    events: EventBus,
) -> anyhow::Result<AppSchema> {
    let rules = config.rules()?;
    migrate(&db).await?;
    Ok(build_schema(
        GqlState {
            db,
            rules: Arc::new(rules),
            identity: config.identity_secret.clone().map(IdentitySecret::new),
            events,
            max_import_rows: config.max_import_rows,
        },
        Limits {
            max_depth: config.max_depth,
            max_complexity: config.max_complexity,
        },
    ))
}

/// The HTTP routes: POST /graphql, the GraphiQL playground on GET /graphql,
/// and GET /healthz.
pub fn router(schema: AppSchema) -> Router {
    Router::new()
        .route("/graphql", get(playground).post(graphql))
        .route("/healthz", get(healthz))
        .with_state(schema)
        .layer(TraceLayer::new_for_http())
}

async fn graphql(State(schema): State<AppSchema>, request: GraphQLRequest) -> GraphQLResponse {
    schema.execute(request.into_inner()).await.into()
}

async fn playground() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("contacts-api")
            .finish(),
    )
}

async fn healthz() -> &'static str {
    "ok"
}

/// Serves until Ctrl-C or SIGTERM, then lets in-flight requests finish.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let schema = build(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(
        "contacts-api listening on http://{}/graphql (playground: open it in a browser)",
        listener.local_addr()?
    );
    axum::serve(listener, router(schema))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!("shut down");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

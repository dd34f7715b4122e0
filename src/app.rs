//! Wiring: connect, migrate, build the schema, route HTTP, serve.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::domain::IdentitySecret;
use crate::graphql::bounds::DocumentBounds;
use crate::graphql::{build_schema, GqlState, Limits};
pub use crate::http::{router, AppState};
use crate::http::{Auth, BodyLimits, HttpSettings, Metrics, RateLimits};
use crate::service::events::EventBus;
use crate::service::idempotency::KeyPolicy;
use crate::service::import_jobs::Jobs;
use crate::service::tokens;
use crate::service::webhooks::WebhookPolicy;

/// How long a request waits for a pooled connection before SERVER_BUSY (or
/// DATABASE_UNAVAILABLE, when a probe finds the database gone): short enough
/// that a stopped database is reported within 2 s.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

/// Opens a pool for the command line's own work (migrate, import, tokens):
/// no statement timeout, long jobs have their own limits.
pub async fn connect(url: &str, pool_size: u32) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, pool_size, None, CLI_WRITE_LOCK_WAIT).await
}

/// How long the command line waits for SQLite's write lock (the server may
/// be writing).
const CLI_WRITE_LOCK_WAIT: Duration = Duration::from_secs(30);

/// Opens the server's pool. On PostgreSQL every statement is bounded by
/// --request-timeout (statement_timeout, set once per connection at connect,
/// costing no round trip): a request that ran out of time leaves nothing
/// running in the database for long, even after the server has gone.
/// On SQLite a write waits for the write lock at most four fifths of
/// --request-timeout, then fails CONFLICT with reason WRITE_LOCKED ("not
/// applied"): before the request's own clock would answer "may still be
/// applied" about a write that never got the lock.
pub async fn connect_server(config: &Config, pool_size: u32) -> anyhow::Result<DatabaseConnection> {
    let limit = Duration::from_secs(config.request_timeout);
    connect_with(&config.database_url, pool_size, Some(limit), limit * 4 / 5).await
}

/// SQLite runs in WAL mode with a busy timeout, so readers never block the
/// writer and writers queue instead of failing.
async fn connect_with(
    url: &str,
    pool_size: u32,
    statement_timeout: Option<Duration>,
    write_lock_wait: Duration,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    if let Some(timeout) = statement_timeout {
        options.statement_timeout(timeout);
    }
    options
        .max_connections(pool_size)
        .min_connections(1)
        // Short: a request waiting longer for a connection is better told
        // SERVER_BUSY (retry) than kept; an outage is caught sooner still
        // (service::health).
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(write_lock_wait)
                .foreign_keys(true)
                // A multi-row INSERT keeps a statement journal so that it can
                // be undone alone; in a temporary file, writing it was an
                // eighth of an import's time.
                .pragma("temp_store", "memory")
                // 16 MiB of page cache a connection (SQLite's default is
                // 2 MiB): an import's index pages stay in memory rather than
                // being spilled and read back.
                .pragma("cache_size", "-16384")
        })
        .map_sqlx_sqlite_pool_opts(|o| {
            o.after_release(|conn, _| Box::pin(outside_any_transaction(conn)))
        });
    Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(url)))
}

/// Whether a SQLite connection given back to the pool is outside any
/// transaction; if not, the pool closes it (which rolls back whatever it
/// held). The driver counts a transaction ended only when its COMMIT or
/// ROLLBACK succeeded: after one failed (SQLITE_FULL, SQLITE_IOERR, a busy
/// ROLLBACK), the connection may still be inside it, and its next write
/// would run as a savepoint of a transaction nobody commits: answered ok,
/// never committed, the write lock held. (PostgreSQL's driver queues its
/// ROLLBACK and counts it at once; the pool's own check flushes it.)
async fn outside_any_transaction(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<bool, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::sqlite::SqliteTransactionManager;
    use sea_orm::sqlx::Connection;
    use sqlx_core::transaction::TransactionManager;
    // Runs the rollback a dropped transaction queued, first.
    conn.ping().await?;
    Ok(SqliteTransactionManager::get_transaction_depth(conn) == 0)
}

/// Applies pending migrations, on a connection of their own (no statement
/// timeout: a data migration may take longer than a request), before any
/// pool that serves opens. One connection, because SQLite checks a cached
/// schema only when it runs a statement, not when it prepares one: a pooled
/// connection that read the schema between a migration's CREATE TABLE and
/// its CREATE UNIQUE INDEX then refused `INSERT ... ON CONFLICT` on that
/// index until the connection was replaced.
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    let db = connect(url, 1).await?;
    Migrator::up(&db, None)
        .await
        .context("migrating the database")?;
    db.close().await.ok();
    Ok(())
}

/// Builds everything the HTTP layer serves on a pool of an already migrated
/// database (see [`migrate`]), publishing to `events`.
pub async fn assemble(
    db: DatabaseConnection,
    config: &Config,
    events: EventBus,
) -> anyhow::Result<AppState> {
    let rules = Arc::new(config.rules()?);
    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    let jobs = Jobs::new(
        db.clone(),
        events.clone(),
        rules.clone(),
        shutdown.clone(),
        tasks.clone(),
    );
    jobs.spawn_sweeper();
    let schema = build_schema(
        GqlState {
            db: db.clone(),
            rules,
            identity: config
                .identity_secret
                .as_ref()
                .map(|s| IdentitySecret::new(s.expose().to_owned())),
            events: events.clone(),
            max_import_rows: config.max_import_rows,
            max_page_size: config.max_page_size,
            dear_reads: Arc::new(Semaphore::new(dear_read_permits(config.pool_size()))),
            jobs: Some(jobs),
        },
        Limits {
            max_depth: config.max_depth,
            max_complexity: config.max_complexity,
            introspection: !config.disable_introspection,
            trusted_documents: config.trusted_documents,
            bounds: DocumentBounds {
                max_bytes: config.max_document_bytes,
                max_fields: config.max_fields,
                max_root_fields: config.max_root_fields,
                max_aliases: config.max_aliases,
            },
            request_timeout: Duration::from_secs(config.request_timeout),
            idempotency: KeyPolicy {
                ttl: Duration::from_secs(config.idempotency_ttl_seconds),
                // A run renews its hold while it lasts (see
                // graphql::idempotent); this long, a retry waits for a
                // run that died before it may take its key over.
                hold: Duration::from_secs(
                    config.request_timeout.saturating_mul(2).saturating_add(10),
                )
                .min(Duration::from_secs(24 * 3600)),
            },
        },
    );
    let health = events.health().clone();
    health.spawn_monitor(db.clone());
    events.spawn_background(
        Duration::from_secs(config.change_retention_days.saturating_mul(24 * 3600)),
        WebhookPolicy {
            max_failures: config.webhook_max_failures,
        },
    );
    Ok(AppState {
        schema,
        auth: Auth::new(
            db.clone(),
            open_without_tokens(config),
            Duration::from_secs(config.token_cache_seconds),
        ),
        metrics: Arc::new(Metrics::new(db.clone(), events)),
        body: Arc::new(BodyLimits::new(
            config.max_body_bytes,
            config.min_body_rate,
            config.max_buffered_body_bytes,
        )),
        health,
        rates: Arc::new(RateLimits::new(
            config.rate_limit_per_token,
            config.rate_limit_per_address,
        )),
        large_requests: Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        )),
        db,
        settings: Arc::new(HttpSettings {
            max_body_bytes: config.max_body_bytes,
            request_timeout: Duration::from_secs(config.request_timeout),
            introspection: !config.disable_introspection,
            cors_origins: config.cors_origins.clone(),
            allowed_hosts: config.allowed_hosts.clone(),
            client_ip_header: config.client_ip_header.clone(),
            max_batch_operations: usize::from(config.max_batch_operations),
            max_upload_bytes: config.max_upload_bytes,
            upload_idle: Duration::from_secs(config.upload_idle_seconds),
        }),
        shutdown,
        tasks,
    })
}

/// Dear reads (counts, searches) running at once over the whole server: at
/// most half the connections requests use (one of the pool listens for
/// events), so that a few clients looping over counts leave the rest of the
/// pool to everyone else's lookups and pages.
fn dear_read_permits(pool_size: u32) -> usize {
    (pool_size.saturating_sub(1) as usize / 2).max(1)
}

/// Whether requests without a token may do anything while no token exists.
fn open_without_tokens(config: &Config) -> bool {
    config.listen.ip().is_loopback() || config.insecure_no_auth
}

/// Serves until Ctrl-C or SIGTERM, then stops accepting, lets in-flight
/// requests finish and closes WebSocket connections with a close frame.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let pool_size = config.pool_size();
    // PostgreSQL's LISTEN connection for events is taken from the pool for
    // good: with a pool of one, nothing would be left for requests.
    if config.database_url.starts_with("postgres") && pool_size < 2 {
        anyhow::bail!(
            "--db-pool-size must be at least 2 on PostgreSQL (one connection listens for events)"
        );
    }
    migrate(&config.database_url).await?;
    let db = connect_server(&config, pool_size).await?;
    let events = EventBus::for_database(&db, Duration::from_millis(config.change_poll_ms)).await?;
    let state = assemble(db, &config, events).await?;
    if !open_without_tokens(&config) && !tokens::any(&state.db).await? {
        anyhow::bail!(
            "refusing to serve on {} without authentication: no API token exists. \
             Create one with `contacts-api token create --name NAME --scope write`, \
             listen on a loopback address, or pass --insecure-no-auth",
            config.listen
        );
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(
        "contacts-api listening on http://{}/graphql (playground: open it in a browser)",
        listener.local_addr()?
    );
    let (shutdown, tasks) = (state.shutdown.clone(), state.tasks.clone());
    let app = router(state)?;
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            shutdown.cancel();
        }
    });
    crate::http::serve(listener, app, config.connection_limits(), shutdown).await;
    tasks.close();
    if tokio::time::timeout(Duration::from_secs(10), tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("WebSocket connections still open after 10 s; closing them");
    }
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
    crate::secret::DatabaseUrl::from(url).redacted()
}

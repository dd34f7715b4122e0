//! GET /metrics in Prometheus text format: GraphQL requests by operation and
//! outcome, their latency, live subscriptions, the database pool, events.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use sea_orm::{DatabaseBackend, DatabaseConnection};

use super::AppState;
use crate::service::events::EventBus;

/// Distinct operation names kept as labels; later ones count as "other", so
/// that clients cannot blow up the number of series.
const MAX_OPERATION_NAMES: usize = 200;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

type Latency = Family<OperationLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    subscriptions: Gauge,
    names: Mutex<HashSet<String>>,
}

impl Metrics {
    pub fn new(db: DatabaseConnection, events: EventBus) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "contacts_graphql_requests",
            "GraphQL requests by operation name and outcome (ok or the first error's code)",
            requests.clone(),
        );
        let latency: Latency = Family::new_with_constructor(|| {
            // 0.5 ms to about 16 s.
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "contacts_graphql_request_duration_seconds",
            "GraphQL request latency by operation name",
            latency.clone(),
        );
        let subscriptions = Gauge::default();
        registry.register(
            "contacts_websocket_connections",
            "Open GraphQL WebSocket connections",
            subscriptions.clone(),
        );
        registry.register_collector(Box::new(Runtime { db, events }));
        Self {
            registry,
            requests,
            latency,
            subscriptions,
            names: Mutex::new(HashSet::new()),
        }
    }

    /// Counts a finished GraphQL request. `trusted`: the caller holds a
    /// token (or the server runs open), so a new name of an operation that
    /// succeeded may take a label of its own.
    pub fn observe(
        &self,
        operation: Option<&str>,
        outcome: &str,
        elapsed: Duration,
        trusted: bool,
    ) {
        let operation = self.operation_label(operation, trusted && outcome == "ok");
        self.latency
            .get_or_create(&OperationLabels {
                operation: operation.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                operation,
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn websocket_opened(&self) {
        self.subscriptions.inc();
    }

    pub fn websocket_closed(&self) {
        self.subscriptions.dec();
    }

    /// The label for an operation name. Only a name that a token holder ran
    /// without error earns a label of its own, so that junk names (failing
    /// documents, visitors' made-up operations) cannot fill the table and
    /// push real ones out.
    fn operation_label(&self, name: Option<&str>, admit: bool) -> String {
        let Some(name) = name else {
            return "anonymous".into();
        };
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return "invalid".into();
        }
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if names.contains(name) || (admit && names.len() < MAX_OPERATION_NAMES) {
            names.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".into()
        }
    }

    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Values read at scrape time.
struct Runtime {
    db: DatabaseConnection,
    events: EventBus,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runtime")
    }
}

impl Collector for Runtime {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (size, idle) = match self.db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DatabaseBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        };
        let in_use = size.saturating_sub(idle as u32);
        {
            let mut family = encoder.encode_descriptor(
                "contacts_db_pool_connections",
                "Database pool connections by state",
                None,
                MetricType::Gauge,
            )?;
            for (state, count) in [("in_use", in_use as i64), ("idle", idle as i64)] {
                ConstGauge::new(count).encode(family.encode_family(&[("state", state)])?)?;
            }
        }
        let stats = self.events.stats();
        ConstCounter::new(stats.published.load(Ordering::Relaxed)).encode(
            encoder.encode_descriptor(
                "contacts_events_published",
                "Contact events published by this replica",
                None,
                MetricType::Counter,
            )?,
        )?;
        ConstCounter::new(stats.dropped.load(Ordering::Relaxed)).encode(
            encoder.encode_descriptor(
                "contacts_events_dropped",
                "Contact events this replica could not send to the database",
                None,
                MetricType::Counter,
            )?,
        )?;
        Ok(())
    }
}

/// GET /metrics.
pub async fn scrape(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

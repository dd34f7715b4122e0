//! Signed webhooks: the change log's other reader. Each endpoint keeps its
//! own position in the log; a server delivers what follows it, one entry
//! at a time in log order, as an HTTP POST signed the Standard Webhooks way
//! (<https://www.standardwebhooks.com/>):
//!
//! - `webhook-id`: the entry's cursor (the same for every attempt: a
//!   receiver drops what it has seen);
//! - `webhook-timestamp`: seconds since the Unix epoch, when this attempt
//!   was signed;
//! - `webhook-signature`: `v1,` and the base64 of HMAC-SHA256 over
//!   `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64-decoded
//!   part of the endpoint's secret (`whsec_...`).
//!
//! A 2xx answer moves the endpoint past the entry; anything else (or no
//! answer within 10 s) is retried after a pause that doubles from 1 s up to
//! 15 minutes, and after `--webhook-max-failures` failures in a row the
//! endpoint is paused until `contacts-api webhook resume`. Delivery is at
//! least once: an entry whose 2xx answer came but whose new position was not
//! stored (the server stopped between the two) is sent again. Every attempt
//! is kept in `webhook_deliveries`. Servers sharing the database take turns
//! through a lease on each endpoint, so one endpoint sees one sender.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::Utc;
use entity::{webhook, webhook_delivery};
use hmac::{KeyInit, Mac};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use super::changes::{self, ChangeFilter, ChangeKind, Entry, Position};
use super::now;
use crate::error::{AppError, AppResult};

/// The pause after a first failure; it doubles up to MAX_PAUSE.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(15 * 60);
/// How long an endpoint may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server holds an endpoint it delivers to (renewed on each
/// delivery): another server takes over after it, should this one die.
const LEASE: Duration = Duration::from_secs(60);
/// Entries read per statement.
const PAGE: u64 = 100;
/// Longest endpoint URL.
const MAX_URL_BYTES: usize = 2048;
/// How often due endpoints are looked for without a commit to wake us.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// How deliveries behave.
#[derive(Debug, Clone, Copy)]
pub struct WebhookPolicy {
    /// Failures in a row before an endpoint is paused.
    pub max_failures: u32,
}

/// Creates an endpoint for `url` that receives entries of `kinds` from now
/// on; returns it (its secret is shown once, by the caller).
pub async fn create(
    db: &DatabaseConnection,
    url: &str,
    kinds: &[ChangeKind],
) -> AppResult<webhook::Model> {
    let url = check_url(url)?;
    if kinds.is_empty() {
        return Err(AppError::bad_input(
            "events",
            "events: name at least one kind",
        ));
    }
    let head = changes::head(db).await?;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    let at = now();
    let model = webhook::Model {
        id: Uuid::now_v7(),
        url,
        kinds: kinds
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(","),
        secret: format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        ),
        position: head.seq,
        paused: false,
        failures: 0,
        next_attempt_at: at,
        last_error: None,
        leased_until: None,
        created_at: at,
    };
    webhook::ActiveModel::from(model.clone()).insert(db).await?;
    Ok(model)
}

/// An http or https URL with a host.
fn check_url(url: &str) -> AppResult<String> {
    let parsed =
        url::Url::parse(url.trim()).map_err(|e| AppError::bad_input("url", format!("url: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(AppError::bad_input(
            "url",
            "url: must be an http:// or https:// URL with a host",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(AppError::bad_input(
            "url",
            "url: must not carry credentials (user:password@): they would be listed \
             in the clear; let the receiver check the signature instead",
        ));
    }
    if parsed.port() == Some(0) || url.len() > MAX_URL_BYTES {
        return Err(AppError::bad_input(
            "url",
            format!("url: port 0, or longer than {MAX_URL_BYTES} bytes"),
        ));
    }
    Ok(parsed.to_string())
}

/// Every endpoint, oldest first.
pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<webhook::Model>> {
    Ok(webhook::Entity::find()
        .order_by_asc(webhook::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Deletes an endpoint and its delivery log; whether it existed.
pub async fn delete(db: &DatabaseConnection, id: Uuid) -> AppResult<bool> {
    let gone = webhook::Entity::delete_by_id(id).exec(db).await?;
    Ok(gone.rows_affected == 1)
}

/// Starts a paused endpoint again, at once; whether it exists.
pub async fn resume(db: &DatabaseConnection, id: Uuid) -> AppResult<bool> {
    let done = webhook::Entity::update_many()
        .col_expr(webhook::Column::Paused, Expr::value(false))
        .col_expr(webhook::Column::Failures, Expr::value(0))
        .col_expr(webhook::Column::NextAttemptAt, Expr::value(now()))
        .filter(webhook::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// An endpoint's latest `limit` attempts, newest first.
pub async fn deliveries(
    db: &DatabaseConnection,
    id: Uuid,
    limit: u64,
) -> AppResult<Vec<webhook_delivery::Model>> {
    Ok(webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .order_by_desc(webhook_delivery::Column::At)
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The kinds an endpoint receives.
fn kinds_of(hook: &webhook::Model) -> Vec<ChangeKind> {
    ChangeKind::ALL
        .into_iter()
        .filter(|k| hook.kinds.split(',').any(|name| name == k.as_str()))
        .collect()
}

/// Delivers to due endpoints every second and, while some endpoint is
/// active, whenever a commit is announced (`commits`); ends when the
/// announcer is gone. Without endpoints it costs one query a second.
pub async fn deliver_forever(
    db: DatabaseConnection,
    mut commits: watch::Receiver<Position>,
    policy: WebhookPolicy,
) {
    let client = match reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: no HTTP client; nothing will be delivered");
            return;
        }
    };
    let in_flight = InFlight::default();
    loop {
        let active = match deliver_due(&db, &client, policy, &in_flight).await {
            Ok(active) => active,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: a delivery round failed");
                false
            }
        };
        if active {
            tokio::select! {
                changed = commits.changed() => if changed.is_err() { return },
                () = tokio::time::sleep(LOOK_EVERY) => {}
            }
        } else {
            tokio::time::sleep(LOOK_EVERY).await;
            if commits.has_changed().is_err() {
                return;
            }
            commits.mark_unchanged();
        }
    }
}

/// Endpoints this server is delivering to right now.
type InFlight = Arc<Mutex<HashSet<Uuid>>>;

/// One round: starts delivering, each in a task of its own, to every
/// endpoint due now that is not already being delivered to here and that
/// this server can lease (a slow endpoint holds up only itself). Returns
/// whether any endpoint is active.
async fn deliver_due(
    db: &DatabaseConnection,
    client: &reqwest::Client,
    policy: WebhookPolicy,
    in_flight: &InFlight,
) -> AppResult<bool> {
    let at = now();
    let active = webhook::Entity::find()
        .filter(webhook::Column::Paused.eq(false))
        .all(db)
        .await?;
    let any_active = !active.is_empty();
    let due = active.into_iter().filter(|hook| {
        hook.next_attempt_at <= at && hook.leased_until.is_none_or(|until| until < at)
    });
    for hook in due {
        if !lock(in_flight).insert(hook.id) {
            continue;
        }
        let (db, client, in_flight) = (db.clone(), client.clone(), in_flight.clone());
        tokio::spawn(async move {
            let id = hook.id;
            if let Err(e) = deliver_leased(&db, &client, policy, hook).await {
                tracing::warn!(webhook = %id, error = %e, "webhooks: a delivery failed");
            }
            lock(&in_flight).remove(&id);
        });
    }
    Ok(any_active)
}

fn lock(in_flight: &InFlight) -> std::sync::MutexGuard<'_, HashSet<Uuid>> {
    in_flight.lock().unwrap_or_else(|e| e.into_inner())
}

/// Delivers to one endpoint if this server can lease it.
async fn deliver_leased(
    db: &DatabaseConnection,
    client: &reqwest::Client,
    policy: WebhookPolicy,
    hook: webhook::Model,
) -> AppResult<()> {
    if !lease(db, hook.id).await? {
        return Ok(());
    }
    let id = hook.id;
    let delivered = deliver_to(db, client, policy, hook).await;
    release(db, id).await?;
    delivered
}

/// Takes the endpoint for LEASE, unless another server holds it.
async fn lease(db: &DatabaseConnection, id: Uuid) -> AppResult<bool> {
    let at = now();
    let taken = webhook::Entity::update_many()
        .col_expr(webhook::Column::LeasedUntil, Expr::value(until(LEASE)))
        .filter(webhook::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(webhook::Column::LeasedUntil.is_null())
                .add(webhook::Column::LeasedUntil.lt(at)),
        )
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

async fn release(db: &DatabaseConnection, id: Uuid) -> AppResult<()> {
    webhook::Entity::update_many()
        .col_expr(
            webhook::Column::LeasedUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(webhook::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

fn until(d: Duration) -> chrono::DateTime<Utc> {
    now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Delivers what follows the endpoint's position until it is caught up or
/// an attempt fails.
async fn deliver_to(
    db: &DatabaseConnection,
    client: &reqwest::Client,
    policy: WebhookPolicy,
    hook: webhook::Model,
) -> AppResult<()> {
    let filter = ChangeFilter {
        contact_ids: None,
        kinds: Some(kinds_of(&hook)),
    };
    let mut position = Position { seq: hook.position };
    let mut failures = hook.failures;
    loop {
        let entries = changes::read(db, position, PAGE, &filter).await?.entries;
        if entries.is_empty() {
            return Ok(());
        }
        for entry in entries {
            let started = Instant::now();
            let outcome = post(client, &hook, &entry).await;
            let attempt = failures + 1;
            log_attempt(db, &hook, &entry, attempt, &outcome, started.elapsed()).await?;
            match outcome {
                Ok(_) => {
                    position = entry.position;
                    failures = 0;
                    moved_past(db, hook.id, position).await?;
                }
                Err(failure) => {
                    return failed(db, &hook, attempt, &failure, policy).await;
                }
            }
        }
    }
}

/// What one attempt met.
#[derive(Debug)]
struct Failure {
    status: Option<u16>,
    error: String,
}

/// POSTs one entry; Ok with the status when it is 2xx.
async fn post(
    client: &reqwest::Client,
    hook: &webhook::Model,
    entry: &Entry,
) -> Result<u16, Failure> {
    let id = entry.position.cursor();
    let body = body_of(entry).to_string();
    let timestamp = Utc::now().timestamp();
    let signature = sign(&hook.secret, &id, timestamp, &body).map_err(|error| Failure {
        status: None,
        error,
    })?;
    let response = client
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| Failure {
            status: None,
            error: without_url(&e),
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(Failure {
            status: Some(status.as_u16()),
            error: format!("answered HTTP {}", status.as_u16()),
        })
    }
}

/// A transport error's description, without the URL (it may hold a token).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "no answer within 10 s"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// The JSON body of one entry (Standard Webhooks' `type`, `timestamp` and
/// `data`).
pub fn body_of(entry: &Entry) -> serde_json::Value {
    json!({
        "type": format!("contact.{}", entry.kind.as_str().to_ascii_lowercase()),
        "timestamp": entry.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": {
            "cursor": entry.position.cursor(),
            "kind": entry.kind.as_str(),
            "contactId": entry.contact_id,
            "mergedIntoId": entry.merged_into_id,
            "actor": entry.actor,
            "source": entry.source.as_str().to_ascii_uppercase(),
            "at": entry.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "changes": entry.changes,
        }
    })
}

/// `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok())
        .ok_or("the endpoint's secret is not a whsec_ key")?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

async fn log_attempt(
    db: &DatabaseConnection,
    hook: &webhook::Model,
    entry: &Entry,
    attempt: i32,
    outcome: &Result<u16, Failure>,
    took: Duration,
) -> AppResult<()> {
    let (status, error) = match outcome {
        Ok(status) => (Some(i32::from(*status)), None),
        Err(f) => (f.status.map(i32::from), Some(f.error.clone())),
    };
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        webhook_id: Set(hook.id),
        entry_cursor: Set(entry.position.cursor()),
        attempt: Set(attempt),
        at: Set(now()),
        status_code: Set(status),
        error: Set(error),
        delivered: Set(outcome.is_ok()),
        duration_ms: Set(took.as_millis().min(i64::MAX as u128) as i64),
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn moved_past(db: &DatabaseConnection, id: Uuid, position: Position) -> AppResult<()> {
    webhook::Entity::update_many()
        .col_expr(webhook::Column::Position, Expr::value(position.seq))
        .col_expr(webhook::Column::Failures, Expr::value(0))
        .col_expr(
            webhook::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .col_expr(webhook::Column::LeasedUntil, Expr::value(until(LEASE)))
        .filter(webhook::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Schedules the next attempt, or pauses the endpoint.
async fn failed(
    db: &DatabaseConnection,
    hook: &webhook::Model,
    failures: i32,
    failure: &Failure,
    policy: WebhookPolicy,
) -> AppResult<()> {
    let paused = failures as u32 >= policy.max_failures;
    if paused {
        tracing::warn!(webhook = %hook.id, failures, "webhook paused after failing");
    }
    webhook::Entity::update_many()
        .col_expr(webhook::Column::Failures, Expr::value(failures))
        .col_expr(webhook::Column::Paused, Expr::value(paused))
        .col_expr(
            webhook::Column::LastError,
            Expr::value(failure.error.clone()),
        )
        .col_expr(
            webhook::Column::NextAttemptAt,
            Expr::value(until(pause_after(failures))),
        )
        .filter(webhook::Column::Id.eq(hook.id))
        .exec(db)
        .await?;
    Ok(())
}

/// FIRST_PAUSE doubled for each failure after the first, at most MAX_PAUSE.
fn pause_after(failures: i32) -> Duration {
    let doublings = failures.saturating_sub(1).clamp(0, 20) as u32;
    FIRST_PAUSE.saturating_mul(1 << doublings).min(MAX_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's own example.
    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signature.as_deref(),
            Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn pauses_double_up_to_a_ceiling() {
        assert_eq!(pause_after(1), Duration::from_secs(1));
        assert_eq!(pause_after(4), Duration::from_secs(8));
        assert_eq!(pause_after(40), MAX_PAUSE);
    }

    #[test]
    fn only_web_urls_are_endpoints() {
        assert!(check_url("https://example.org/hook").is_ok());
        assert!(check_url("http://127.0.0.1:9/x").is_ok());
        for bad in [
            "ftp://example.org",
            "example.org",
            "http://",
            "javascript:alert(1)",
            "https://user:pw@example.org/",
            "http://example.org:0/",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}

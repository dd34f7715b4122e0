//! Idempotent retries: a mutation sent with an `Idempotency-Key` writes at
//! most once, whichever replica each try reaches, for as long as the key is
//! kept (`--idempotency-ttl-seconds`).
//!
//! A run first [`claim`]s the key in `idempotency_keys` (one row per scope
//! and key, so replicas agree through the database). Its write then marks the
//! row committed inside the write's own transaction (see [`mark_committing`],
//! called by the one write path, `tx::write`): the write and the mark commit
//! together or not at all, and only while the run still owns the key. When
//! the run ends, [`settle`] keeps its response for replays, or, when nothing
//! was committed, forgets the key so that a retry runs afresh.
//!
//! A retry with the same key and the same request gets the kept response; a
//! different request is refused. A retry that comes while the first run is
//! still going is refused with CONFLICT (reason IDEMPOTENCY_KEY_IN_USE); a
//! run renews its hold while it lasts ([`keep_holding`]). If a run died (a
//! crash) its hold runs out: a retry then takes the key over when
//! nothing was committed, and otherwise learns that the write was applied but
//! its response was lost (CONFLICT, reason IDEMPOTENCY_RESPONSE_LOST).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::idempotency_key::{self, Column};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Expired keys one claim deletes on its way: enough to keep up with any
/// rate of new keys, few enough to cost a claim nothing noticeable.
const SWEEP_ROWS: u64 = 100;

/// How long keys are kept and how long a run may hold one.
#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    /// A key is kept this long after its first use, then forgotten.
    pub ttl: Duration,
    /// How long a run's hold on its key lasts unless renewed (a running
    /// run renews it, see [`keep_holding`]): after it, a retry may take
    /// the key of a run that died over.
    pub hold: Duration,
}

/// What a claim found.
pub enum Claim {
    /// The key is this run's: execute the request within [`within`].
    Run(Ticket),
    /// The request already ran: its response, as JSON.
    Replay(String),
}

/// A run's hold on a key.
#[derive(Clone)]
pub struct Ticket {
    id: Uuid,
    owner: Uuid,
    committed: Arc<AtomicBool>,
}

tokio::task_local! {
    /// The key the running request holds, if any; read by the write path.
    static TICKET: Ticket;
}

/// Claims `key` in `scope` for a request whose fingerprint is `fingerprint`.
///
/// Errors: BAD_USER_INPUT (field `idempotencyKey`) when the key was used with
/// a different request; CONFLICT (IDEMPOTENCY_KEY_IN_USE) while another run
/// holds it; CONFLICT (IDEMPOTENCY_RESPONSE_LOST) when its write was applied
/// and its response is unknown.
pub async fn claim(
    db: &DatabaseConnection,
    policy: KeyPolicy,
    scope: &str,
    key: &str,
    fingerprint: &str,
) -> AppResult<Claim> {
    let now = super::now();
    forget_expired(db, scope, key, now).await?;
    let ticket = Ticket {
        id: Uuid::now_v7(),
        owner: Uuid::new_v4(),
        committed: Arc::default(),
    };
    if insert(db, policy, scope, key, fingerprint, &ticket, now).await? {
        sweep(db, now).await;
        return Ok(Claim::Run(ticket));
    }
    let Some(found) = idempotency_key::Entity::find()
        .filter(Column::Scope.eq(scope))
        .filter(Column::Key.eq(key))
        .one(db)
        .await?
    else {
        // Expired and deleted by another claim in between: as if in use.
        return Err(AppError::KeyInUse);
    };
    if found.fingerprint != fingerprint {
        return Err(AppError::bad_input(
            "idempotencyKey",
            "this Idempotency-Key was already used with a different request \
             (document, operation name or variables); use a new key for a new request",
        ));
    }
    if let Some(response) = found.response {
        return Ok(Claim::Replay(response));
    }
    if found.held_until > now {
        return Err(AppError::KeyInUse);
    }
    if found.committed {
        return Err(AppError::ResponseLost);
    }
    take_over(db, policy, found, now).await
}

/// Runs `run` holding `ticket`: the writes it makes mark the key.
pub async fn within<F: std::future::Future>(ticket: &Ticket, run: F) -> F::Output {
    TICKET.scope(ticket.clone(), run).await
}

/// Ends a run: keeps `response` (JSON) for replays if its write committed,
/// else forgets the key. Only while the run still owns it.
pub async fn settle(db: &DatabaseConnection, ticket: &Ticket, response: &str) -> AppResult<()> {
    let mine = Condition::all()
        .add(Column::Id.eq(ticket.id))
        .add(Column::Owner.eq(ticket.owner));
    if ticket.committed.load(Ordering::Acquire) {
        idempotency_key::Entity::update_many()
            .col_expr(Column::Response, Expr::value(response))
            .col_expr(Column::HeldUntil, Expr::value(super::now()))
            .filter(mine)
            .exec(db)
            .await?;
    } else {
        idempotency_key::Entity::delete_many()
            .filter(mine)
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Renews the run's hold on its key every third of `hold`, for as long as
/// it is polled: a run that outlasts its hold (a long import) is not taken
/// for dead. Runs until dropped or aborted.
pub async fn keep_holding(db: DatabaseConnection, ticket: Ticket, hold: Duration) {
    let every = (hold / 3).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        let renewed = idempotency_key::Entity::update_many()
            .col_expr(Column::HeldUntil, Expr::value(super::now() + hold))
            .filter(Column::Id.eq(ticket.id))
            .filter(Column::Owner.eq(ticket.owner))
            .filter(Column::Response.is_null())
            .exec(&db)
            .await;
        if let Err(error) = renewed {
            tracing::debug!(%error, "renewing an idempotency key's hold failed");
        }
    }
}

/// Inside a write's transaction, just before its commit: marks the running
/// request's key committed. Fails (IDEMPOTENCY_KEY_IN_USE, rolling the write
/// back) if a retry took the key over meanwhile. No key: nothing to do.
pub(super) async fn mark_committing<C: ConnectionTrait>(txn: &C) -> AppResult<()> {
    let Ok(ticket) = TICKET.try_with(Ticket::clone) else {
        return Ok(());
    };
    let marked = idempotency_key::Entity::update_many()
        .col_expr(Column::Committed, Expr::value(true))
        .filter(Column::Id.eq(ticket.id))
        .filter(Column::Owner.eq(ticket.owner))
        .exec(txn)
        .await?
        .rows_affected;
    if marked == 0 {
        return Err(AppError::KeyInUse);
    }
    Ok(())
}

/// After a write committed: the running request's key now has a write.
pub(super) fn committed() {
    let _ = TICKET.try_with(|ticket| ticket.committed.store(true, Ordering::Release));
}

/// A key kept past its time is forgotten before it is claimed again.
async fn forget_expired(
    db: &DatabaseConnection,
    scope: &str,
    key: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    idempotency_key::Entity::delete_many()
        .filter(Column::Scope.eq(scope))
        .filter(Column::Key.eq(key))
        .filter(Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(())
}

/// Inserts the key held by `ticket`; false if it exists.
async fn insert(
    db: &DatabaseConnection,
    policy: KeyPolicy,
    scope: &str,
    key: &str,
    fingerprint: &str,
    ticket: &Ticket,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        id: Set(ticket.id),
        scope: Set(scope.to_owned()),
        key: Set(key.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        owner: Set(ticket.owner),
        held_until: Set(now + policy.hold),
        committed: Set(false),
        response: Set(None),
        expires_at: Set(now + policy.ttl),
    })
    .on_conflict(
        OnConflict::columns([Column::Scope, Column::Key])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(inserted == 1)
}

/// A run that died before committing anything: its key passes to this one,
/// if no other retry took it first.
async fn take_over(
    db: &DatabaseConnection,
    policy: KeyPolicy,
    found: idempotency_key::Model,
    now: DateTime<Utc>,
) -> AppResult<Claim> {
    let ticket = Ticket {
        id: found.id,
        owner: Uuid::new_v4(),
        committed: Arc::default(),
    };
    let taken = idempotency_key::Entity::update_many()
        .col_expr(Column::Owner, Expr::value(ticket.owner))
        .col_expr(Column::HeldUntil, Expr::value(now + policy.hold))
        .filter(Column::Id.eq(found.id))
        .filter(Column::Owner.eq(found.owner))
        .filter(Column::Committed.eq(false))
        .exec(db)
        .await?
        .rows_affected;
    if taken == 1 {
        Ok(Claim::Run(ticket))
    } else {
        Err(AppError::KeyInUse)
    }
}

/// Deletes a bounded number of expired keys. Best effort: two claims
/// sweeping at once may trip over each other, and the next sweep goes on.
async fn sweep(db: &DatabaseConnection, now: DateTime<Utc>) {
    let expired = Query::select()
        .column(Column::Id)
        .from(idempotency_key::Entity)
        .and_where(Column::ExpiresAt.lte(now))
        .limit(SWEEP_ROWS)
        .to_owned();
    let result = idempotency_key::Entity::delete_many()
        .filter(Column::Id.in_subquery(expired))
        .exec(db)
        .await;
    if let Err(error) = result {
        tracing::debug!(%error, "sweeping expired idempotency keys failed");
    }
}

//! One error type for the whole service. Each variant maps to the
//! `extensions.code` of the public contract; `field` names the input path.

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    BadUserInput {
        field: Option<String>,
        message: String,
    },
    #[error("{message}")]
    NotFound {
        field: Option<String>,
        message: String,
    },
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },
    /// The keys of one input (an id, an externalId, handles) lead to two or
    /// more different contacts: nothing is written. CONFLICT, reason
    /// AMBIGUOUS_MATCH, naming the key that met a second contact;
    /// `contact_ids` (extensions.contactIds) are the contacts met, left
    /// empty for a caller who may not read them (the identity-verified
    /// visitor). Merging them (mergeContacts) resolves it.
    #[error("{message}")]
    AmbiguousMatch {
        field: String,
        message: String,
        contact_ids: Vec<uuid::Uuid>,
    },
    /// A concurrent transaction won a race no pre-check could see: it
    /// committed the same handle or externalId first (unique index), removed
    /// a row this one refers to (foreign key), or the two locked rows in
    /// opposite orders (deadlock, serialization failure). The write path
    /// runs the work again (service::tx); still losing, it is CONFLICT.
    #[error("a concurrent change to the same contacts won the race; retry the request")]
    Contended,
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    LimitExceeded(String),
    /// One input carries more than a server flag allows (LIMIT_EXCEEDED,
    /// naming the field, the message naming the flag).
    #[error("{message}")]
    TooLarge { field: String, message: String },
    /// Too many requests or bodies at once for the server; worth retrying
    /// shortly (LIMIT_EXCEEDED, reason SERVER_BUSY, HTTP 503).
    #[error("{0}")]
    ServerBusy(String),
    /// The caller's request rate is over its limit (LIMIT_EXCEEDED, reason
    /// RATE_LIMITED, HTTP 429).
    #[error("{0}")]
    RateLimited(String),
    /// SQLite's write lock stayed taken (by a long import, say) longer than
    /// a write may wait; nothing was applied (CONFLICT, reason WRITE_LOCKED).
    #[error("another write held the database's write lock too long; nothing was applied, retry")]
    WriteLocked,
    /// Another run holds this Idempotency-Key (CONFLICT, reason
    /// IDEMPOTENCY_KEY_IN_USE): retry once it has finished.
    #[error("a request with this Idempotency-Key is still running; retry after it finishes")]
    KeyInUse,
    /// A run with this Idempotency-Key applied its write and its response was
    /// lost (the server stopped): CONFLICT, reason IDEMPOTENCY_RESPONSE_LOST.
    #[error(
        "the request with this Idempotency-Key was applied, but its response was lost; \
         read the current data instead of retrying"
    )]
    ResponseLost,
    /// A change-log cursor names a position the log no longer holds (older
    /// than `--change-retention-days`): CURSOR_EXPIRED, naming the field.
    /// A syncing client reads everything again, then syncs from a fresh
    /// cursor.
    #[error("{message}")]
    CursorExpired { field: String, message: String },
    /// A request named a persisted query by its hash alone and this server
    /// does not know it (PERSISTED_QUERY_NOT_FOUND, Apollo's protocol): send
    /// the hash with the document's text. The message is the one Apollo's
    /// PersistedQueryLink matches.
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// The database's storage is full (SQLite's SQLITE_FULL, PostgreSQL's
    /// disk_full): the write was rolled back. INTERNAL_SERVER_ERROR, reason
    /// STORAGE_FULL (HTTP 503): an operator must free space; reads still work.
    #[error("the database's storage is full; nothing was applied, retry once space is freed")]
    StorageFull,
    /// The database cannot be reached right now; worth retrying.
    #[error("the database is unavailable; try again shortly")]
    Unavailable(#[source] DbErr),
    /// Anything the client cannot act on. Logged, never shown.
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn not_found(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::NotFound {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// AMBIGUOUS_MATCH: `field` met a contact other than the one earlier
    /// keys met; `contact_ids` empty for a caller who may not read them.
    pub fn ambiguous(
        field: impl Into<String>,
        message: impl Into<String>,
        contact_ids: Vec<uuid::Uuid>,
    ) -> Self {
        Self::AmbiguousMatch {
            field: field.into(),
            message: message.into(),
            contact_ids,
        }
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Conflict {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::Conflict { .. }
            | Self::AmbiguousMatch { .. }
            | Self::Contended
            | Self::WriteLocked
            | Self::KeyInUse
            | Self::ResponseLost => "CONFLICT",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::LimitExceeded(_)
            | Self::TooLarge { .. }
            | Self::ServerBusy(_)
            | Self::RateLimited(_) => "LIMIT_EXCEEDED",
            Self::CursorExpired { .. } => "CURSOR_EXPIRED",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::Internal(_) | Self::Unavailable(_) | Self::StorageFull => "INTERNAL_SERVER_ERROR",
        }
    }

    /// `extensions.reason`: why a retry may succeed.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Unavailable(_) => Some("DATABASE_UNAVAILABLE"),
            Self::ServerBusy(_) => Some("SERVER_BUSY"),
            Self::AmbiguousMatch { .. } => Some("AMBIGUOUS_MATCH"),
            Self::RateLimited(_) => Some("RATE_LIMITED"),
            Self::WriteLocked => Some("WRITE_LOCKED"),
            Self::StorageFull => Some("STORAGE_FULL"),
            Self::KeyInUse => Some("IDEMPOTENCY_KEY_IN_USE"),
            Self::ResponseLost => Some("IDEMPOTENCY_RESPONSE_LOST"),
            _ => None,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Self::BadUserInput { field, .. }
            | Self::NotFound { field, .. }
            | Self::Conflict { field, .. } => field.as_deref(),
            Self::TooLarge { field, .. }
            | Self::CursorExpired { field, .. }
            | Self::AmbiguousMatch { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if matches!(
            err.sql_err(),
            Some(SqlErr::UniqueConstraintViolation(_) | SqlErr::ForeignKeyConstraintViolation(_))
        ) || is_lost_race(&err)
        {
            return Self::Contended;
        }
        if is_write_locked(&err) {
            return Self::WriteLocked;
        }
        if is_storage_full(&err) {
            return Self::StorageFull;
        }
        if is_pool_timeout(&err) {
            return Self::ServerBusy("every database connection stayed busy; retry shortly".into());
        }
        if is_unavailable(&err) {
            return Self::Unavailable(err);
        }
        if is_cancelled(&err) {
            return Self::LimitExceeded(
                "the database cancelled a statement that ran longer than --request-timeout; \
                 what it was part of was rolled back and not applied"
                    .into(),
            );
        }
        Self::Internal(err.into())
    }
}

impl Clone for AppError {
    /// An internal error's source is not clonable; the copy keeps its text.
    fn clone(&self) -> Self {
        match self {
            Self::BadUserInput { field, message } => Self::BadUserInput {
                field: field.clone(),
                message: message.clone(),
            },
            Self::NotFound { field, message } => Self::NotFound {
                field: field.clone(),
                message: message.clone(),
            },
            Self::Conflict { field, message } => Self::Conflict {
                field: field.clone(),
                message: message.clone(),
            },
            Self::AmbiguousMatch {
                field,
                message,
                contact_ids,
            } => Self::AmbiguousMatch {
                field: field.clone(),
                message: message.clone(),
                contact_ids: contact_ids.clone(),
            },
            Self::Contended => Self::Contended,
            Self::WriteLocked => Self::WriteLocked,
            Self::KeyInUse => Self::KeyInUse,
            Self::StorageFull => Self::StorageFull,
            Self::ResponseLost => Self::ResponseLost,
            Self::PersistedQueryNotFound => Self::PersistedQueryNotFound,
            Self::Unauthenticated(m) => Self::Unauthenticated(m.clone()),
            Self::Forbidden(m) => Self::Forbidden(m.clone()),
            Self::LimitExceeded(m) => Self::LimitExceeded(m.clone()),
            Self::TooLarge { field, message } => Self::TooLarge {
                field: field.clone(),
                message: message.clone(),
            },
            Self::CursorExpired { field, message } => Self::CursorExpired {
                field: field.clone(),
                message: message.clone(),
            },
            Self::ServerBusy(m) => Self::ServerBusy(m.clone()),
            Self::RateLimited(m) => Self::RateLimited(m.clone()),
            Self::Unavailable(e) => Self::Unavailable(e.clone()),
            Self::Internal(e) => Self::Internal(anyhow::anyhow!("{e:#}")),
        }
    }
}

/// Whether no pooled connection came free within the acquire timeout: the
/// server is busy (or the database down, which the health mark tells apart
/// before a request gets this far).
fn is_pool_timeout(err: &DbErr) -> bool {
    matches!(
        err,
        DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)
    ) || matches!(sqlx_error(err), Some(sea_orm::sqlx::Error::PoolTimedOut))
}

/// Whether SQLite gave up waiting for its write lock (SQLITE_BUSY and its
/// extended codes, SQLITE_LOCKED).
fn is_write_locked(err: &DbErr) -> bool {
    // SQLite's codes are numbers of at most four digits; PostgreSQL's
    // SQLSTATEs are five characters, so one is never taken for the other.
    database_code(err).is_some_and(|code| {
        code.len() < 5
            && code
                .parse::<i32>()
                .is_ok_and(|c| c & 0xff == 5 || c & 0xff == 6)
    })
}

/// Whether the database ran out of space: SQLITE_FULL (13) or PostgreSQL's
/// disk_full (53100).
fn is_storage_full(err: &DbErr) -> bool {
    database_code(err).is_some_and(|code| {
        code == "53100" || (code.len() < 5 && code.parse::<i32>().is_ok_and(|c| c & 0xff == 13))
    })
}

/// Whether PostgreSQL aborted the transaction to break a deadlock (40P01) or
/// a serialization conflict (40001): running it again succeeds.
fn is_lost_race(err: &DbErr) -> bool {
    database_code(err).is_some_and(|code| code == "40P01" || code == "40001")
}

/// The SQLSTATE (PostgreSQL) or extended result code (SQLite) of a
/// database error.
fn database_code(err: &DbErr) -> Option<String> {
    match sqlx_error(err)? {
        sea_orm::sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// The driver's error under a connection or statement failure.
fn sqlx_error(err: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e.as_ref()),
        _ => None,
    }
}

/// Whether the database cancelled the statement for running too long
/// (PostgreSQL's statement_timeout: SQLSTATE 57014).
fn is_cancelled(err: &DbErr) -> bool {
    database_code(err).is_some_and(|code| code == "57014")
}

/// Whether `err` says the database could not be reached (down, restarting,
/// connection lost or pool exhausted) rather than that the statement failed.
fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    // Any failure to open or keep a connection: refused, not yet accepting
    // ("the database is not currently accepting connections", starting
    // up), too many clients, lost.
    if matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return true;
    }
    match sqlx_error(err) {
        Some(Sqlx::Io(_) | Sqlx::PoolClosed | Sqlx::WorkerCrashed) => true,
        // SQLSTATE class 08 (connection exception) and 57P (shutdown, restart).
        Some(Sqlx::Database(_)) => {
            database_code(err).is_some_and(|code| code.starts_with("08") || code.starts_with("57P"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_failures_get_the_reason_a_client_can_act_on() {
        let busy = AppError::from(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout));
        assert_eq!(
            (busy.code(), busy.reason()),
            ("LIMIT_EXCEEDED", Some("SERVER_BUSY"))
        );
        let gone = AppError::from(DbErr::ConnectionAcquire(
            sea_orm::ConnAcquireErr::ConnectionClosed,
        ));
        assert_eq!(gone.reason(), Some("DATABASE_UNAVAILABLE"));
        let other = AppError::from(DbErr::Custom("boom".into()));
        assert_eq!(
            (other.code(), other.reason()),
            ("INTERNAL_SERVER_ERROR", None)
        );
    }
}

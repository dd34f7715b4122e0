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
    /// A unique index caught what no pre-check could see: another transaction
    /// committed the same handle or externalId first. Retried where that is
    /// safe (createOrUpdate), CONFLICT otherwise.
    #[error("a concurrent change took the same handle or externalId; retry")]
    Contended,
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    LimitExceeded(String),
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
            Self::Conflict { .. } | Self::Contended => "CONFLICT",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::LimitExceeded(_) => "LIMIT_EXCEEDED",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Self::BadUserInput { field, .. }
            | Self::NotFound { field, .. }
            | Self::Conflict { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            return Self::Contended;
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
            Self::Contended => Self::Contended,
            Self::Unauthenticated(m) => Self::Unauthenticated(m.clone()),
            Self::Forbidden(m) => Self::Forbidden(m.clone()),
            Self::LimitExceeded(m) => Self::LimitExceeded(m.clone()),
            Self::Internal(e) => Self::Internal(anyhow::anyhow!("{e:#}")),
        }
    }
}

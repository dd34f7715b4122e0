//! Turns a request's Authorization header into a Principal.

use axum::http::HeaderValue;
use sea_orm::DatabaseConnection;

use crate::error::{AppError, AppResult};
use crate::graphql::access::Principal;
use crate::service::tokens;

#[derive(Clone)]
pub struct Auth {
    db: DatabaseConnection,
    /// Whether a request without a token may do anything while no token
    /// exists: on a loopback address, or with --insecure-no-auth.
    open_without_tokens: bool,
}

impl Auth {
    pub fn new(db: DatabaseConnection, open_without_tokens: bool) -> Self {
        Self {
            db,
            open_without_tokens,
        }
    }

    /// The caller behind an Authorization header value (or its absence).
    pub async fn authenticate(&self, header: Option<&HeaderValue>) -> AppResult<Principal> {
        match header {
            None => self.anonymous().await,
            Some(value) => {
                let token = value.to_str().ok().and_then(bearer).ok_or_else(|| {
                    AppError::Unauthenticated(
                        "the Authorization header must be `Bearer TOKEN`".into(),
                    )
                })?;
                self.token(token).await
            }
        }
    }

    /// A caller presenting `token`.
    pub async fn token(&self, token: &str) -> AppResult<Principal> {
        match tokens::verify(&self.db, token).await? {
            Some(scope) => Ok(Principal::Token(scope)),
            None => Err(AppError::Unauthenticated(
                "invalid or revoked API token".into(),
            )),
        }
    }

    /// A caller without a token.
    pub async fn anonymous(&self) -> AppResult<Principal> {
        if self.open_without_tokens && !tokens::any(&self.db).await? {
            Ok(Principal::Open)
        } else {
            Ok(Principal::Visitor)
        }
    }
}

/// The token of a `Bearer TOKEN` value (the scheme is case-insensitive).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn bearer_values_parse() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }
}

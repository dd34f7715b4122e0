//! Turns a request's Authorization header into a Principal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use crate::domain::Scope;
use crate::error::{AppError, AppResult};
use crate::graphql::access::Principal;
use crate::service::tokens;

/// Verified tokens kept at most; beyond, the cache starts over.
const CACHE_ENTRIES: usize = 1024;

#[derive(Clone)]
pub struct Auth {
    db: DatabaseConnection,
    /// Whether a request without a token may do anything while no token
    /// exists: on a loopback address, or with --insecure-no-auth.
    open_without_tokens: bool,
    ttl: Duration,
    cache: Arc<Mutex<Cache>>,
}

/// Answers the database gave within the last `ttl`. Only successes are
/// kept: a token created a moment ago works at once, a revoked one stops
/// within `ttl` (the command line that revokes it may be another process).
#[derive(Default)]
struct Cache {
    any_token: Option<(bool, Instant)>,
    /// By SHA-256 of the presented token: the cache holds no secrets.
    verified: HashMap<[u8; 32], (Scope, Arc<str>, Instant)>,
}

impl Auth {
    pub fn new(db: DatabaseConnection, open_without_tokens: bool, ttl: Duration) -> Self {
        Self {
            db,
            open_without_tokens,
            ttl,
            cache: Arc::default(),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves nothing half-updated worth
        // refusing requests over.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The caller behind an Authorization header value (or its absence).
    pub async fn authenticate(&self, header: Option<&HeaderValue>) -> AppResult<Principal> {
        self.authenticate_within(header, self.ttl).await
    }

    /// The same, trusting cached answers no older than `max_age`: an open
    /// WebSocket is re-checked with half the cache time, so that a revoked
    /// token's sockets close within --token-cache-seconds.
    pub async fn authenticate_within(
        &self,
        header: Option<&HeaderValue>,
        max_age: Duration,
    ) -> AppResult<Principal> {
        match header {
            None => self.anonymous(max_age).await,
            Some(value) => {
                let token = value.to_str().ok().and_then(bearer).ok_or_else(|| {
                    AppError::Unauthenticated(
                        "the Authorization header must be `Bearer TOKEN`".into(),
                    )
                })?;
                self.token(token, max_age).await
            }
        }
    }

    /// Whether the server runs open: no token exists and it may serve
    /// without one (loopback, or --insecure-no-auth).
    pub async fn open_mode(&self) -> AppResult<bool> {
        Ok(self.open_without_tokens && !self.any_token(self.ttl).await?)
    }

    /// How often an open WebSocket's caller is checked again.
    pub fn recheck_every(&self) -> Duration {
        (self.ttl / 2).max(Duration::from_millis(250))
    }

    /// A caller presenting `token`.
    async fn token(&self, token: &str, max_age: Duration) -> AppResult<Principal> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some((scope, name, at)) = self.cache().verified.get(&key) {
            if at.elapsed() < max_age {
                return Ok(Principal::Token(*scope, name.clone()));
            }
        }
        match tokens::verify(&self.db, token).await? {
            Some((scope, name)) => {
                let name: Arc<str> = name.into();
                if !self.ttl.is_zero() {
                    let mut cache = self.cache();
                    if cache.verified.len() >= CACHE_ENTRIES {
                        cache.verified.clear();
                    }
                    cache
                        .verified
                        .insert(key, (scope, name.clone(), Instant::now()));
                }
                Ok(Principal::Token(scope, name))
            }
            None => Err(AppError::Unauthenticated(
                "invalid or revoked API token".into(),
            )),
        }
    }

    /// A caller without a token.
    async fn anonymous(&self, max_age: Duration) -> AppResult<Principal> {
        if self.open_without_tokens && !self.any_token(max_age).await? {
            Ok(Principal::Open)
        } else {
            Ok(Principal::Visitor)
        }
    }

    async fn any_token(&self, max_age: Duration) -> AppResult<bool> {
        if let Some((any, at)) = self.cache().any_token {
            if at.elapsed() < max_age {
                return Ok(any);
            }
        }
        let any = tokens::any(&self.db).await?;
        self.cache().any_token = Some((any, Instant::now()));
        Ok(any)
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

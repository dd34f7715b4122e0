//! Apollo's automatic persisted queries (`extensions.persistedQuery`:
//! `{"version": 1, "sha256Hash": "<hex>"}`) and the trusted-documents mode.
//!
//! - A hash alone: the document whose text hashes to it, from this
//!   replica's cache or else from the registered documents
//!   (`contacts-api documents register`, in the database every replica
//!   shares); unknown: PERSISTED_QUERY_NOT_FOUND, and the client sends the
//!   hash again with the text.
//! - A hash with the text: the hash must be the text's SHA-256; the text is
//!   kept in this replica's cache (bounded) once the request was admitted
//!   and executed (a document refused for any reason, or sent with GET as a
//!   mutation, is not kept), unless only registered documents run.
//!
//! Replicas behind a load balancer answer alike: a registered document is
//! found by each; one learnt from a client is found by the replica that
//! learnt it, and on another costs the client one more round trip (the
//! protocol's retry with the text), never an error.
//!
//! With `--trusted-documents`, only registered documents run, whether sent
//! as text or by hash: anything else is FORBIDDEN.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::{Request, Value};
use sea_orm::DatabaseConnection;

use crate::domain::persisted::{hash_of, is_sha256_hex};
use crate::error::{AppError, AppResult};
use crate::service;

/// Documents longer than this are never kept from a client's request.
const MAX_KEPT_BYTES: usize = 64 * 1024;
/// The cache's bound, in bytes of document text; beyond, it starts over.
const MAX_CACHE_BYTES: usize = 8 * 1024 * 1024;

const FIELD: &str = "extensions.persistedQuery";

/// A document a client sent with its hash, to keep once its request ran.
#[derive(Debug, Clone)]
pub struct Learnt {
    hash: String,
    text: Arc<str>,
}

pub struct Persisted {
    db: DatabaseConnection,
    trusted_only: bool,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    texts: HashMap<String, Arc<str>>,
    bytes: usize,
}

impl Persisted {
    pub fn new(db: DatabaseConnection, trusted_only: bool) -> Self {
        Self {
            db,
            trusted_only,
            cache: Mutex::default(),
        }
    }

    /// Gives `request` its document text when it names one by hash, checks
    /// the hash it sends with a text, and in trusted-documents mode refuses
    /// a document that is not registered. Some: a text to keep (`keep`)
    /// once the request has run.
    pub async fn resolve(&self, request: &mut Request) -> AppResult<Option<Learnt>> {
        let Some(hash) = requested_hash(request)? else {
            if self.trusted_only {
                let hash = hash_of(&request.query);
                if self.lookup(&hash).await?.is_none() {
                    return Err(untrusted());
                }
            }
            return Ok(None);
        };
        if request.query.is_empty() {
            let text = self
                .lookup(&hash)
                .await?
                .ok_or(AppError::PersistedQueryNotFound)?;
            request.query = text.to_string();
            return Ok(None);
        }
        if hash_of(&request.query) != hash {
            return Err(AppError::bad_input(
                format!("{FIELD}.sha256Hash"),
                format!("{FIELD}.sha256Hash: not the SHA-256 of the query sent with it"),
            ));
        }
        if self.trusted_only {
            if self.lookup(&hash).await?.is_none() {
                return Err(untrusted());
            }
            return Ok(None);
        }
        Ok((request.query.len() <= MAX_KEPT_BYTES).then(|| Learnt {
            hash,
            text: Arc::from(request.query.as_str()),
        }))
    }

    /// Keeps a text a client sent with its hash, once its request ran.
    pub fn remember(&self, learnt: &Learnt) {
        self.keep(learnt.hash.clone(), learnt.text.clone());
    }

    /// The text for `hash`: cached, else registered (then cached).
    async fn lookup(&self, hash: &str) -> AppResult<Option<Arc<str>>> {
        if let Some(text) = self.lock().texts.get(hash) {
            return Ok(Some(text.clone()));
        }
        let Some(text) = service::persisted::find(&self.db, hash).await? else {
            return Ok(None);
        };
        let text: Arc<str> = Arc::from(text);
        self.keep(hash.to_owned(), text.clone());
        Ok(Some(text))
    }

    fn keep(&self, hash: String, text: Arc<str>) {
        let mut cache = self.lock();
        if cache.bytes + text.len() > MAX_CACHE_BYTES {
            *cache = Cache::default();
        }
        cache.bytes += text.len();
        if let Some(old) = cache.texts.insert(hash, text) {
            cache.bytes -= old.len();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The hash of `extensions.persistedQuery`, if the request has one.
fn requested_hash(request: &Request) -> AppResult<Option<String>> {
    let Some(value) = request.extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let Value::Object(fields) = value else {
        return Err(AppError::bad_input(
            FIELD,
            format!("{FIELD}: expected {{\"version\": 1, \"sha256Hash\": \"<hex>\"}}"),
        ));
    };
    let version = fields.get("version");
    if version != Some(&Value::from(1)) {
        return Err(AppError::bad_input(
            format!("{FIELD}.version"),
            format!("{FIELD}.version: only version 1 is supported"),
        ));
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash)) if is_sha256_hex(hash) => Ok(Some(hash.clone())),
        _ => Err(AppError::bad_input(
            format!("{FIELD}.sha256Hash"),
            format!("{FIELD}.sha256Hash: expected the document's SHA-256 in lower-case hex"),
        )),
    }
}

fn untrusted() -> AppError {
    AppError::Forbidden(
        "only registered documents run on this server (--trusted-documents); register the \
         app's documents with `contacts-api documents register MANIFEST`"
            .into(),
    )
}

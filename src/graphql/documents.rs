//! Parsed query documents, by query text. Clients send the same few
//! documents again and again; parsing one (async-graphql's pest grammar)
//! was about 5% of a page request's CPU, cloning the parsed tree is far less.
//! Only documents that passed the gate's bounds are kept, so a cached one
//! needs no second check.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::parser::types::ExecutableDocument;

/// Longer documents (inline data, generated queries) are parsed every time:
/// they are rarely repeated and would make the cache's memory unbounded.
const MAX_QUERY_BYTES: usize = 8 * 1024;
/// Different documents kept at most; beyond, the cache starts over.
const MAX_ENTRIES: usize = 256;

#[derive(Default)]
pub struct Documents {
    parsed: Mutex<HashMap<String, ExecutableDocument>>,
}

impl Documents {
    /// Gives `request` its parsed document when the cache has it; returns
    /// whether it did.
    pub fn prepare(&self, request: &mut async_graphql::Request) -> bool {
        if request.query.len() > MAX_QUERY_BYTES {
            return false;
        }
        match self.lock().get(&request.query) {
            Some(doc) => {
                request.set_parsed_query(doc.clone());
                true
            }
            None => false,
        }
    }

    /// Keeps a document that parsed and passed the bounds.
    pub fn keep(&self, query: &str, doc: &ExecutableDocument) {
        if query.len() > MAX_QUERY_BYTES {
            return;
        }
        let mut parsed = self.lock();
        if parsed.len() >= MAX_ENTRIES {
            parsed.clear();
        }
        parsed.insert(query.to_owned(), doc.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ExecutableDocument>> {
        self.parsed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_documents_come_from_the_cache() {
        let documents = Documents::default();
        let query = "{ contactTypes { value } }";
        let mut first = async_graphql::Request::new(query);
        assert!(!documents.prepare(&mut first));
        documents.keep(query, first.parsed_query().unwrap());
        let mut second = async_graphql::Request::new(query);
        assert!(documents.prepare(&mut second));
        assert_eq!(documents.lock().len(), 1);
        assert!(second.parsed_query().is_ok());
    }
}

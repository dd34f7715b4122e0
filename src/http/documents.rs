//! Parsed query documents, by query text. Clients send the same few
//! documents again and again; parsing one (async-graphql's pest grammar)
//! was about 5% of a page request's CPU, cloning the parsed tree is far less.

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
    /// Gives `request` its parsed document, from the cache when it has one.
    pub fn prepare(&self, request: &mut async_graphql::Request) {
        if request.query.len() > MAX_QUERY_BYTES {
            return;
        }
        if let Some(doc) = self.lock().get(&request.query) {
            request.set_parsed_query(doc.clone());
            return;
        }
        // Only documents that parse are kept; errors are reported as usual.
        let Ok(doc) = request.parsed_query() else {
            return;
        };
        let doc = doc.clone();
        let mut parsed = self.lock();
        if parsed.len() >= MAX_ENTRIES {
            parsed.clear();
        }
        parsed.insert(request.query.clone(), doc);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ExecutableDocument>> {
        self.parsed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_documents_come_from_the_cache() {
        let documents = Documents::default();
        let mut first = async_graphql::Request::new("{ contactTypes { value } }");
        documents.prepare(&mut first);
        assert_eq!(documents.lock().len(), 1);
        let mut second = async_graphql::Request::new("{ contactTypes { value } }");
        documents.prepare(&mut second);
        assert_eq!(documents.lock().len(), 1);
        assert!(second.parsed_query().is_ok());

        let mut broken = async_graphql::Request::new("{ contactTypes { ");
        documents.prepare(&mut broken);
        assert_eq!(documents.lock().len(), 1);
        assert!(broken.parsed_query().is_err());
    }
}

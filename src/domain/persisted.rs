//! Persisted documents: the hash a client sends instead of a document's text
//! (Apollo's automatic persisted queries), and the manifests that list the
//! documents an app may send (`contacts-api documents register`).

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// The lower-case hex SHA-256 of a document's text, as Apollo's
/// PersistedQueryLink and graphql-codegen's persisted documents compute it.
pub fn hash_of(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// Whether `hash` has the shape of a SHA-256 in lower-case hex.
pub fn is_sha256_hex(hash: &str) -> bool {
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A document a manifest lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestDocument {
    pub hash: String,
    pub body: String,
    pub name: Option<String>,
}

/// The documents of a manifest, in one of two shapes:
/// - Apollo's persisted query manifest (`@apollo/generate-persisted-query-manifest`):
///   `{"format": "apollo-persisted-query-manifest", "version": 1,
///   "operations": [{"id", "name", "type", "body"}]}`;
/// - a JSON object of hash to document text (graphql-codegen's client preset
///   `persisted-documents.json` with `hashAlgorithm: "sha256"`), a key
///   optionally prefixed `sha256:`.
///
/// Every given hash must be the SHA-256 of its text (BAD_USER_INPUT naming
/// the entry otherwise): a client sends that hash, so any other would never
/// be found.
pub fn parse_manifest(text: &str) -> AppResult<Vec<ManifestDocument>> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| AppError::bad_input("manifest", format!("manifest: not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(AppError::bad_input(
            "manifest",
            "manifest: expected a JSON object (Apollo's manifest, or hash -> document)",
        ));
    };
    if map.get("format").and_then(Value::as_str) == Some("apollo-persisted-query-manifest") {
        let operations = map
            .get("operations")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                AppError::bad_input("operations", "operations: missing from the manifest")
            })?;
        return operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let field = format!("operations[{i}]");
                let body = op
                    .get("body")
                    .and_then(Value::as_str)
                    .ok_or_else(|| AppError::bad_input(&field, format!("{field}.body: missing")))?;
                let given = op.get("id").and_then(Value::as_str);
                let name = op.get("name").and_then(Value::as_str).map(str::to_owned);
                document(&field, given, body, name)
            })
            .collect();
    }
    map.iter()
        .map(|(key, body)| {
            let body = body.as_str().ok_or_else(|| {
                AppError::bad_input(key, format!("{key}: the document must be a string"))
            })?;
            document(
                key,
                Some(key.strip_prefix("sha256:").unwrap_or(key)),
                body,
                None,
            )
        })
        .collect()
}

fn document(
    field: &str,
    given: Option<&str>,
    body: &str,
    name: Option<String>,
) -> AppResult<ManifestDocument> {
    if body.trim().is_empty() {
        return Err(AppError::bad_input(
            field,
            format!("{field}: empty document"),
        ));
    }
    let hash = hash_of(body);
    if let Some(given) = given.filter(|g| *g != hash) {
        return Err(AppError::bad_input(
            field,
            format!("{field}: {given:?} is not the SHA-256 of the document ({hash})"),
        ));
    }
    Ok(ManifestDocument {
        hash,
        body: body.to_owned(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "query Types { contactTypes { value } }";

    #[test]
    fn hashes_are_sha256_hex() {
        // printf 'query Types { contactTypes { value } }' | sha256sum
        let hash = hash_of(DOC);
        assert!(is_sha256_hex(&hash));
        assert_eq!(hash, hex::encode(Sha256::digest(DOC)));
        assert!(!is_sha256_hex(&hash.to_uppercase()));
        assert!(!is_sha256_hex("abc"));
    }

    #[test]
    fn both_manifest_shapes_are_read() {
        let hash = hash_of(DOC);
        let apollo = serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": hash, "name": "Types", "type": "query", "body": DOC }]
        });
        let docs = parse_manifest(&apollo.to_string()).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].name.as_deref(), Some("Types"));
        assert_eq!(docs[0].hash, hash);
        let map = serde_json::json!({ format!("sha256:{hash}"): DOC });
        assert_eq!(parse_manifest(&map.to_string()).unwrap()[0].body, DOC);
    }

    #[test]
    fn a_wrong_hash_is_refused_naming_its_entry() {
        let map = serde_json::json!({ "0".repeat(64): DOC });
        match parse_manifest(&map.to_string()) {
            Err(AppError::BadUserInput { field, .. }) => assert_eq!(field, Some("0".repeat(64))),
            other => panic!("{other:?}"),
        }
        let apollo = serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "operations": [{ "id": "x", "body": DOC }]
        });
        match parse_manifest(&apollo.to_string()) {
            Err(AppError::BadUserInput { field, .. }) => {
                assert_eq!(field.as_deref(), Some("operations[0]"))
            }
            other => panic!("{other:?}"),
        }
    }
}

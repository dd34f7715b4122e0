//! Metadata: JSON objects without arrays, capped in size, updated by JSON
//! Merge Patch (RFC 7386).

use serde_json::{Map, Value};

use super::numbers::INEXACT_MARKER;
use crate::error::AppError;

/// Largest metadata object a contact may carry, serialised.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
const MAX_DEPTH: usize = 16;
/// Longest metadata key, in bytes of UTF-8 (85 CJK characters, 255 ASCII).
pub const MAX_KEY_BYTES: usize = 255;

/// Checks that `value` is an object with no array at any depth and non-empty
/// keys. `field` is its input path; nested paths are reported precisely.
pub fn validate_metadata(field: &str, value: &Value) -> Result<Map<String, Value>, AppError> {
    let Value::Object(map) = value else {
        return Err(AppError::bad_input(
            field,
            format!("{field}: must be a JSON object"),
        ));
    };
    check_object(field, map, 1)?;
    let size = value.to_string().len();
    if size > MAX_METADATA_BYTES {
        return Err(AppError::bad_input(
            field,
            format!("{field}: {size} bytes, more than the {MAX_METADATA_BYTES} allowed"),
        ));
    }
    let mut map = map.clone();
    map.values_mut().for_each(unsigned_zero);
    Ok(map)
}

/// -0 and -0.0 become 0: PostgreSQL's jsonb has no negative zero (it gives
/// back 0), so both databases keep the number equal to what was sent.
fn unsigned_zero(value: &mut Value) {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) => {
            *value = Value::from(0)
        }
        Value::Object(map) => map.values_mut().for_each(unsigned_zero),
        _ => {}
    }
}

fn check_object(path: &str, map: &Map<String, Value>, depth: usize) -> Result<(), AppError> {
    if depth > MAX_DEPTH {
        return Err(AppError::bad_input(
            path,
            format!("{path}: nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    for (key, value) in map {
        let child = format!("{path}.{key}");
        if key.trim().is_empty() {
            return Err(AppError::bad_input(
                path,
                format!("{path}: keys must not be empty"),
            ));
        }
        // Each top-level key is a row's primary key: a B-tree entry, which
        // PostgreSQL caps at 2,704 bytes. One bound for keys at every depth.
        if key.len() > MAX_KEY_BYTES {
            return Err(AppError::bad_input(
                &child,
                format!(
                    "{child}: the key is {} bytes of UTF-8; at most {MAX_KEY_BYTES} are allowed",
                    key.len()
                ),
            ));
        }
        // PostgreSQL's jsonb refuses NUL in any string.
        if key.contains('\0') {
            return Err(AppError::bad_input(
                &child,
                format!("{child}: keys must not contain NUL characters"),
            ));
        }
        match value {
            Value::String(text) if text.starts_with(INEXACT_MARKER) => {
                let number = &text[INEXACT_MARKER.len()..];
                return Err(AppError::bad_input(
                    &child,
                    format!(
                        "{child}: {number} cannot be kept exactly (numbers are 64-bit integers or \
                         doubles, about 15 to 17 significant digits); send it as a string"
                    ),
                ));
            }
            Value::String(text) if text.contains('\0') => {
                return Err(AppError::bad_input(
                    &child,
                    format!("{child}: must not contain NUL characters"),
                ))
            }
            Value::Number(n) if n.as_f64().is_some_and(|f| f.abs() > MAX_NUMBER) => {
                return Err(AppError::bad_input(
                    &child,
                    format!("{child}: numbers beyond ±1e300 are not kept (PostgreSQL gives them back larger than a double holds)"),
                ))
            }
            Value::Array(_) => {
                return Err(AppError::bad_input(
                    &child,
                    format!("{child}: arrays are not allowed in metadata"),
                ))
            }
            Value::Object(inner) => check_object(&child, inner, depth + 1)?,
            _ => {}
        }
    }
    Ok(())
}

/// Largest magnitude a metadata number may have. PostgreSQL keeps a jsonb
/// number as an exact decimal and prints it back with all its digits: near
/// the largest double (1.7976931348623157e308) that text no longer fits a
/// double, and every read of the contact failed.
const MAX_NUMBER: f64 = 1e300;

/// RFC 7386: null removes a key, objects merge recursively, anything else replaces.
pub fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(inner) => {
                let slot = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(existing) = slot {
                    merge_patch(existing, inner);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_are_rejected_at_any_depth_with_their_path() {
        let err = validate_metadata("input.metadata", &json!({"a": {"b": [1]}})).unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert_eq!(err.field(), Some("input.metadata.a.b"));
        assert!(validate_metadata("m", &json!([1])).is_err());
        assert!(validate_metadata("m", &json!("x")).is_err());
        assert!(validate_metadata("m", &json!({"a": {"b": 1, "c": null}})).is_ok());
    }

    #[test]
    fn inexact_numbers_are_refused_naming_their_key() {
        let text = crate::domain::numbers::mark_inexact_json(
            r#"{"a": {"n": 123456789012345678901234567890}}"#,
        )
        .unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let err = validate_metadata("m", &value).unwrap_err();
        assert_eq!(err.field(), Some("m.a.n"));
        assert!(err.to_string().contains("123456789012345678901234567890"));
    }

    #[test]
    fn negative_zero_is_zero() {
        let value: Value =
            serde_json::from_str(r#"{"a": -0.0, "b": {"c": -0}, "d": 0.0}"#).unwrap();
        let map = validate_metadata("m", &value).unwrap();
        assert_eq!(
            Value::Object(map).to_string(),
            r#"{"a":0,"b":{"c":0},"d":0.0}"#
        );
    }

    #[test]
    fn long_keys_are_refused_in_bytes() {
        let key = "漢".repeat(86);
        let err = validate_metadata("m", &json!({ key: 1 })).unwrap_err();
        assert!(err.field().is_some_and(|f| f.starts_with("m.")));
        assert!(validate_metadata("m", &json!({ "漢".repeat(85): 1 })).is_ok());
    }

    #[test]
    fn size_is_capped() {
        let big = "x".repeat(MAX_METADATA_BYTES);
        assert!(validate_metadata("m", &json!({ "k": big })).is_err());
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}, "keep": 1})
            .as_object()
            .unwrap()
            .clone();
        let patch = json!({"a": "z", "c": {"f": null}, "new": {"x": null, "y": 2}});
        merge_patch(&mut target, patch.as_object().unwrap());
        assert_eq!(
            Value::Object(target),
            json!({"a": "z", "c": {"d": "e"}, "keep": 1, "new": {"y": 2}})
        );
    }

    #[test]
    fn merge_patch_replaces_scalars_with_objects() {
        let mut target = json!({"a": 1}).as_object().unwrap().clone();
        merge_patch(&mut target, json!({"a": {"b": 2}}).as_object().unwrap());
        assert_eq!(Value::Object(target), json!({"a": {"b": 2}}));
    }
}

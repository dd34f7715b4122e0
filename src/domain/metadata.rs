//! Metadata: JSON objects without arrays, capped in size, updated by JSON
//! Merge Patch (RFC 7386).

use serde_json::{Map, Value};

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
    Ok(map.clone())
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
                path,
                format!("{path}: keys must not contain NUL characters"),
            ));
        }
        match value {
            Value::String(text) if text.contains('\0') => {
                return Err(AppError::bad_input(
                    &child,
                    format!("{child}: must not contain NUL characters"),
                ))
            }
            Value::Number(n) if n.is_f64() && !keeps_its_digits(n) => {
                return Err(AppError::bad_input(
                    &child,
                    format!(
                        "{child}: {n} cannot be kept exactly: a number with a fraction or \
                         exponent keeps at most {MAX_FLOAT_DIGITS} significant digits, an integer \
                         at most 19 or ±2^53 written with an exponent; send it as a string"
                    ),
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

/// Significant digits a double is sure to give back as written (DBL_DIG).
const MAX_FLOAT_DIGITS: usize = 15;

/// Whether a number that JSON parsing made a double (it had a fraction, an
/// exponent, or more digits than a 64-bit integer) still holds what the
/// client wrote. Integers that fit 64 bits are kept exactly and never come
/// here. A double whose shortest form needs more than 15 significant digits
/// was written with more (123456789012345678901234567890 arrives as
/// 1.2345678901234568e29): digits were lost. An integral double of 2^53 or
/// more is refused for the same reason (it was an integer beyond 64 bits, or
/// an exponent beyond exact integers).
fn keeps_its_digits(n: &serde_json::Number) -> bool {
    let Some(f) = n.as_f64() else {
        return true;
    };
    if f.fract() == 0.0 && f.abs() >= 9_007_199_254_740_992.0 {
        return false;
    }
    // `{:e}` prints the shortest form that reads back as the same double.
    let shortest = format!("{f:e}");
    let mantissa = shortest.split('e').next().unwrap_or_default();
    let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
    digits <= MAX_FLOAT_DIGITS
}

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
    fn numbers_keep_their_digits_or_are_refused() {
        let parse = |text: &str| serde_json::from_str::<Value>(&format!("{{\"n\": {text}}}")).unwrap();
        for kept in ["7.5", "0.1", "-12.25", "1e15", "123456789012345678", "18446744073709551615",
                     "-9223372036854775808", "123456.789012345", "1.5e-300"] {
            assert!(validate_metadata("m", &parse(kept)).is_ok(), "{kept}");
        }
        for lost in ["123456789012345678901234567890", "3.14159265358979323846",
                     "0.12345678901234567", "1e20", "100000000000000000001", "18446744073709551616"] {
            let err = validate_metadata("m", &parse(lost)).unwrap_err();
            assert_eq!(err.field(), Some("m.n"), "{lost}");
        }
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

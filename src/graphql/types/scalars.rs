//! The contract's custom scalars.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{SecondsFormat, Utc};

/// Any JSON value (RFC 8259): string, number, boolean, null, array or
/// object. The old and new values of a change-log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Json(pub serde_json::Value);

/// Any JSON value (RFC 8259): string, number, boolean, null, array or object.
#[Scalar(
    name = "JSON",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc8259"
)]
impl ScalarType for Json {
    fn parse(value: Value) -> InputValueResult<Self> {
        value
            .into_json()
            .map(Json)
            .map_err(|e| InputValueError::custom(e.to_string()))
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

/// RFC 3339 timestamp in UTC, e.g. 2021-11-16T13:21:03.580Z
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// RFC 3339 timestamp in UTC, e.g. 2021-11-16T13:21:03.580Z
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://scalars.graphql.org/andimarek/date-time"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom(format!("{s:?} is not an RFC 3339 timestamp"))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    /// Checked again by validation, so that a bad timestamp (in a variable
    /// or a literal) refuses the request before it runs, naming it.
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

/// A JSON object. Arrays are rejected at any depth (BAD_USER_INPUT), as in Airy's
/// via and metadata. Values are strings, numbers, booleans, null or objects.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(transparent)]
pub struct JsonObject(pub serde_json::Value);

/// A JSON object. Arrays are rejected at any depth (BAD_USER_INPUT), as in Airy's
/// via and metadata. Values are strings, numbers, booleans, null or objects;
/// keys are non-empty, at most 255 bytes of UTF-8, without NUL. Numbers come
/// back exactly as written (64-bit integers, the shortest form of a double);
/// a number that would lose digits is BAD_USER_INPUT naming its key (send
/// it as a string). At most 64 KiB serialised.
#[Scalar(
    name = "JSONObject",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc8259#section-4"
)]
impl ScalarType for JsonObject {
    // Any JSON is accepted here and checked by the domain rules, which know
    // the input path and so can name the offending field in the error.
    fn parse(value: Value) -> InputValueResult<Self> {
        value
            .into_json()
            .map(JsonObject)
            .map_err(|e| InputValueError::custom(e.to_string()))
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

//! A GraphQL request sent with GET: `query`, `operationName`, and
//! `variables` and `extensions` as JSON text, URL-encoded in the query
//! string (GraphQL over HTTP, "GET").

use serde_json::{Map, Value};

use crate::domain::numbers;
use crate::error::{AppError, AppResult};

/// The request the query string carries. BAD_USER_INPUT naming the
/// parameter: a missing `query`, a parameter given twice, `variables` or
/// `extensions` that are not a JSON object (or null).
pub fn from_query_string(query_string: &str) -> AppResult<async_graphql::Request> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query_string)
        .map_err(|_| bad("query", "the query string is not URL-encoded".into()))?;
    let mut request = Map::new();
    for (name, value) in pairs {
        let (key, value) = match name.as_str() {
            "query" => ("query", Value::String(value)),
            "operationName" => ("operationName", Value::String(value)),
            "variables" => ("variables", json_object("variables", &value)?),
            "extensions" => ("extensions", json_object("extensions", &value)?),
            // Other parameters (a cache buster, say) are not the request's.
            _ => continue,
        };
        if request.insert(key.to_owned(), value).is_some() {
            return Err(bad(key, format!("{key}: given more than once")));
        }
    }
    let persisted = request
        .get("extensions")
        .is_some_and(|e| e.get("persistedQuery").is_some());
    if !request.contains_key("query") && persisted {
        // Apollo's persisted query by its hash alone (graphql/persisted.rs).
        request.insert("query".into(), Value::String(String::new()));
    }
    if !request.contains_key("query") {
        return Err(bad(
            "query",
            "query: missing (GET /graphql?query=... runs a query)".into(),
        ));
    }
    serde_json::from_value(Value::Object(request))
        .map_err(|e| bad("query", format!("not a GraphQL request: {e}")))
}

/// A JSON object (or null: none) given as text in parameter `name`.
/// Numbers that parsing would round become marked strings first, refused
/// by validation with their field, as in a POST body (domain::numbers).
fn json_object(name: &str, text: &str) -> AppResult<Value> {
    let marked = numbers::mark_inexact_json(text);
    let text = marked.as_deref().unwrap_or(text);
    match serde_json::from_str::<Value>(text) {
        Ok(value @ (Value::Object(_) | Value::Null)) => Ok(value),
        Ok(_) => Err(bad(name, format!("{name}: must be a JSON object"))),
        Err(e) => Err(bad(name, format!("{name}: not JSON: {e}"))),
    }
}

fn bad(field: &str, message: String) -> AppError {
    AppError::BadUserInput {
        field: Some(field.to_owned()),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(error: AppError) -> Option<String> {
        match error {
            AppError::BadUserInput { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_query_string_becomes_a_request() {
        let request = from_query_string(
            "query=query%20Q(%24n%3A%20Int)%20%7Bcontacts(first%3A%24n)%7BtotalCount%7D%7D\
             &operationName=Q&variables=%7B%22n%22%3A3%7D&extensions=%7B%7D&_=123",
        )
        .unwrap();
        assert_eq!(
            request.query,
            "query Q($n: Int) {contacts(first:$n){totalCount}}"
        );
        assert_eq!(request.operation_name.as_deref(), Some("Q"));
        assert_eq!(
            request.variables.into_value().into_json().unwrap(),
            serde_json::json!({ "n": 3 })
        );
        let request = from_query_string("query=%7B__typename%7D&variables=null").unwrap();
        assert_eq!(request.query, "{__typename}");
        // A persisted query's hash alone, as Apollo's link sends it.
        let request = from_query_string(
            "operationName=Types&extensions=%7B%22persistedQuery%22%3A%7B%22version%22%3A1%2C\
             %22sha256Hash%22%3A%22ab%22%7D%7D",
        )
        .unwrap();
        assert_eq!(request.query, "");
        assert!(request.extensions.contains_key("persistedQuery"));
    }

    #[test]
    fn bad_parameters_are_named() {
        assert_eq!(
            field(from_query_string("").unwrap_err()).as_deref(),
            Some("query")
        );
        assert_eq!(
            field(from_query_string("query=a&query=b").unwrap_err()).as_deref(),
            Some("query")
        );
        for bad in ["%5B1%5D", "nope", "3"] {
            let qs = format!("query=%7B__typename%7D&variables={bad}");
            assert_eq!(
                field(from_query_string(&qs).unwrap_err()).as_deref(),
                Some("variables")
            );
        }
        assert_eq!(
            field(from_query_string("query=x&extensions=%22s%22").unwrap_err()).as_deref(),
            Some("extensions")
        );
    }
}

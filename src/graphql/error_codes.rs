//! Gives every error its contract code. Resolvers fail with `AppError`, which
//! async-graphql keeps as the error's source; errors async-graphql raises
//! itself (parse, validation, argument coercion, depth and complexity limits)
//! carry no code and are classified by what they say.

use async_graphql::{ErrorExtensionValues, Response, ServerError};

use crate::domain::numbers;
use crate::error::AppError;

/// Top-level errors one response carries at most; beyond, one error says how
/// many more there were. A document of thousands of mistakes would otherwise
/// get an answer many times its own size. (ImportContactsPayload.errors, in
/// the data, keeps every failing row.)
pub const MAX_ERRORS: usize = 50;

/// Codes every error of a response, and caps their number.
pub fn classify_all(response: &mut Response) {
    let omitted = response.errors.len().saturating_sub(MAX_ERRORS - 1);
    if omitted > 1 {
        response.errors.truncate(MAX_ERRORS - 1);
    }
    for error in &mut response.errors {
        classify(error);
    }
    if omitted > 1 {
        let code = response.errors[0]
            .extensions
            .as_ref()
            .and_then(|e| e.get("code").cloned())
            .unwrap_or_else(|| "BAD_USER_INPUT".into());
        let mut summary = ServerError::new(
            format!("{omitted} more errors were left out (at most {MAX_ERRORS} are listed)"),
            None,
        );
        let ext = summary
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default);
        ext.set("code", code);
        ext.set("omittedErrors", omitted);
        response.errors.push(summary);
    }
}

/// INEXACT_MARKER as messages quote it: the NUL as the six characters \u0000.
const ESCAPED_INEXACT_MARKER: &str = "\\u0000inexact-number:";
/// INEXACT_MARKER as Rust's `{:?}` quotes it (resolvers' own messages).
const DEBUG_INEXACT_MARKER: &str = "\\0inexact-number:";

/// Gives one error its code (kept when it has one).
pub fn classify(error: &mut ServerError) {
    // A number parsing would round travels as a marked string (see
    // domain::numbers); a message quoting it shows the number instead.
    for marker in [
        numbers::INEXACT_MARKER,
        ESCAPED_INEXACT_MARKER,
        DEBUG_INEXACT_MARKER,
    ] {
        if error.message.contains(marker) {
            error.message = error.message.replace(marker, "inexact number ");
        }
    }
    if let Some(app) = error.source::<AppError>() {
        let app = app.clone();
        describe(error, &app);
        return;
    }
    if error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
    {
        return;
    }
    let message = error.message.as_str();
    let (code, field) = if let Some(named) = limit_naming_its_flag(message) {
        error.message = named.into();
        ("LIMIT_EXCEEDED", None)
    } else if let Some(arg) = quoted_after(message, "argument \"") {
        ("BAD_USER_INPUT", Some(arg))
    } else if let Some(name) = undefined_variable(message) {
        // A variable the request never sent (found by validation for a
        // scalar, at execution, with a path, for an input object): the
        // client's mistake, named as the place in the body it belongs.
        ("BAD_USER_INPUT", Some(format!("variables.{name}")))
    } else if error.path.is_empty() || message.starts_with("Failed to parse") {
        // No path: the document or its variables were rejected before execution.
        ("BAD_USER_INPUT", None)
    } else {
        tracing::error!(message, "resolver error without a code");
        error.message = "internal server error".into();
        ("INTERNAL_SERVER_ERROR", None)
    };
    set(error, code, field);
}

/// A ServerError for an AppError raised outside execution (authentication,
/// timeouts, the HTTP layer).
pub fn server_error(app: &AppError) -> ServerError {
    let mut error = ServerError::new(app.to_string(), None);
    describe(&mut error, app);
    error
}

fn describe(error: &mut ServerError, app: &AppError) {
    match app {
        AppError::Internal(source) => tracing::error!(error = ?source, "internal error"),
        AppError::Unavailable(source) => {
            tracing::warn!(error = %source, "the database is unavailable")
        }
        _ => {}
    }
    set(error, app.code(), app.field().map(str::to_owned));
    if let Some(reason) = app.reason() {
        if let Some(ext) = error.extensions.as_mut() {
            ext.set("reason", reason);
        }
    }
    if let AppError::AmbiguousMatch { contact_ids, .. } = app {
        if let (false, Some(ext)) = (contact_ids.is_empty(), error.extensions.as_mut()) {
            let ids: Vec<String> = contact_ids.iter().map(ToString::to_string).collect();
            ext.set("contactIds", ids);
        }
    }
}

fn set(error: &mut ServerError, code: &str, field: Option<String>) {
    let ext = error
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default);
    ext.set("code", code);
    if let Some(field) = field {
        ext.set("field", field);
    }
}

/// async-graphql's depth and complexity refusals, saying which flag sets
/// the limit.
fn limit_naming_its_flag(message: &str) -> Option<&'static str> {
    match message {
        "Query is nested too deep." => {
            Some("the query is nested deeper than the server allows (--max-depth)")
        }
        "Query is too complex." => Some(
            "the query is more complex than the server allows (--max-complexity; a page \
             counts its selection once per row: ask for fewer rows or fields)",
        ),
        _ => None,
    }
}

/// The variable of async-graphql's "Variable NAME is not defined." (the
/// message both validation and execution give a variable the request does
/// not carry).
fn undefined_variable(message: &str) -> Option<&str> {
    message
        .strip_prefix("Variable ")?
        .strip_suffix(" is not defined.")
        .filter(|name| !name.is_empty() && !name.contains(char::is_whitespace))
}

fn quoted_after(message: &str, marker: &str) -> Option<String> {
    let start = message.find(marker)? + marker.len();
    let end = message[start..].find('"')?;
    Some(message[start..start + end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_escaped_marker_is_the_marker() {
        // How async-graphql quotes a value: as JSON does.
        let quoted = serde_json::to_string(numbers::INEXACT_MARKER).unwrap();
        assert_eq!(format!("\"{ESCAPED_INEXACT_MARKER}\""), quoted);
        assert_eq!(
            format!("\"{DEBUG_INEXACT_MARKER}\""),
            format!("{:?}", numbers::INEXACT_MARKER)
        );
    }

    #[test]
    fn an_undefined_variable_is_named() {
        assert_eq!(undefined_variable("Variable i is not defined."), Some("i"));
        assert_eq!(undefined_variable("Variable  is not defined."), None);
        assert_eq!(undefined_variable("Variable a b is not defined."), None);
        assert_eq!(undefined_variable("Something else."), None);
    }
}

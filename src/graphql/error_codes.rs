//! Gives every error its contract code. Resolvers fail with `AppError`, which
//! async-graphql keeps as the error's source; errors async-graphql raises
//! itself (parse, validation, argument coercion, depth and complexity limits)
//! carry no code and are classified by what they say.

use async_graphql::{ErrorExtensionValues, Response, ServerError};

use crate::error::AppError;

/// Codes every error of a response.
pub fn classify_all(response: &mut Response) {
    for error in &mut response.errors {
        classify(error);
    }
}

fn classify(error: &mut ServerError) {
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
    let (code, field) =
        if message == "Query is nested too deep." || message == "Query is too complex." {
            ("LIMIT_EXCEEDED", None)
        } else if let Some(arg) = quoted_after(message, "argument \"") {
            ("BAD_USER_INPUT", Some(arg))
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
    if let AppError::Unavailable(_) = app {
        if let Some(ext) = error.extensions.as_mut() {
            ext.set("reason", "DATABASE_UNAVAILABLE");
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

fn quoted_after(message: &str, marker: &str) -> Option<String> {
    let start = message.find(marker)? + marker.len();
    let end = message[start..].find('"')?;
    Some(message[start..start + end].to_owned())
}

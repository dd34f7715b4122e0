//! Uploads: POST /graphql as a GraphQL multipart request
//! (github.com/jaydenseric/graphql-multipart-request-spec), read by
//! async-graphql, which spools each file to a temporary file as it arrives.
//! An upload is bounded by --max-upload-bytes and cut off when no byte
//! arrives for --upload-idle-seconds; --max-body-bytes and
//! --request-timeout do not apply (the file is imported in the background).
//! CSRF: a multipart POST passes the header check only with an
//! `Apollo-Require-Preflight` (or `X-Apollo-Operation-Name`) header
//! (guard::check_content_type), as apollo-upload-client sends when told to.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_graphql::http::MultipartOptions;
use async_graphql::{BatchRequest, ParseRequestError};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use futures_util::{StreamExt, TryStreamExt};

use super::AppState;
use crate::domain::Scope;
use crate::error::AppError;
use crate::graphql::access::Principal;

pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// Why the caller may not upload: uploads feed mutations only
/// (importContactsFile), which take a write token (or an open server).
pub fn refusal(principal: &Principal) -> Option<(StatusCode, AppError)> {
    match principal {
        Principal::Open => None,
        Principal::Token(scope, _) if scope.allows(Scope::Write) => None,
        Principal::Token(..) => Some((
            StatusCode::FORBIDDEN,
            AppError::Forbidden("an upload (importContactsFile) needs a write token".into()),
        )),
        Principal::Visitor => Some((
            StatusCode::UNAUTHORIZED,
            AppError::Unauthenticated(
                "an upload (importContactsFile) needs a write token (Authorization: Bearer ...)"
                    .into(),
            ),
        )),
    }
}

/// The request of a multipart upload, its file spooled to disk.
pub async fn read(
    state: &AppState,
    parts: &Parts,
    body: axum::body::Body,
) -> Result<async_graphql::Request, (StatusCode, AppError)> {
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let idle = state.settings.upload_idle;
    let max = state.settings.max_upload_bytes;
    // The file may take --max-upload-bytes; `operations` and `map` this much more.
    let whole = max.saturating_add(PARTS_ROOM);
    let timed_out = Arc::new(AtomicBool::new(false));
    let too_large = Arc::new(AtomicBool::new(false));
    let (flag, over) = (timed_out.clone(), too_large.clone());
    let mut received = 0u64;
    let stream = tokio_stream::StreamExt::timeout(body.into_data_stream(), idle).map(
        move |chunk| match chunk {
            Ok(Ok(bytes)) => {
                received += bytes.len() as u64;
                if received > whole {
                    over.store(true, Ordering::Relaxed);
                    return Err(std::io::Error::other("the upload is too large"));
                }
                Ok(bytes)
            }
            Ok(Err(e)) => Err(std::io::Error::other(e)),
            Err(_) => {
                flag.store(true, Ordering::Relaxed);
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the upload was idle too long",
                ))
            }
        },
    );
    let reader = Box::pin(stream).into_async_read();
    // Each part at most --max-upload-bytes (async-graphql bounds parts, the
    // stream above bounds their sum).
    let options =
        MultipartOptions::default().max_file_size(usize::try_from(max).unwrap_or(usize::MAX));
    let read = async_graphql::http::receive_batch_body(Some(content_type), reader, options).await;
    match read {
        Ok(BatchRequest::Single(request)) => Ok(request),
        Ok(BatchRequest::Batch(_)) => Err((
            StatusCode::BAD_REQUEST,
            AppError::bad_input(
                "operations",
                "operations: an upload carries one operation, not a batch",
            ),
        )),
        Err(_) if timed_out.load(Ordering::Relaxed) => Err((
            StatusCode::REQUEST_TIMEOUT,
            AppError::bad_input(
                "body",
                format!(
                    "body: no byte of the upload arrived for {} s (--upload-idle-seconds)",
                    idle.as_secs()
                ),
            ),
        )),
        Err(_) if too_large.load(Ordering::Relaxed) => Err(too_large_error(max)),
        Err(ParseRequestError::PayloadTooLarge) => Err(too_large_error(max)),
        Err(e) => Err((StatusCode::BAD_REQUEST, refused(e))),
    }
}

/// Room for the request's `operations` and `map` parts besides the file.
const PARTS_ROOM: u64 = 64 * 1024;

fn too_large_error(max: u64) -> (StatusCode, AppError) {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        AppError::TooLarge {
            field: "file".into(),
            message: format!("file: an upload is at most {max} bytes (--max-upload-bytes)"),
        },
    )
}

/// Why a multipart body is not an upload, naming its part.
fn refused(e: ParseRequestError) -> AppError {
    let (field, message) = match &e {
        ParseRequestError::MissingOperatorsPart => (
            "operations",
            "the multipart request has no `operations` part".to_owned(),
        ),
        ParseRequestError::MissingMapPart => {
            ("map", "the multipart request has no `map` part".to_owned())
        }
        ParseRequestError::InvalidFilesMap(inner) => {
            ("map", format!("not a map of files to variables: {inner}"))
        }
        ParseRequestError::MissingFiles => (
            "map",
            "the map names a file the request does not carry".to_owned(),
        ),
        ParseRequestError::InvalidRequest(inner) => {
            ("operations", format!("not a GraphQL request: {inner}"))
        }
        ParseRequestError::InvalidMultipart(inner) => {
            ("body", format!("not a multipart body: {inner}"))
        }
        ParseRequestError::Io(inner) => ("body", format!("the upload broke off: {inner}")),
        other => ("body", other.to_string()),
    };
    AppError::bad_input(field, format!("{field}: {message}"))
}

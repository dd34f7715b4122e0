//! GET /export: every contact (or those the query string's filters select)
//! as NDJSON, CSV or vCard, streamed as it is read from one snapshot
//! (service::export). For any token (read scope is enough), or anyone on
//! an open server; a visitor is refused (401). A slow client slows the
//! export, whose memory stays at two pages.
//!
//! Query string: `format` (ndjson, csv, vcard; default ndjson), `search`,
//! `source`, `group`, `contactType`, `isSpammer`, `createdAfter`,
//! `createdBefore` (RFC 3339), as the `contacts` filter.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::graphql::error_reply;
use super::media::Media;
use super::AppState;
use crate::error::AppError;
use crate::graphql::access::Principal;
use crate::service::export::{self, ExportFormat};
use crate::service::list::ContactFilter;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExportParams {
    format: Option<String>,
    search: Option<String>,
    source: Option<String>,
    group: Option<String>,
    contact_type: Option<String>,
    is_spammer: Option<bool>,
    created_after: Option<chrono::DateTime<chrono::Utc>>,
    created_before: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn get(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    let media = Media::Json;
    let open = match state.check_host(&parts.headers, &parts.uri, media).await {
        Ok(open) => open,
        Err(refusal) => return *refusal,
    };
    let principal = match parts.headers.get(header::AUTHORIZATION) {
        None if open => Principal::Open,
        None => Principal::Visitor,
        Some(value) => match state.auth.authenticate(Some(value)).await {
            Ok(p) => p,
            Err(e) => return error_reply(StatusCode::UNAUTHORIZED, &e, media),
        },
    };
    if principal == Principal::Visitor {
        let error = AppError::Unauthenticated(
            "GET /export needs a token (Authorization: Bearer ...); read scope is enough".into(),
        );
        return error_reply(StatusCode::UNAUTHORIZED, &error, media);
    }
    let params: ExportParams = match serde_urlencoded::from_str(parts.uri.query().unwrap_or("")) {
        Ok(p) => p,
        Err(e) => {
            let error = AppError::bad_input("query", format!("query: {e}"));
            return error_reply(StatusCode::BAD_REQUEST, &error, media);
        }
    };
    let format = match params
        .format
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("ndjson") => ExportFormat::Ndjson,
        Some("csv") => ExportFormat::Csv,
        Some("vcard" | "vcf") => ExportFormat::Vcard,
        Some(other) => {
            let error = AppError::bad_input(
                "format",
                format!("format: {other:?} is not ndjson, csv or vcard"),
            );
            return error_reply(StatusCode::BAD_REQUEST, &error, media);
        }
    };
    let filter = ContactFilter {
        search: params.search,
        source: params.source,
        group_name: params.group,
        contact_type: params.contact_type,
        is_spammer: params.is_spammer,
        created_after: params.created_after,
        created_before: params.created_before,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<export::Chunk>(2);
    let db = state.db.clone();
    state.tasks.spawn(async move {
        if let Err(e) = export::export(&db, &filter, format, tx).await {
            tracing::warn!(error = %e, "an export stopped before its end");
        }
    });
    // An error ends the body abruptly: the client sees a broken transfer,
    // never a file that merely looks complete.
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"contacts.{}\"",
        format.extension()
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

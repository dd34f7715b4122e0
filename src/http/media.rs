//! What a GraphQL response is sent as, from the request's `Accept` header,
//! as GraphQL over HTTP says: `application/graphql-response+json` when the
//! client asks for it, else `application/json` (also for `*/*` and for no
//! Accept at all: clients from before the spec); nothing acceptable: 406.
//! On GET a browser asking for `text/html` gets the playground.

use axum::http::{header, HeaderMap, HeaderValue};

/// A response's media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `application/graphql-response+json`: request errors answer 400 and
    /// carry no `data` entry.
    GraphQlResponse,
    /// `application/json`: request errors answer 200 (except those that
    /// cannot be read as a GraphQL request at all), as clients from before
    /// the spec expect.
    Json,
    /// `text/html`: the playground (GET only).
    Html,
}

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

impl Media {
    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphQlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
            Media::Html => "text/html; charset=utf-8",
        })
    }
}

/// The media type to answer with, among `offered` (in the server's order
/// of preference when the client ranks several equally); None: the client
/// accepts none of them (406). A missing or empty Accept means JSON.
pub fn negotiate(headers: &HeaderMap, offered: &[Media]) -> Option<Media> {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if accept.is_empty() {
        return offered.iter().copied().find(|m| *m == Media::Json);
    }
    // A range with a weight that is not one (RFC 9110, 12.4.2: 0 to 1, at
    // most three decimals) is ignored, as is one that is not a media type.
    let ranges: Vec<(mime::Mime, f32)> = accept
        .iter()
        .filter_map(|range| range.parse::<mime::Mime>().ok())
        .filter_map(|range| {
            let q = match range.get_param("q") {
                None => 1.0,
                Some(q) => weight(q.as_str())?,
            };
            Some((range, q))
        })
        .collect();
    // The highest weight wins; then a type the client named over one a
    // wildcard matched; then the server's order, except that a wildcard
    // alone means plain JSON (clients from before the spec send `*/*`).
    let mut best: Option<(Media, (f32, u8, u8))> = None;
    for media in offered {
        let Some((q, specificity)) = quality(*media, &ranges) else {
            continue;
        };
        let wildcard_json = u8::from(specificity < 2 && *media == Media::Json);
        let rank = (q, specificity, wildcard_json);
        if q > 0.0
            && best.is_none_or(|(_, b)| rank.partial_cmp(&b) == Some(std::cmp::Ordering::Greater))
        {
            best = Some((*media, rank));
        }
    }
    best.map(|(media, _)| media)
}

/// A `q` parameter's weight, if it is one.
fn weight(text: &str) -> Option<f32> {
    let valid = match text.split_once('.') {
        None => text == "0" || text == "1",
        Some(("0", decimals)) => {
            decimals.len() <= 3 && decimals.bytes().all(|b| b.is_ascii_digit())
        }
        Some(("1", decimals)) => decimals.len() <= 3 && decimals.bytes().all(|b| b == b'0'),
        Some(_) => false,
    };
    valid.then(|| text.parse().ok()).flatten()
}

/// The weight the client gives `media` and how specific the range that
/// gave it is (2 named, 1 `type/*`, 0 `*/*`): the most specific range
/// matching it (RFC 9110, 12.5.1), None if none does. A wildcard never
/// picks HTML: a browser lists text/html itself, and `*/*` from a script
/// means JSON.
fn quality(media: Media, ranges: &[(mime::Mime, f32)]) -> Option<(f32, u8)> {
    let essence = match media {
        Media::GraphQlResponse => GRAPHQL_RESPONSE_JSON,
        Media::Json => "application/json",
        Media::Html => "text/html",
    };
    let mut found: Option<(u8, f32)> = None;
    for (range, q) in ranges {
        // The essence keeps a structured suffix (+json), which subtype() drops.
        let specificity = match range.essence_str() {
            e if e.eq_ignore_ascii_case(essence) => 2,
            "application/*" if media != Media::Html => 1,
            "*/*" if media != Media::Html => 0,
            _ => continue,
        };
        if found.is_none_or(|(s, _)| specificity > s) {
            found = Some((specificity, *q));
        }
    }
    found.map(|(specificity, q)| (q, specificity))
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: [Media; 2] = [Media::GraphQlResponse, Media::Json];
    const GET: [Media; 3] = [Media::GraphQlResponse, Media::Json, Media::Html];

    fn pick(accept: Option<&str>, offered: &[Media]) -> Option<Media> {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        }
        negotiate(&headers, offered)
    }

    #[test]
    fn clients_get_what_they_ask_for() {
        assert_eq!(pick(None, &API), Some(Media::Json));
        assert_eq!(pick(Some(""), &API), Some(Media::Json));
        assert_eq!(pick(Some("*/*"), &API), Some(Media::Json));
        assert_eq!(pick(Some("application/*"), &API), Some(Media::Json));
        assert_eq!(pick(Some("application/json"), &API), Some(Media::Json));
        assert_eq!(
            pick(Some(GRAPHQL_RESPONSE_JSON), &API),
            Some(Media::GraphQlResponse)
        );
        // urql's and Apollo's lists: the first is preferred on a tie.
        assert_eq!(
            pick(
                Some("application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed"),
                &GET
            ),
            Some(Media::GraphQlResponse)
        );
        assert_eq!(
            pick(
                Some("application/json;q=1, application/graphql-response+json;q=0.5"),
                &API
            ),
            Some(Media::Json)
        );
        assert_eq!(
            pick(Some("Application/GraphQL-Response+JSON"), &API),
            Some(Media::GraphQlResponse)
        );
    }

    #[test]
    fn browsers_get_the_playground_and_scripts_json() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";
        assert_eq!(pick(Some(browser), &GET), Some(Media::Html));
        assert_eq!(pick(Some(browser), &API), Some(Media::Json));
        assert_eq!(pick(Some("*/*"), &GET), Some(Media::Json));
        assert_eq!(pick(None, &GET), Some(Media::Json));
    }

    #[test]
    fn nothing_acceptable_is_none() {
        assert_eq!(pick(Some("text/html"), &API), None);
        assert_eq!(pick(Some("application/xml"), &API), None);
        assert_eq!(pick(Some("application/json;q=0"), &API), None);
        assert_eq!(pick(Some("not a type"), &API), None);
        assert_eq!(pick(Some("application/json;q=abc"), &API), None);
        assert_eq!(pick(Some("application/json;q=1.5"), &API), None);
    }

    #[test]
    fn a_wildcard_serves_what_a_named_refusal_leaves() {
        assert_eq!(
            pick(Some("application/json;q=0, */*"), &API),
            Some(Media::GraphQlResponse)
        );
        assert_eq!(
            pick(Some("application/graphql-response+json;q=0, */*"), &API),
            Some(Media::Json)
        );
        assert_eq!(
            pick(Some("application/json;q=0.5, */*;q=0.1"), &API),
            Some(Media::Json)
        );
        assert_eq!(weight("0.001"), Some(0.001));
        assert_eq!(weight("0.0001"), None);
        assert_eq!(weight("1.000"), Some(1.0));
    }
}

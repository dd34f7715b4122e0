//! Relay paging arguments and opaque cursors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;
use crate::service::list::{OrderField, Position, SortKey};

pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// The default of --max-page-size (the contract's 100).
pub const MAX_PAGE_SIZE: u32 = 100;
/// The most --max-page-size may be set to.
pub const PAGE_SIZE_CEILING: u32 = 10_000;

/// What a cursor carries: the order it belongs to, the sort key, the id.
#[derive(Serialize, Deserialize)]
struct CursorData {
    f: char,
    k: String,
    i: Uuid,
}

fn field_tag(field: OrderField) -> char {
    match field {
        OrderField::CreatedAt => 'c',
        OrderField::UpdatedAt => 'u',
        OrderField::DisplayName => 'n',
    }
}

pub fn encode_cursor(pos: &Position) -> String {
    let k = match &pos.key {
        SortKey::Time(t) => t.to_rfc3339_opts(SecondsFormat::Micros, true),
        SortKey::Text(s) => s.clone(),
    };
    let data = CursorData {
        f: field_tag(pos.field),
        k,
        i: pos.id,
    };
    // Serialising a struct of a char, a string and a UUID cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap_or_default())
}

/// Decodes a cursor of argument `arg` for the order `field`.
pub fn decode_cursor(arg: &str, cursor: &str, field: OrderField) -> Result<Position, AppError> {
    let malformed = || AppError::bad_input(arg, format!("{arg}: malformed cursor"));
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| malformed())?;
    let data: CursorData = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    if data.f != field_tag(field) {
        return Err(AppError::bad_input(
            arg,
            format!("{arg}: the cursor belongs to another orderBy field"),
        ));
    }
    // Nothing the server encodes holds NUL; PostgreSQL refuses it in text.
    if data.k.contains('\0') {
        return Err(malformed());
    }
    let key = match field {
        // A collation key the server made: hex, bounded (text_keys).
        OrderField::DisplayName => {
            let is_key = data.k.len() <= 2 * crate::domain::text_keys::SORT_KEY_BYTES
                && data
                    .k
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !is_key {
                return Err(malformed());
            }
            SortKey::Text(data.k)
        }
        OrderField::CreatedAt | OrderField::UpdatedAt => SortKey::Time(
            DateTime::parse_from_rfc3339(&data.k)
                .map_err(|_| malformed())?
                .with_timezone(&Utc),
        ),
    };
    Ok(Position {
        field,
        key,
        id: data.i,
    })
}

/// first/last validated against the largest page, `max`: the page size and
/// the paging direction.
pub fn page_size(first: Option<i32>, last: Option<i32>, max: u32) -> Result<(u64, bool), AppError> {
    let check = |arg: &str, n: i32| {
        if n < 0 {
            Err(AppError::bad_input(
                arg,
                format!("{arg}: must not be negative"),
            ))
        } else if n as u32 > max {
            Err(AppError::LimitExceeded(format!(
                "{arg}: at most {max} contacts per page (--max-page-size), {n} asked"
            )))
        } else {
            Ok(n as u64)
        }
    };
    match (first, last) {
        (Some(_), Some(_)) => Err(AppError::bad_input(
            "last",
            "first and last cannot be used together",
        )),
        (Some(n), None) => Ok((check("first", n)?, true)),
        (None, Some(n)) => Ok((check("last", n)?, false)),
        (None, None) => Ok((DEFAULT_PAGE_SIZE.min(max) as u64, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let pos = Position {
            field: OrderField::CreatedAt,
            key: SortKey::Time(DateTime::from_timestamp_millis(1_700_000_000_123).unwrap()),
            id: Uuid::now_v7(),
        };
        let c = encode_cursor(&pos);
        assert_eq!(
            decode_cursor("after", &c, OrderField::CreatedAt).unwrap(),
            pos
        );
        let err = decode_cursor("after", &c, OrderField::DisplayName).unwrap_err();
        assert_eq!(err.field(), Some("after"));
        assert!(decode_cursor("before", "not a cursor", OrderField::CreatedAt).is_err());
        assert!(decode_cursor(
            "before",
            &URL_SAFE_NO_PAD.encode("{}"),
            OrderField::CreatedAt
        )
        .is_err());
    }

    #[test]
    fn page_sizes_follow_the_contract() {
        assert_eq!(page_size(None, None, MAX_PAGE_SIZE).unwrap(), (20, true));
        assert_eq!(
            page_size(Some(100), None, MAX_PAGE_SIZE).unwrap(),
            (100, true)
        );
        assert_eq!(page_size(None, Some(5), MAX_PAGE_SIZE).unwrap(), (5, false));
        assert_eq!(
            page_size(Some(101), None, MAX_PAGE_SIZE)
                .unwrap_err()
                .code(),
            "LIMIT_EXCEEDED"
        );
        assert_eq!(
            page_size(Some(-1), None, MAX_PAGE_SIZE).unwrap_err().code(),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            page_size(Some(1), Some(1), MAX_PAGE_SIZE)
                .unwrap_err()
                .code(),
            "BAD_USER_INPUT"
        );
    }
}

//! Relay connections over a contact's lists that have no bound (`via`,
//! `groupNames`, `conversations`, `mergeHistory` each have a plain field
//! that returns the whole list, and one of these beside it): forward pages
//! (`first`, `after`) in the plain field's order, keyset on that order.

use async_graphql::SimpleObject;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime as ChronoDateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Conversation, Handle, MergeRecord, PageInfo};
use crate::error::AppError;
use crate::service::pages::Page;

/// Largest page of a contact's list, and the default.
pub const MAX_LIST_PAGE: u32 = 1_000;
pub const DEFAULT_LIST_PAGE: u32 = 100;

/// Where a page of a contact's list ends; the cursor's content.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum ListCursor {
    #[serde(rename = "h")]
    Handle(i32, Uuid),
    #[serde(rename = "g")]
    Group(String),
    #[serde(rename = "c")]
    Conversation(ChronoDateTime<Utc>, Uuid),
    #[serde(rename = "m")]
    MergeRecord(ChronoDateTime<Utc>, Uuid),
}

/// A cursor names its contact too: one of another contact's list is refused
/// rather than read as a position in this one.
#[derive(Serialize, Deserialize)]
struct Cursor {
    o: Uuid,
    p: ListCursor,
}

impl ListCursor {
    pub fn encode(self, contact_id: Uuid) -> String {
        let cursor = Cursor {
            o: contact_id,
            p: self,
        };
        // Serialising a tag, a number or text and a UUID cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
    }
}

/// The position `after` names in a list of the kind `pick` accepts (it
/// gives back the position of a cursor of that kind, None for another kind).
pub fn after_of<K>(
    after: Option<String>,
    contact_id: Uuid,
    pick: fn(ListCursor) -> Option<K>,
) -> Result<Option<K>, AppError> {
    let Some(after) = after else {
        return Ok(None);
    };
    let malformed = || AppError::bad_input("after", "after: not a cursor of this list");
    let bytes = URL_SAFE_NO_PAD
        .decode(after.trim())
        .map_err(|_| malformed())?;
    let Cursor { o, p: cursor } = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    if o != contact_id {
        return Err(AppError::bad_input(
            "after",
            "after: a cursor of another contact's list",
        ));
    }
    // A group cursor holds a group name: one line of at most 255
    // characters (PostgreSQL refuses NUL in text; nothing longer exists).
    let bad_name = |name: &str| name.chars().any(char::is_control) || name.chars().count() > 255;
    if matches!(&cursor, ListCursor::Group(name) if bad_name(name)) {
        return Err(malformed());
    }
    pick(cursor).map(Some).ok_or_else(malformed)
}

/// A page's edges, each with the cursor of its row, and its page information.
pub fn edges_of<T, E>(
    page: Page<T>,
    contact_id: Uuid,
    cursor: impl Fn(&T) -> ListCursor,
    edge: impl Fn(String, T) -> E,
) -> (Vec<E>, PageInfo<'static>) {
    let cursors: Vec<String> = page
        .rows
        .iter()
        .map(|row| cursor(row).encode(contact_id))
        .collect();
    let info = PageInfo::forward(&cursors, page.has_next);
    let edges = page
        .rows
        .into_iter()
        .zip(cursors)
        .map(|(row, cursor)| edge(cursor, row))
        .collect();
    (edges, info)
}

/// first: 0..=MAX_LIST_PAGE, DEFAULT_LIST_PAGE when absent.
pub fn list_page_size(first: Option<i32>) -> Result<u64, AppError> {
    match first {
        None => Ok(u64::from(DEFAULT_LIST_PAGE)),
        Some(n) if n < 0 => Err(AppError::bad_input("first", "first: must not be negative")),
        Some(n) if n as u32 > MAX_LIST_PAGE => Err(AppError::TooLarge {
            field: "first".into(),
            message: format!("first: at most {MAX_LIST_PAGE} entries per page, {n} asked"),
        }),
        Some(n) => Ok(n as u64),
    }
}

/// A page of a contact's handles, in `via` order.
#[derive(SimpleObject)]
pub struct HandleConnection {
    /// The handles of the page with their cursors.
    pub edges: Vec<HandleEdge>,
    /// Paging information.
    pub page_info: PageInfo<'static>,
}

/// A handle and its cursor.
#[derive(SimpleObject)]
pub struct HandleEdge {
    /// Opaque cursor of this edge, for `after`.
    pub cursor: String,
    /// The handle.
    pub node: Handle,
}

/// A page of a contact's group names, in name order.
#[derive(SimpleObject)]
pub struct GroupNameConnection {
    /// The group names of the page with their cursors.
    pub edges: Vec<GroupNameEdge>,
    /// Paging information.
    pub page_info: PageInfo<'static>,
}

/// A group name and its cursor.
#[derive(SimpleObject)]
pub struct GroupNameEdge {
    /// Opaque cursor of this edge, for `after`.
    pub cursor: String,
    /// The group's name.
    pub node: String,
}

/// A page of a contact's conversations, oldest first.
#[derive(SimpleObject)]
pub struct ConversationConnection {
    /// The conversations of the page with their cursors.
    pub edges: Vec<ConversationEdge>,
    /// Paging information.
    pub page_info: PageInfo<'static>,
}

/// A conversation and its cursor.
#[derive(SimpleObject)]
pub struct ConversationEdge {
    /// Opaque cursor of this edge, for `after`.
    pub cursor: String,
    /// The conversation.
    pub node: Conversation,
}

/// A page of a contact's merge records, oldest first.
#[derive(SimpleObject)]
pub struct MergeRecordConnection {
    /// The merge records of the page with their cursors.
    pub edges: Vec<MergeRecordEdge>,
    /// Paging information.
    pub page_info: PageInfo<'static>,
}

/// A merge record and its cursor.
#[derive(SimpleObject)]
pub struct MergeRecordEdge {
    /// Opaque cursor of this edge, for `after`.
    pub cursor: String,
    /// The merge record.
    pub node: MergeRecord,
}

//! One page of a contact's list that has no bound: handles and groups
//! united by merges, conversations linked one by one, merge records. Keyset
//! pages on each list's own order, one indexed statement each, so a contact
//! with 20,000 conversations is read a page at a time.

use chrono::{DateTime, Utc};
use entity::{contact_group, contact_group_member, contact_handle, conversation, merge_record};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait,
};
use uuid::Uuid;

use crate::error::AppResult;

/// Rows of one page, and whether more follow.
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_next: bool,
}

impl<T> Page<T> {
    /// No rows (what a caller may not see).
    pub fn empty() -> Self {
        Self {
            rows: Vec::new(),
            has_next: false,
        }
    }

    /// `limit + 1` rows were asked for: the extra one only says more follow.
    fn of(mut rows: Vec<T>, limit: u64) -> Self {
        let has_next = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Self { rows, has_next }
    }
}

/// Handles in `via` order (position, id), after `after`.
pub async fn handles<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    after: Option<(i32, Uuid)>,
    limit: u64,
) -> AppResult<Page<contact_handle::Model>> {
    let mut select =
        contact_handle::Entity::find().filter(contact_handle::Column::ContactId.eq(contact_id));
    if let Some((position, id)) = after {
        select = select.filter(
            Expr::tuple([
                Expr::col(contact_handle::Column::Position),
                Expr::col(contact_handle::Column::Id),
            ])
            .gt(Expr::tuple([Expr::val(position), Expr::val(id)])),
        );
    }
    let rows = select
        .order_by_asc(contact_handle::Column::Position)
        .order_by_asc(contact_handle::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    Ok(Page::of(rows, limit))
}

/// Group names in name order, after `after`.
pub async fn group_names<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    after: Option<String>,
    limit: u64,
) -> AppResult<Page<String>> {
    let mut select = contact_group_member::Entity::find()
        .select_only()
        .column(contact_group::Column::Name)
        .join(
            JoinType::InnerJoin,
            contact_group_member::Relation::Group.def(),
        )
        .filter(contact_group_member::Column::ContactId.eq(contact_id));
    if let Some(name) = after {
        select = select.filter(contact_group::Column::Name.gt(name));
    }
    let rows: Vec<String> = select
        .order_by_asc(contact_group::Column::Name)
        .limit(limit + 1)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(Page::of(rows, limit))
}

/// Conversations oldest first (created_at, id), after `after`.
pub async fn conversations<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<Page<conversation::Model>> {
    let mut select =
        conversation::Entity::find().filter(conversation::Column::ContactId.eq(contact_id));
    if let Some((at, id)) = after {
        select = select.filter(
            Expr::tuple([
                Expr::col(conversation::Column::CreatedAt),
                Expr::col(conversation::Column::Id),
            ])
            .gt(Expr::tuple([Expr::val(at), Expr::val(id)])),
        );
    }
    let rows = select
        .order_by_asc(conversation::Column::CreatedAt)
        .order_by_asc(conversation::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    Ok(Page::of(rows, limit))
}

/// Merge records oldest first (merged_at, id), after `after`.
pub async fn merge_records<C: ConnectionTrait>(
    conn: &C,
    contact_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> AppResult<Page<merge_record::Model>> {
    let mut select =
        merge_record::Entity::find().filter(merge_record::Column::ContactId.eq(contact_id));
    if let Some((at, id)) = after {
        select = select.filter(
            Expr::tuple([
                Expr::col(merge_record::Column::MergedAt),
                Expr::col(merge_record::Column::Id),
            ])
            .gt(Expr::tuple([Expr::val(at), Expr::val(id)])),
        );
    }
    let rows = select
        .order_by_asc(merge_record::Column::MergedAt)
        .order_by_asc(merge_record::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    Ok(Page::of(rows, limit))
}

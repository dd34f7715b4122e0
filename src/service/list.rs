//! Listing contacts: filters, orders and keyset paging on (sort key, id).
//! A page is one indexed range scan, however deep it is; never OFFSET.

use chrono::{DateTime, Utc};
use entity::{contact, contact_group, contact_group_member, contact_handle};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Value,
};
use uuid::Uuid;

use crate::domain::{like_contains_pattern, phone_digits_query, LIKE_ESCAPE};
use crate::error::AppResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderField {
    CreatedAt,
    UpdatedAt,
    DisplayName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    fn reversed(self) -> Self {
        match self {
            Self::Asc => Self::Desc,
            Self::Desc => Self::Asc,
        }
    }
}

/// The value of the order's sort key for one row.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Time(DateTime<Utc>),
    Text(String),
}

/// A position in an order: the sort key and id of a row (which may since
/// have been deleted; the position stays well defined).
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub field: OrderField,
    pub key: SortKey,
    pub id: Uuid,
}

impl Position {
    pub fn of(model: &contact::Model, field: OrderField) -> Self {
        let key = match field {
            OrderField::CreatedAt => SortKey::Time(model.created_at),
            OrderField::UpdatedAt => SortKey::Time(model.updated_at),
            OrderField::DisplayName => SortKey::Text(model.sort_name.clone()),
        };
        Self {
            field,
            key,
            id: model.id,
        }
    }
}

/// Normalised filter; every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    pub search: Option<String>,
    pub source: Option<String>,
    pub group_name: Option<String>,
    pub contact_type: Option<String>,
    pub is_spammer: Option<bool>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

/// Which rows a page wants. `forward`: the first `limit` after `after`;
/// otherwise the last `limit` before `before`.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub filter: ContactFilter,
    pub field: OrderField,
    pub direction: Direction,
    pub after: Option<Position>,
    pub before: Option<Position>,
    pub limit: u64,
    pub forward: bool,
}

pub struct Page {
    /// Rows in the requested order.
    pub rows: Vec<contact::Model>,
    /// Whether more rows exist beyond the page in the paging direction.
    pub has_more: bool,
}

fn sort_column(field: OrderField) -> contact::Column {
    match field {
        OrderField::CreatedAt => contact::Column::CreatedAt,
        OrderField::UpdatedAt => contact::Column::UpdatedAt,
        OrderField::DisplayName => contact::Column::SortName,
    }
}

/// Rows strictly after `pos` when walking in `direction`.
fn beyond(pos: &Position, direction: Direction) -> Condition {
    let row = Expr::tuple([
        Expr::col((contact::Entity, sort_column(pos.field))),
        Expr::col((contact::Entity, contact::Column::Id)),
    ]);
    let key: Value = match &pos.key {
        SortKey::Time(t) => (*t).into(),
        SortKey::Text(s) => s.clone().into(),
    };
    let at = Expr::tuple([Expr::val(key), Expr::val(pos.id)]);
    Condition::all().add(match direction {
        Direction::Asc => row.gt(at),
        Direction::Desc => row.lt(at),
    })
}

fn exists_related(mut sub: SelectStatement, contact_id_col: Expr) -> Expr {
    sub.and_where(contact_id_col.equals((contact::Entity, contact::Column::Id)));
    Expr::exists(sub)
}

fn lower_like(column: impl sea_orm::sea_query::IntoColumnRef, pattern: &str) -> Expr {
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape(LIKE_ESCAPE))
}

fn filter_condition(f: &ContactFilter) -> Condition {
    let mut cond = Condition::all();
    if let Some(search) = f.search.as_deref() {
        let pattern = like_contains_pattern(search);
        let mut handle_match = Condition::any().add(
            Expr::col((contact_handle::Entity, contact_handle::Column::SearchKey))
                .like(LikeExpr::new(&pattern).escape(LIKE_ESCAPE)),
        );
        if let Some(digits) = phone_digits_query(search) {
            handle_match = handle_match.add(
                Expr::col((contact_handle::Entity, contact_handle::Column::SearchKey))
                    .like(LikeExpr::new(like_contains_pattern(&digits)).escape(LIKE_ESCAPE)),
            );
        }
        let handles = Query::select()
            .expr(Expr::val(1))
            .from(contact_handle::Entity)
            .cond_where(handle_match)
            .to_owned();
        cond = cond.add(
            Condition::any()
                .add(lower_like(
                    (contact::Entity, contact::Column::DisplayName),
                    &pattern,
                ))
                .add(lower_like(
                    (contact::Entity, contact::Column::OrganizationName),
                    &pattern,
                ))
                .add(lower_like(
                    (contact::Entity, contact::Column::ExternalId),
                    &pattern,
                ))
                .add(exists_related(
                    handles,
                    Expr::col((contact_handle::Entity, contact_handle::Column::ContactId)),
                )),
        );
    }
    if let Some(source) = f.source.as_deref() {
        let handles = Query::select()
            .expr(Expr::val(1))
            .from(contact_handle::Entity)
            .and_where(
                Expr::col((contact_handle::Entity, contact_handle::Column::Source)).eq(source),
            )
            .to_owned();
        cond = cond.add(exists_related(
            handles,
            Expr::col((contact_handle::Entity, contact_handle::Column::ContactId)),
        ));
    }
    if let Some(group) = f.group_name.as_deref() {
        let members = Query::select()
            .expr(Expr::val(1))
            .from(contact_group_member::Entity)
            .inner_join(
                contact_group::Entity,
                Expr::col((contact_group::Entity, contact_group::Column::Id)).equals((
                    contact_group_member::Entity,
                    contact_group_member::Column::GroupId,
                )),
            )
            .and_where(Expr::col((contact_group::Entity, contact_group::Column::Name)).eq(group))
            .to_owned();
        cond = cond.add(exists_related(
            members,
            Expr::col((
                contact_group_member::Entity,
                contact_group_member::Column::ContactId,
            )),
        ));
    }
    if let Some(t) = f.contact_type.as_deref() {
        cond = cond.add(contact::Column::ContactType.eq(t));
    }
    if let Some(s) = f.is_spammer {
        cond = cond.add(contact::Column::IsSpammer.eq(s));
    }
    if let Some(t) = f.created_after {
        cond = cond.add(contact::Column::CreatedAt.gt(t));
    }
    if let Some(t) = f.created_before {
        cond = cond.add(contact::Column::CreatedAt.lt(t));
    }
    cond
}

/// One page: a single range scan on the (sort key, id) index, one row more
/// than asked to learn whether there are more.
pub async fn page<C: ConnectionTrait>(conn: &C, req: &PageRequest) -> AppResult<Page> {
    // Walking backwards (`last`) reads the order reversed, then flips the rows.
    let walk = if req.forward {
        req.direction
    } else {
        req.direction.reversed()
    };
    let mut query = contact::Entity::find().filter(filter_condition(&req.filter));
    if let Some(after) = &req.after {
        query = query.filter(beyond(after, req.direction));
    }
    if let Some(before) = &req.before {
        query = query.filter(beyond(before, req.direction.reversed()));
    }
    let order = match walk {
        Direction::Asc => Order::Asc,
        Direction::Desc => Order::Desc,
    };
    let mut rows = query
        .order_by(sort_column(req.field), order.clone())
        .order_by(contact::Column::Id, order)
        .limit(req.limit + 1)
        .all(conn)
        .await?;
    let has_more = rows.len() as u64 > req.limit;
    rows.truncate(req.limit as usize);
    if !req.forward {
        rows.reverse();
    }
    Ok(Page { rows, has_more })
}

/// Number of contacts matching the filter.
pub async fn count<C: ConnectionTrait>(conn: &C, filter: &ContactFilter) -> AppResult<u64> {
    Ok(contact::Entity::find()
        .filter(filter_condition(filter))
        .count(conn)
        .await?)
}

/// Whether any matching row lies at or beyond `pos` walking in `direction`
/// (the position's own row counts): tells a page whether it has neighbours
/// on the side it was not paged from.
pub async fn any_from<C: ConnectionTrait>(
    conn: &C,
    filter: &ContactFilter,
    pos: &Position,
    direction: Direction,
) -> AppResult<bool> {
    let not_before = beyond(pos, direction.reversed()).not();
    let found: Option<Uuid> = contact::Entity::find()
        .select_only()
        .column(contact::Column::Id)
        .filter(filter_condition(filter))
        .filter(not_before)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(found.is_some())
}

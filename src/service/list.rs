//! Listing contacts: filters, orders and keyset paging on (sort key, id).
//! A page is one indexed range scan, however deep it is; never OFFSET.

use chrono::{DateTime, Utc};
use entity::{contact, contact_group, contact_group_member, contact_handle};
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, LikeExpr, Query, SelectStatement, UnionType,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Value,
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

/// Where a search looks, one condition on `contacts` each: the folded name,
/// organisation and externalId (`search_text`), and any handle. Both sides
/// are folded in Rust (`text_keys::fold`), so every script matches
/// case-insensitively whatever the database's locale.
fn search_places(search: &str) -> Vec<Condition> {
    let pattern = like_contains_pattern(search);
    let mut places = vec![Condition::all().add(
        Expr::col((contact::Entity, contact::Column::SearchText))
            .like(LikeExpr::new(&pattern).escape(LIKE_ESCAPE)),
    )];
    let handles = Query::select()
        .expr(Expr::val(1))
        .from(contact_handle::Entity)
        .cond_where(handle_match(search, &pattern))
        .to_owned();
    places.push(Condition::all().add(exists_related(
        handles,
        Expr::col((contact_handle::Entity, contact_handle::Column::ContactId)),
    )));
    places
}

/// Contacts whose name, organisation, externalId or any handle contains the
/// search text.
fn search_condition(search: &str, backend: DbBackend) -> Condition {
    let places = search_places(search);
    if backend == DbBackend::Postgres {
        // One branch per place, each answered by its trigram index (see the
        // search migration); an OR across them would read every contact.
        let branches = places.into_iter().map(|place| {
            Query::select()
                .column((contact::Entity, contact::Column::Id))
                .from(contact::Entity)
                .cond_where(place)
                .to_owned()
        });
        return Condition::all()
            .add(Expr::col((contact::Entity, contact::Column::Id)).in_subquery(union(branches)));
    }
    // SQLite has no such index: one pass over the contacts is the cheapest.
    places
        .into_iter()
        .fold(Condition::any(), |any, place| any.add(place))
}

/// Ids of the first `limit` contacts (in the page's order, within `scope`)
/// that match a search, on PostgreSQL: for each place the text may be, the
/// first `limit` matches there, united. The first `limit` of the union are
/// the page. Each branch is planned alone, so the planner walks the order's
/// index while matches are common and uses that place's trigram index when
/// they are rare; a union of all matches would read every match of a common
/// text (thousands) for a page of 20.
fn first_matches(
    search: &str,
    scope: Condition,
    field: contact::Column,
    order: Order,
    limit: u64,
) -> SelectStatement {
    let branches = search_places(search).into_iter().map(|place| {
        Query::select()
            .column((contact::Entity, contact::Column::Id))
            .from(contact::Entity)
            .cond_where(scope.clone().add(place))
            .order_by((contact::Entity, field), order.clone())
            .order_by((contact::Entity, contact::Column::Id), order.clone())
            .limit(limit)
            .to_owned()
    });
    union(branches)
}

/// `SELECT * FROM (b1) UNION SELECT * FROM (b2) ...`: each member wrapped,
/// because a UNION's members may not carry their own ORDER BY and LIMIT
/// unparenthesised.
fn union(branches: impl IntoIterator<Item = SelectStatement>) -> SelectStatement {
    let mut union: Option<SelectStatement> = None;
    for (n, branch) in branches.into_iter().enumerate() {
        let wrapped = Query::select()
            .column(Asterisk)
            .from_subquery(branch, Alias::new(format!("m{n}")))
            .to_owned();
        match union.as_mut() {
            None => union = Some(wrapped),
            Some(u) => {
                u.union(UnionType::Distinct, wrapped);
            }
        }
    }
    // No branches: no ids.
    union.unwrap_or_else(|| {
        Query::select()
            .column((contact::Entity, contact::Column::Id))
            .from(contact::Entity)
            .and_where(Expr::val(false))
            .to_owned()
    })
}

/// Handles whose search key contains the text (or, for a phone-like text,
/// its digits).
fn handle_match(search: &str, pattern: &str) -> Condition {
    let mut any = Condition::any().add(
        Expr::col((contact_handle::Entity, contact_handle::Column::SearchKey))
            .like(LikeExpr::new(pattern).escape(LIKE_ESCAPE)),
    );
    if let Some(digits) = phone_digits_query(search) {
        any = any.add(
            Expr::col((contact_handle::Entity, contact_handle::Column::SearchKey))
                .like(LikeExpr::new(like_contains_pattern(&digits)).escape(LIKE_ESCAPE)),
        );
    }
    any
}

fn filter_condition(f: &ContactFilter, backend: DbBackend) -> Condition {
    let mut cond = Condition::all();
    if let Some(search) = f.search.as_deref() {
        cond = cond.add(search_condition(search, backend));
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
    let backend = conn.get_database_backend();
    let mut window = Condition::all();
    if let Some(after) = &req.after {
        window = window.add(beyond(after, req.direction));
    }
    if let Some(before) = &req.before {
        window = window.add(beyond(before, req.direction.reversed()));
    }
    let order = match walk {
        Direction::Asc => Order::Asc,
        Direction::Desc => Order::Desc,
    };
    let (field, limit) = (sort_column(req.field), req.limit + 1);
    let query = match req.filter.search.as_deref() {
        Some(search) if backend == DbBackend::Postgres => {
            let others = ContactFilter {
                search: None,
                ..req.filter.clone()
            };
            let scope = filter_condition(&others, backend).add(window);
            contact::Entity::find().filter(
                Expr::col((contact::Entity, contact::Column::Id)).in_subquery(first_matches(
                    search,
                    scope,
                    field,
                    order.clone(),
                    limit,
                )),
            )
        }
        _ => contact::Entity::find()
            .filter(filter_condition(&req.filter, backend))
            .filter(window),
    };
    let mut rows = super::contacts::fetch_all(
        conn,
        query
            .order_by(field, order.clone())
            .order_by(contact::Column::Id, order)
            .limit(limit),
    )
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
        .filter(filter_condition(filter, conn.get_database_backend()))
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
        .filter(filter_condition(filter, conn.get_database_backend()))
        .filter(not_before)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(found.is_some())
}

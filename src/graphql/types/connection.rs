use std::sync::Arc;

use async_graphql::{Context, Object};
use entity::contact;

use super::Contact;
use crate::graphql::cost;
use crate::graphql::loader::{preload, Preloaded};
use crate::graphql::pagination::encode_cursor;
use crate::graphql::state::{db_slot, dear_read};
use crate::service::list::{self, ContactFilter, Direction, OrderField, Position};

/// Whether rows exist on one side of a page: known from the page query
/// itself, or to be probed (one indexed LIMIT 1 query) only if selected.
#[derive(Clone)]
pub enum Neighbour {
    Known(bool),
    /// Rows at or beyond this position, walking in this direction?
    Probe(Position, Direction),
}

/// A page of contacts (Relay cursor connection).
pub struct ContactConnection {
    pub rows: Vec<Arc<contact::Model>>,
    pub field: OrderField,
    pub filter: Arc<ContactFilter>,
    pub has_previous: Neighbour,
    pub has_next: Neighbour,
}

/// An edge of a contact connection.
pub struct ContactEdge {
    model: Arc<contact::Model>,
    field: OrderField,
    preloaded: Preloaded,
}

/// A contact and its cursor, in a page of `contacts`.
#[Object]
impl ContactEdge {
    /// The contact.
    async fn node(&self) -> Contact {
        Contact::new(self.model.clone(), self.preloaded.clone())
    }

    /// Opaque cursor of this edge, for after/before.
    async fn cursor(&self) -> String {
        encode_cursor(&Position::of(&self.model, self.field))
    }
}

/// A page of contacts (a Relay cursor connection): keyset-paged on
/// (sort key, id), so pages stay correct while contacts are written.
#[Object]
impl ContactConnection {
    /// The contacts of the page with their cursors.
    async fn edges(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ContactEdge>> {
        let _slot = db_slot(ctx).await?;
        let preloaded = preload(ctx, ctx.look_ahead().field("node"), &self.rows).await?;
        Ok(self
            .rows
            .iter()
            .map(|model| ContactEdge {
                model: model.clone(),
                field: self.field,
                preloaded: preloaded.clone(),
            })
            .collect())
    }

    /// The contacts of the page.
    async fn nodes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Contact>> {
        let _slot = db_slot(ctx).await?;
        let preloaded = preload(ctx, ctx.look_ahead(), &self.rows).await?;
        Ok(self
            .rows
            .iter()
            .map(|model| Contact::new(model.clone(), preloaded.clone()))
            .collect())
    }

    /// Paging information.
    async fn page_info(&self) -> PageInfo<'_> {
        PageInfo::Contacts(self)
    }

    /// Number of contacts matching the filter, ignoring pagination.
    #[graphql(complexity = "cost::COUNT")]
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let (db, _slot) = db_slot(ctx).await?;
        let _dear = dear_read(ctx).await?;
        let n = list::count(db, &self.filter).await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

/// Relay page information, of a page of contacts or of a contact's list.
pub enum PageInfo<'a> {
    /// A page of contacts: its neighbours are probed only when asked.
    Contacts(&'a ContactConnection),
    /// A page whose extent its query told.
    Known {
        has_previous: bool,
        has_next: bool,
        start: Option<String>,
        end: Option<String>,
    },
}

impl PageInfo<'_> {
    /// A page read forward from `after` whose cursors are `cursors` in
    /// order: Relay allows hasPreviousPage false when paging forward.
    pub fn forward<'c>(cursors: impl IntoIterator<Item = &'c String>, has_next: bool) -> Self {
        let mut cursors = cursors.into_iter();
        let start = cursors.next().cloned();
        let end = cursors.last().cloned().or_else(|| start.clone());
        PageInfo::Known {
            has_previous: false,
            has_next,
            start,
            end,
        }
    }

    async fn resolve(
        ctx: &Context<'_>,
        connection: &ContactConnection,
        n: &Neighbour,
    ) -> async_graphql::Result<bool> {
        match n {
            Neighbour::Known(b) => Ok(*b),
            Neighbour::Probe(pos, dir) => {
                let (db, _slot) = db_slot(ctx).await?;
                let _dear = match connection.filter.search {
                    Some(_) => Some(dear_read(ctx).await?),
                    None => None,
                };
                Ok(list::any_from(db, &connection.filter, pos, *dir).await?)
            }
        }
    }

    fn cursor(
        connection: &ContactConnection,
        model: Option<&Arc<contact::Model>>,
    ) -> Option<String> {
        model.map(|m| encode_cursor(&Position::of(m, connection.field)))
    }
}

/// Where a page sits in its list (Relay): whether more rows exist
/// before or after it, and the cursors at its two ends.
#[Object]
impl PageInfo<'_> {
    /// Whether rows exist before this page.
    async fn has_previous_page(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        match self {
            Self::Contacts(c) => Self::resolve(ctx, c, &c.has_previous).await,
            Self::Known { has_previous, .. } => Ok(*has_previous),
        }
    }

    /// Whether rows exist after this page.
    async fn has_next_page(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        match self {
            Self::Contacts(c) => Self::resolve(ctx, c, &c.has_next).await,
            Self::Known { has_next, .. } => Ok(*has_next),
        }
    }

    /// Cursor of the first edge.
    async fn start_cursor(&self) -> Option<String> {
        match self {
            Self::Contacts(c) => Self::cursor(c, c.rows.first()),
            Self::Known { start, .. } => start.clone(),
        }
    }

    /// Cursor of the last edge.
    async fn end_cursor(&self) -> Option<String> {
        match self {
            Self::Contacts(c) => Self::cursor(c, c.rows.last()),
            Self::Known { end, .. } => end.clone(),
        }
    }
}

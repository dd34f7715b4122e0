use std::sync::Arc;

use async_graphql::{Context, Object, ID};

use crate::domain::{check_filter_text, normalize_handle, normalize_source};

/// Longest externalId a lookup may name: none longer can be stored.
const MAX_EXTERNAL_ID_CHARS: usize = 1_000;
use crate::error::AppError;
use crate::graphql::cost;
use crate::graphql::ids::parse_uuid;
use crate::graphql::input::{ContactFilter, ContactOrder, HandleInput};
use crate::graphql::pagination::{decode_cursor, page_size};
use crate::graphql::state::{ctx_state, db_slot, dear_read};
use crate::graphql::types::{
    Contact, ContactConnection, ContactType, Conversation, Neighbour, Node,
};
use crate::service::list::{self, Direction, OrderField, PageRequest};
use crate::service::{contacts, merge, relations};

#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    /// Fetches a contact or conversation by id (Relay object identification).
    #[graphql(complexity = "cost::STATEMENT + child_complexity")]
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id: a contact's or a conversation's UUID.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        let id = parse_uuid("id", &id)?;
        let (db, _slot) = db_slot(ctx).await?;
        if let Some(contact) = merge::resolve(db, id).await? {
            return Ok(Some(Node::Contact(contact.into())));
        }
        let mut found = relations::conversations_by_id(db, &[id]).await?;
        Ok(found
            .remove(&id)
            .map(|c| Node::Conversation(Conversation::from(c))))
    }

    /// Exactly one selector must be given. An id of a contact that was merged away
    /// resolves to the contact it was merged into (following chains).
    #[graphql(complexity = "cost::STATEMENT + child_complexity")]
    async fn contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "UUID of the contact (a merged-away id resolves to its survivor).")]
        id: Option<ID>,
        #[graphql(desc = "UUID of a conversation: its contact.")] conversation_id: Option<ID>,
        #[graphql(
            desc = "A handle (source and value, normalised as on writes): the contact holding it."
        )]
        handle: Option<HandleInput>,
        #[graphql(desc = "The customer's own identifier (`externalId`).")] external_id: Option<
            String,
        >,
    ) -> async_graphql::Result<Option<Contact>> {
        let given = [
            id.is_some(),
            conversation_id.is_some(),
            handle.is_some(),
            external_id.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(AppError::bad_input(
                "id",
                "give exactly one of id, conversationId, handle, externalId",
            )
            .into());
        }
        let state = ctx_state(ctx)?;
        let (db, _slot) = db_slot(ctx).await?;
        let found = if let Some(id) = id {
            merge::resolve(db, parse_uuid("id", &id)?).await?
        } else if let Some(conversation_id) = conversation_id {
            contacts::find_by_conversation(db, parse_uuid("conversationId", &conversation_id)?)
                .await?
        } else if let Some(handle) = handle {
            let source = normalize_source("handle.source", &handle.source)?;
            let handle = normalize_handle(
                &state.rules,
                "handle.handle",
                &source,
                &handle.handle,
                handle.extension.as_deref(),
            )?;
            contacts::find_by_handle(db, &handle).await?
        } else if let Some(external_id) = external_id {
            check_filter_text("externalId", &external_id, MAX_EXTERNAL_ID_CHARS)?;
            contacts::find_by_external_id(db, external_id.trim()).await?
        } else {
            None
        };
        Ok(found.map(Contact::from))
    }

    /// Relay cursor connection. first/last default 20, at most 100 (else
    /// LIMIT_EXCEEDED); negative values, or first and last together, are
    /// BAD_USER_INPUT. Cursors are opaque; a malformed cursor is BAD_USER_INPUT.
    /// Paging stays correct while rows are inserted or deleted concurrently, and a
    /// page deep in a large table costs about the same as the first page.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Contacts after `after`: 0 to --max-page-size (100 by default; LIMIT_EXCEEDED beyond); 20 when neither first nor last is given."
        )]
        first: Option<i32>,
        #[graphql(desc = "An `endCursor` (or edge `cursor`) of the same order and filter.")]
        after: Option<String>,
        #[graphql(
            desc = "Contacts before `before`: 0 to --max-page-size; not together with `first`."
        )]
        last: Option<i32>,
        #[graphql(desc = "A `startCursor` (or edge `cursor`) of the same order and filter.")]
        before: Option<String>,
        #[graphql(desc = "Only contacts matching every condition given; absent: all.")]
        filter: Option<ContactFilter>,
        #[graphql(
            desc = "Sort key and direction; default createdAt ascending. Ties are broken by id."
        )]
        order_by: Option<ContactOrder>,
    ) -> async_graphql::Result<ContactConnection> {
        let (limit, forward) = page_size(first, last, ctx_state(ctx)?.max_page_size)?;
        let order = order_by.unwrap_or_default();
        let field = OrderField::from(order.field);
        let direction = Direction::from(order.direction);
        let after = after
            .map(|c| decode_cursor("after", &c, field))
            .transpose()?;
        let before = before
            .map(|c| decode_cursor("before", &c, field))
            .transpose()?;
        let filter = Arc::new(filter.unwrap_or_default().into_domain()?);
        let req = PageRequest {
            filter: (*filter).clone(),
            field,
            direction,
            after: after.clone(),
            before: before.clone(),
            limit,
            forward,
        };
        let page = {
            let (db, _slot) = db_slot(ctx).await?;
            let _dear = match req.filter.search {
                Some(_) => Some(dear_read(ctx).await?),
                None => None,
            };
            list::page(db, &req).await?
        };
        // The side the page was walked towards is known from its extra row;
        // the other side is probed only if the client asks.
        let (has_previous, has_next) = if forward {
            let prev = after.map_or(Neighbour::Known(false), |p| {
                Neighbour::Probe(p, reverse(direction))
            });
            (prev, Neighbour::Known(page.has_more))
        } else {
            let next = before.map_or(Neighbour::Known(false), |p| Neighbour::Probe(p, direction));
            (Neighbour::Known(page.has_more), next)
        };
        Ok(ContactConnection {
            rows: page.rows.into_iter().map(Arc::new).collect(),
            field,
            filter,
            has_previous,
            has_next,
        })
    }

    /// The kinds of contact offered to users (configured with --contact-types).
    async fn contact_types(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ContactType>> {
        Ok(ctx_state(ctx)?
            .rules
            .contact_types
            .iter()
            .map(|t| ContactType {
                value: t.value.clone(),
                display: t.display.clone(),
            })
            .collect())
    }
}

fn reverse(d: Direction) -> Direction {
    match d {
        Direction::Asc => Direction::Desc,
        Direction::Desc => Direction::Asc,
    }
}

/// A page costs its statement plus its rows times what each row selects.
fn page_complexity(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    // Sizes beyond --max-page-size fail in the resolver; this only has to
    // stay finite.
    let rows = first.or(last).map_or(
        crate::graphql::pagination::DEFAULT_PAGE_SIZE as i64,
        i64::from,
    );
    let rows = rows.clamp(1, crate::graphql::pagination::PAGE_SIZE_CEILING.into()) as usize;
    cost::STATEMENT.saturating_add(rows.saturating_mul(child))
}

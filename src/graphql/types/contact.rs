use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Object, SimpleObject, ID};
use entity::{contact, contact_handle};

use super::list_pages::{
    after_of, edges_of, list_page_size, ConversationConnection, ConversationEdge,
    GroupNameConnection, GroupNameEdge, HandleConnection, HandleEdge, ListCursor,
    MergeRecordConnection, MergeRecordEdge,
};
use super::{ContactChangeConnection, Conversation, DateTime, JsonObject, MergeRecord};
use crate::graphql::access::Principal;
use crate::graphql::cost;
use crate::graphql::loader::{
    loaders, ConversationsOf, DbLoader, GroupNamesOf, HandlesOf, MergeRecordsOf, MetadataOf,
    Preloaded,
};
use crate::graphql::state::db_slot;
use crate::service::{changes, pages};

/// A person or organisation the business talks to, across every channel.
pub struct Contact {
    /// Shared with the page's edge and node lists, not copied for each.
    model: Arc<contact::Model>,
    /// Relations a page loaded for all its rows at once; the rest come
    /// through the DataLoader.
    preloaded: Preloaded,
}

impl Contact {
    pub fn new(model: impl Into<Arc<contact::Model>>, preloaded: Preloaded) -> Self {
        Self {
            model: model.into(),
            preloaded,
        }
    }

    /// A preloaded relation, or the DataLoader's answer for this contact.
    async fn relation<K, V>(
        &self,
        ctx: &Context<'_>,
        preloaded: Option<V>,
        key: K,
    ) -> async_graphql::Result<V>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        DbLoader: Loader<K, Value = V, Error = async_graphql::Error>,
        V: Clone + Default,
    {
        if let Some(v) = preloaded {
            return Ok(v);
        }
        Ok(loaders(ctx)?.load_one(key).await?.unwrap_or_default())
    }
}

/// Whether the caller is the identity-verified visitor, who may read its own
/// contact's fields but nothing that belongs to, or came from, another.
fn is_visitor(ctx: &Context<'_>) -> bool {
    ctx.data_opt::<Principal>() == Some(&Principal::Visitor)
}

impl From<contact::Model> for Contact {
    fn from(model: contact::Model) -> Self {
        Self::new(model, Preloaded::default())
    }
}

/// A person or organisation the business talks to, across every channel:
/// its fields, the handles it is reached by (`via`), its groups, metadata,
/// conversations and merge history.
#[Object]
impl Contact {
    /// UUID of the contact (time-ordered v7).
    pub async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    /// Name shown for the contact.
    async fn display_name(&self) -> Option<&str> {
        self.model.display_name.as_deref()
    }

    /// URL of the contact's picture.
    async fn avatar_url(&self) -> Option<&str> {
        self.model.avatar_url.as_deref()
    }

    /// Job title.
    async fn title(&self) -> Option<&str> {
        self.model.title.as_deref()
    }

    /// IANA zone name (Europe/Berlin) or UTC offset (+02:00); validated.
    async fn timezone(&self) -> Option<&str> {
        self.model.timezone.as_deref()
    }

    /// Gender, free text (female, male or any other value).
    async fn gender(&self) -> Option<&str> {
        self.model.gender.as_deref()
    }

    /// BCP 47 tag such as en_US or en-US; validated.
    async fn locale(&self) -> Option<&str> {
        self.model.locale.as_deref()
    }

    /// Organisation the contact belongs to.
    async fn organization_name(&self) -> Option<&str> {
        self.model.organization_name.as_deref()
    }

    /// Free-text description.
    async fn description(&self) -> Option<&str> {
        self.model.description.as_deref()
    }

    /// One of the values of Query.contactTypes. Defaults to "contact".
    async fn contact_type(&self) -> &str {
        &self.model.contact_type
    }

    /// Whether the contact is marked as a spammer.
    async fn is_spammer(&self) -> bool {
        self.model.is_spammer
    }

    /// The customer's own identifier for this person (Chatwoot 'identifier'). Unique when set.
    async fn external_id(&self) -> Option<&str> {
        self.model.external_id.as_deref()
    }

    /// Groups the contact belongs to, sorted by name; unknown groups are created on first use.
    async fn group_names(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        self.relation(
            ctx,
            self.preloaded.group_names.get(&self.model.id),
            GroupNamesOf(self.model.id),
        )
        .await
    }

    /// Links (URLs) of the contact, in the order they were given.
    async fn links(&self) -> Vec<String> {
        self.model
            .links
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Where the contact can be reached (Airy 'via', Front handles). A (source, handle)
    /// pair belongs to at most one contact.
    async fn via(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Handle>> {
        Ok(self
            .relation(
                ctx,
                self.preloaded.via.get(&self.model.id),
                HandlesOf(self.model.id),
            )
            .await?
            .into_iter()
            .map(Handle::from)
            .collect())
    }

    /// Postal address; null when no part of it is set.
    async fn address(&self) -> Option<Address> {
        let m = &self.model;
        let address = Address {
            organization_name: m.address_organization_name.clone(),
            address_line1: m.address_line1.clone(),
            address_line2: m.address_line2.clone(),
            postcode: m.address_postcode.clone(),
            city: m.address_city.clone(),
            state: m.address_state.clone(),
            country: m.address_country.clone(),
        };
        (address != Address::default()).then_some(address)
    }

    /// Free-form attributes (Airy metadata, Front custom_fields, Chatwoot
    /// custom_attributes). Nested objects allowed, arrays rejected.
    async fn metadata(&self, ctx: &Context<'_>) -> async_graphql::Result<JsonObject> {
        let map = self
            .relation(
                ctx,
                self.preloaded.metadata.get(&self.model.id),
                MetadataOf(self.model.id),
            )
            .await?;
        Ok(JsonObject(serde_json::Value::Object(map)))
    }

    /// Conversations tied to the contact, oldest first. Empty for a caller
    /// without a token (the identity-verified visitor): see README, Security.
    async fn conversations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Conversation>> {
        if is_visitor(ctx) {
            return Ok(Vec::new());
        }
        Ok(self
            .relation(
                ctx,
                self.preloaded.conversations.get(&self.model.id),
                ConversationsOf(self.model.id),
            )
            .await?
            .into_iter()
            .map(Conversation::from)
            .collect())
    }

    /// Snapshots of every contact merged into this one, oldest first. Empty
    /// for a caller without a token: the snapshots are other contacts' data.
    async fn merge_history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MergeRecord>> {
        if is_visitor(ctx) {
            return Ok(Vec::new());
        }
        Ok(self
            .relation(
                ctx,
                self.preloaded.merge_history.get(&self.model.id),
                MergeRecordsOf(self.model.id),
            )
            .await?
            .into_iter()
            .map(MergeRecord::from)
            .collect())
    }

    /// `via` a page at a time, in the same order: a contact may hold any
    /// number of handles (merges unite them). `first`: 0 to 1,000, default
    /// 100 (LIMIT_EXCEEDED beyond); `after`: an `endCursor` of this list.
    #[graphql(complexity = "cost::STATEMENT + child_complexity")]
    async fn via_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Entries in the page: 0 to 1,000 (LIMIT_EXCEEDED beyond); default 100.")]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor: an `endCursor` (or edge `cursor`) of this same list; absent: from the start."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<HandleConnection> {
        let limit = list_page_size(first)?;
        let after = after_of(after, self.model.id, |c| match c {
            ListCursor::Handle(position, id) => Some((position, id)),
            _ => None,
        })?;
        let (db, _slot) = db_slot(ctx).await?;
        let page = pages::handles(db, self.model.id, after, limit).await?;
        let (edges, page_info) = edges_of(
            page,
            self.model.id,
            |h| ListCursor::Handle(h.position, h.id),
            |cursor, h| HandleEdge {
                cursor,
                node: Handle::from(h),
            },
        );
        Ok(HandleConnection { edges, page_info })
    }

    /// `groupNames` a page at a time, in the same order (merges unite
    /// groups). `first`: 0 to 1,000, default 100; `after`: an `endCursor`.
    #[graphql(complexity = "cost::STATEMENT + child_complexity")]
    async fn group_names_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Entries in the page: 0 to 1,000 (LIMIT_EXCEEDED beyond); default 100.")]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor: an `endCursor` (or edge `cursor`) of this same list; absent: from the start."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<GroupNameConnection> {
        let limit = list_page_size(first)?;
        let after = after_of(after, self.model.id, |c| match c {
            ListCursor::Group(name) => Some(name),
            _ => None,
        })?;
        let (db, _slot) = db_slot(ctx).await?;
        let page = pages::group_names(db, self.model.id, after, limit).await?;
        let (edges, page_info) = edges_of(
            page,
            self.model.id,
            |name| ListCursor::Group(name.clone()),
            |cursor, node| GroupNameEdge { cursor, node },
        );
        Ok(GroupNameConnection { edges, page_info })
    }

    /// `conversations` a page at a time, oldest first: conversations linked
    /// one by one have no bound. No edges for a caller without a token, as
    /// `conversations`. `first`: 0 to 1,000, default 100; `after`: an `endCursor`.
    #[graphql(complexity = "cost::STATEMENT + child_complexity")]
    async fn conversations_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Entries in the page: 0 to 1,000 (LIMIT_EXCEEDED beyond); default 100.")]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor: an `endCursor` (or edge `cursor`) of this same list; absent: from the start."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<ConversationConnection> {
        let limit = list_page_size(first)?;
        let after = after_of(after, self.model.id, |c| match c {
            ListCursor::Conversation(at, id) => Some((at, id)),
            _ => None,
        })?;
        let page = if is_visitor(ctx) {
            pages::Page::empty()
        } else {
            let (db, _slot) = db_slot(ctx).await?;
            pages::conversations(db, self.model.id, after, limit).await?
        };
        let (edges, page_info) = edges_of(
            page,
            self.model.id,
            |c| ListCursor::Conversation(c.created_at, c.id),
            |cursor, c| ConversationEdge {
                cursor,
                node: Conversation::from(c),
            },
        );
        Ok(ConversationConnection { edges, page_info })
    }

    /// `mergeHistory` a page at a time, oldest first. No edges for a caller
    /// without a token, as `mergeHistory`. `first`: 0 to 1,000, default
    /// 100; `after`: an `endCursor`.
    #[graphql(complexity = "cost::STATEMENT + child_complexity")]
    async fn merge_history_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Entries in the page: 0 to 1,000 (LIMIT_EXCEEDED beyond); default 100.")]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor: an `endCursor` (or edge `cursor`) of this same list; absent: from the start."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<MergeRecordConnection> {
        let limit = list_page_size(first)?;
        let after = after_of(after, self.model.id, |c| match c {
            ListCursor::MergeRecord(at, id) => Some((at, id)),
            _ => None,
        })?;
        let page = if is_visitor(ctx) {
            pages::Page::empty()
        } else {
            let (db, _slot) = db_slot(ctx).await?;
            pages::merge_records(db, self.model.id, after, limit).await?
        };
        let (edges, page_info) = edges_of(
            page,
            self.model.id,
            |m| ListCursor::MergeRecord(m.merged_at, m.id),
            |cursor, m| MergeRecordEdge {
                cursor,
                node: MergeRecord::from(m),
            },
        );
        Ok(MergeRecordConnection { edges, page_info })
    }

    /// This contact's change history, oldest first: who changed what, when
    /// and through what, value by value (old -> new), including the history
    /// of the contacts merged into it. Applying the changes in order from
    /// nothing gives the contact's current state, as far back as the log
    /// keeps (--change-retention-days). Empty for a caller without a token.
    /// `first`: 0 to 1,000, default 100; `after`: an edge's `cursor`.
    #[graphql(complexity = "cost::log_page(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Entries in the page: 0 to 1,000 (LIMIT_EXCEEDED beyond); default 100.")]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this change-log cursor (an edge `cursor` of `history` or `contactChanges`, or a `contactEvents` event `cursor`); absent: from the oldest entry kept. CURSOR_EXPIRED once retention purged it."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<ContactChangeConnection> {
        let limit = list_page_size(first)?;
        if is_visitor(ctx) {
            return Ok(ContactChangeConnection::of(Default::default(), limit));
        }
        let (db, _slot) = db_slot(ctx).await?;
        let after = changes::resume_after(db, "after", after.as_deref()).await?;
        let ids = changes::history_ids(db, self.model.id).await?;
        let batch = changes::read_history(
            db,
            &ids,
            after.unwrap_or(changes::Position::START),
            limit + 1,
        )
        .await?;
        Ok(ContactChangeConnection::of(batch, limit))
    }

    /// When the contact was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.model.created_at)
    }

    /// When the contact or anything attached to it last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.model.updated_at)
    }
}

/// A channel address. source is lower-case [a-z0-9_.-]+ such as phone, email,
/// twitter, facebook, intercom, front_chat or custom. Known sources are validated
/// and normalised: phone, sms and whatsapp as libphonenumber reads them, to
/// E.164 (+12345678900; a number written without its country code is read in
/// the server's default region; "(0)" trunk forms, international prefixes and
/// RFC 3966 tel: URIs are understood; an extension goes to `extension`),
/// email trimmed and lower-cased, twitter with a leading @. The same
/// normalisation applies wherever a handle appears (writes, lookups,
/// createOrUpdate matching, import), so "+1 (617) 253-1000" finds the contact
/// stored as +16172531000.
#[derive(SimpleObject)]
pub struct Handle {
    /// Channel, e.g. phone, email, twitter, facebook.
    pub source: String,
    /// The normalised address on that channel: for phones the number alone,
    /// in E.164 (+16172531000), its extension in `extension`.
    pub handle: String,
    /// A phone's extension (digits), or null: `+16172531000` with extension
    /// `201` is the RFC 3966 `tel:+16172531000;ext=201`.
    pub extension: Option<String>,
    /// True when a token holder wrote the handle; false when a visitor
    /// (identity-verified createOrUpdateContact without a token) set it and
    /// no token holder has written it since. A token holder's write naming a
    /// handle another contact holds unverified takes it over (recorded)
    /// instead of matching that contact.
    pub verified: bool,
}

impl From<contact_handle::Model> for Handle {
    fn from(h: contact_handle::Model) -> Self {
        Self {
            extension: h.extension().map(str::to_owned),
            handle: h.e164_or_handle().to_owned(),
            source: h.source,
            verified: h.verified,
        }
    }
}

/// A postal address.
#[derive(SimpleObject, Default, PartialEq)]
pub struct Address {
    /// Organisation at the address.
    pub organization_name: Option<String>,
    /// First address line.
    pub address_line1: Option<String>,
    /// Second address line.
    pub address_line2: Option<String>,
    /// Postal code.
    pub postcode: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or region.
    pub state: Option<String>,
    /// Country.
    pub country: Option<String>,
}

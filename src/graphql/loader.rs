//! DataLoaders: whatever hangs off a page of contacts costs one `IN (...)`
//! query per relation, never one per contact.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Lookahead};
use entity::{contact, contact_handle, conversation, merge_record};
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::AppError;
use crate::service::{contacts, relations};

/// Loads relations of contacts; one loader, one key type per relation.
pub struct DbLoader {
    db: DatabaseConnection,
}

pub type Loaders = DataLoader<DbLoader>;

impl DbLoader {
    /// The loader the schema carries. No cache: a loader lives as long as the
    /// schema, so it only batches the keys asked for at the same moment.
    pub fn new_loader(db: DatabaseConnection) -> Loaders {
        DataLoader::new(Self { db }, tokio::spawn)
    }
}

/// The request's loader (registered by the schema builder).
pub fn loaders<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Loaders> {
    ctx.data::<Loaders>()
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HandlesOf(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MetadataOf(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupNamesOf(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConversationsOf(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MergeRecordsOf(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContactById(pub Uuid);

fn to_gql(e: AppError) -> async_graphql::Error {
    e.into()
}

/// Implements `Loader<$key>` by calling a batched service function that
/// returns a map keyed by contact id.
macro_rules! relation_loader {
    ($key:ident, $value:ty, $fetch:path) => {
        impl Loader<$key> for DbLoader {
            type Value = $value;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let found = $fetch(&self.db, &ids).await.map_err(to_gql)?;
                Ok(found.into_iter().map(|(id, v)| ($key(id), v)).collect())
            }
        }
    };
}

relation_loader!(
    HandlesOf,
    Vec<contact_handle::Model>,
    relations::handles_for
);
relation_loader!(MetadataOf, Map<String, Value>, relations::metadata_for);
relation_loader!(GroupNamesOf, Vec<String>, relations::group_names_for);
relation_loader!(
    ConversationsOf,
    Vec<conversation::Model>,
    relations::conversations_for
);
relation_loader!(
    MergeRecordsOf,
    Vec<merge_record::Model>,
    relations::merge_records_for
);

impl Loader<ContactById> for DbLoader {
    type Value = contact::Model;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[ContactById],
    ) -> Result<HashMap<ContactById, contact::Model>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = contacts::get_many(&self.db, &ids).await.map_err(to_gql)?;
        Ok(found.into_iter().map(|m| (ContactById(m.id), m)).collect())
    }
}

/// One relation's values for every row of a page; empty when the page did
/// not select that relation.
#[derive(Clone)]
pub struct Batch<V>(Option<Arc<HashMap<Uuid, V>>>);

impl<V> Default for Batch<V> {
    fn default() -> Self {
        Self(None)
    }
}

impl<V> Batch<V> {
    /// One contact's value, known already (a merge preview's, read in a
    /// transaction that is gone by the time fields resolve).
    pub fn one(id: Uuid, value: V) -> Self {
        Self(Some(Arc::new(HashMap::from([(id, value)]))))
    }
}

impl<V: Clone + Default> Batch<V> {
    /// `None` when not preloaded; a row without values gets the empty value.
    pub fn get(&self, id: &Uuid) -> Option<V> {
        self.0
            .as_ref()
            .map(|m| m.get(id).cloned().unwrap_or_default())
    }
}

/// The relations a page of contacts preloaded.
#[derive(Clone, Default)]
pub struct Preloaded {
    pub via: Batch<Vec<contact_handle::Model>>,
    pub metadata: Batch<Map<String, Value>>,
    pub group_names: Batch<Vec<String>>,
    pub conversations: Batch<Vec<conversation::Model>>,
    pub merge_history: Batch<Vec<merge_record::Model>>,
}

/// Loads `key`'s relation for all `ids` in one batch, if `selection` asks for it.
async fn batch<K, V>(
    loader: &Loaders,
    selection: &Lookahead<'_>,
    field: &str,
    ids: &[Uuid],
    key: fn(Uuid) -> K,
    id_of: fn(&K) -> Uuid,
) -> async_graphql::Result<Batch<V>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    DbLoader: Loader<K, Value = V, Error = async_graphql::Error>,
{
    if ids.is_empty() || !selection.field(field).exists() {
        return Ok(Batch(None));
    }
    let found = loader.load_many(ids.iter().copied().map(key)).await?;
    Ok(Batch(Some(Arc::new(
        found.into_iter().map(|(k, v)| (id_of(&k), v)).collect(),
    ))))
}

/// Loads, for a page of contacts, each relation the query selects on them
/// with a single batch each, so that the page costs the same number of
/// statements whatever its size (the DataLoader's time window alone would
/// split a large page into several batches).
pub async fn preload(
    ctx: &Context<'_>,
    selection: Lookahead<'_>,
    rows: &[impl Borrow<contact::Model>],
) -> async_graphql::Result<Preloaded> {
    let loader = loaders(ctx)?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.borrow().id).collect();
    let (via, metadata, group_names, conversations, merge_history) = futures_util::try_join!(
        batch(loader, &selection, "via", &ids, HandlesOf, |k| k.0),
        batch(loader, &selection, "metadata", &ids, MetadataOf, |k| k.0),
        batch(loader, &selection, "groupNames", &ids, GroupNamesOf, |k| k
            .0),
        batch(
            loader,
            &selection,
            "conversations",
            &ids,
            ConversationsOf,
            |k| k.0
        ),
        batch(
            loader,
            &selection,
            "mergeHistory",
            &ids,
            MergeRecordsOf,
            |k| k.0
        ),
    )?;
    Ok(Preloaded {
        via,
        metadata,
        group_names,
        conversations,
        merge_history,
    })
}

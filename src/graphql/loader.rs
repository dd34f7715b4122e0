//! DataLoaders: whatever hangs off a page of contacts costs one `IN (...)`
//! query per relation, never one per contact.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::Context;
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

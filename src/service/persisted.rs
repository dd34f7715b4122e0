//! Registered documents (`contacts-api documents register`): what the
//! trusted-documents mode runs, and where every replica finds a persisted
//! query's text by its hash (graphql/persisted.rs keeps a bounded cache of
//! them in memory).

use entity::trusted_document;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::{begin_write, chunk_len, columns_of, finish, now};
use crate::domain::persisted::ManifestDocument;
use crate::error::AppResult;

/// How a registration went: documents new to the table, and those it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    pub added: usize,
    pub known: usize,
}

/// Registers `documents` in one transaction (all or none); a document
/// registered before is left as it was.
pub async fn register(
    db: &DatabaseConnection,
    documents: &[ManifestDocument],
) -> AppResult<Registered> {
    let txn = begin_write(db).await?;
    let result = insert_new(&txn, documents).await;
    let added = finish(txn, result).await?;
    Ok(Registered {
        added,
        known: documents.len() - added,
    })
}

async fn insert_new<C: ConnectionTrait>(
    conn: &C,
    documents: &[ManifestDocument],
) -> AppResult<usize> {
    let mut added = 0;
    let rows = chunk_len(
        conn.get_database_backend(),
        columns_of::<trusted_document::Entity>(),
    );
    let at = now();
    for chunk in documents.chunks(rows) {
        let models = chunk.iter().map(|d| trusted_document::ActiveModel {
            hash: Set(d.hash.clone()),
            body: Set(d.body.clone()),
            name: Set(d.name.clone()),
            created_at: Set(at),
        });
        let inserted = trusted_document::Entity::insert_many(models)
            .on_conflict(
                OnConflict::column(trusted_document::Column::Hash)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
        added += inserted as usize;
    }
    Ok(added)
}

/// The registered document whose text hashes to `hash`, if any.
pub async fn find<C: ConnectionTrait>(conn: &C, hash: &str) -> AppResult<Option<String>> {
    Ok(trusted_document::Entity::find()
        .filter(trusted_document::Column::Hash.eq(hash))
        .one(conn)
        .await?
        .map(|d| d.body))
}

/// Every registered document, by hash.
pub async fn list<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<trusted_document::Model>> {
    Ok(trusted_document::Entity::find().all(conn).await?)
}

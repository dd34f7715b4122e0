//! Reading and writing single contacts.

use entity::{contact, contact_handle, conversation};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::events::{ContactEvent, EventBus, EventKind};
use super::{begin_write, finish, now, write};
use crate::domain::{ContactChanges, NormalizedHandle};
use crate::error::{AppError, AppResult};

pub async fn get<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<Option<contact::Model>> {
    Ok(contact::Entity::find_by_id(id).one(conn).await?)
}

pub async fn get_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> AppResult<Vec<contact::Model>> {
    Ok(contact::Entity::find()
        .filter(contact::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

pub async fn find_by_external_id<C: ConnectionTrait>(
    conn: &C,
    external_id: &str,
) -> AppResult<Option<contact::Model>> {
    Ok(contact::Entity::find()
        .filter(contact::Column::ExternalId.eq(external_id))
        .one(conn)
        .await?)
}

pub async fn find_by_handle<C: ConnectionTrait>(
    conn: &C,
    handle: &NormalizedHandle,
) -> AppResult<Option<contact::Model>> {
    let owner = Query::select()
        .column(contact_handle::Column::ContactId)
        .from(contact_handle::Entity)
        .and_where(contact_handle::Column::Source.eq(handle.source.as_str()))
        .and_where(contact_handle::Column::Handle.eq(handle.handle.as_str()))
        .to_owned();
    Ok(contact::Entity::find()
        .filter(contact::Column::Id.in_subquery(owner))
        .one(conn)
        .await?)
}

pub async fn find_by_conversation<C: ConnectionTrait>(
    conn: &C,
    conversation_id: Uuid,
) -> AppResult<Option<contact::Model>> {
    let owner = Query::select()
        .column(conversation::Column::ContactId)
        .from(conversation::Entity)
        .and_where(conversation::Column::Id.eq(conversation_id))
        .to_owned();
    Ok(contact::Entity::find()
        .filter(contact::Column::Id.in_subquery(owner))
        .one(conn)
        .await?)
}

/// Creates a contact with its handles, groups, metadata and conversations,
/// all or nothing.
pub async fn create(
    db: &DatabaseConnection,
    events: &EventBus,
    changes: ContactChanges,
) -> AppResult<contact::Model> {
    let txn = begin_write(db).await?;
    let result = write::insert_contact(&txn, &changes).await;
    let model = finish(txn, result).await?;
    events.publish(ContactEvent::new(EventKind::Created, model.id));
    Ok(model)
}

/// Applies an update (UpdateContactInput rules) in one transaction.
pub async fn update(
    db: &DatabaseConnection,
    events: &EventBus,
    id: Uuid,
    changes: ContactChanges,
) -> AppResult<contact::Model> {
    let txn = begin_write(db).await?;
    let result = update_in(&txn, id, &changes).await;
    let (before, after) = finish(txn, result).await?;
    if after != before {
        events.publish(ContactEvent::new(EventKind::Updated, after.id));
    }
    Ok(after)
}

/// The contact before and after the update.
async fn update_in<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    changes: &ContactChanges,
) -> AppResult<(contact::Model, contact::Model)> {
    // Row lock on PostgreSQL so that concurrent patches of one contact
    // (metadata merge patches above all) apply one after the other.
    let current = contact::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| {
            let field = changes.field("id");
            AppError::not_found(&field, format!("{field}: no contact with id {id}"))
        })?;
    let updated = write::update_contact(conn, current.clone(), changes).await?;
    Ok((current, updated))
}

/// Deletes a contact; handles, metadata, memberships and merge records go with
/// it (foreign-key cascades), conversations stay, unlinked.
pub async fn delete(db: &DatabaseConnection, events: &EventBus, id: Uuid) -> AppResult<()> {
    let txn = begin_write(db).await?;
    let result = match contact::Entity::delete_by_id(id).exec(&txn).await {
        Ok(deleted) if deleted.rows_affected == 0 => Err(AppError::not_found(
            "id",
            format!("id: no contact with id {id}"),
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(e.into()),
    };
    finish(txn, result).await?;
    events.publish(ContactEvent::new(EventKind::Deleted, id));
    Ok(())
}

/// Stamps `updated_at` on a contact whose related rows changed.
pub(crate) async fn touch<C: ConnectionTrait>(
    conn: &C,
    mut model: contact::Model,
) -> AppResult<contact::Model> {
    model.updated_at = now();
    model
        .clone()
        .into_active_model()
        .reset_all()
        .update(conn)
        .await?;
    Ok(model)
}

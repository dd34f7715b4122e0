//! createOrUpdate (Front's create_or_update): find the contact by any key,
//! update it, or create it. Race-safe across replicas through the unique
//! indexes: a losing insert rolls back and the whole call runs again, and
//! then finds what the winner wrote.

use entity::{contact, contact_handle};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::events::EventBus;
use super::tx;
use super::{contacts, merge, write};
use crate::domain::ContactChanges;
use crate::error::{AppError, AppResult};

/// How the contact is looked for, besides the handles in `via`.
#[derive(Debug, Clone, Default)]
pub struct UpsertKeys {
    pub id: Option<Uuid>,
    pub external_id: Option<String>,
    /// With identity verification: the only externalId this call may touch.
    pub verified_external_id: Option<String>,
}

/// Returns the contact and whether it was created. A losing insert rolls
/// back and the write path runs the call again, which then finds the winner.
pub async fn create_or_update(
    db: &DatabaseConnection,
    events: &EventBus,
    keys: &UpsertKeys,
    update: &ContactChanges,
    create: &AppResult<ContactChanges>,
) -> AppResult<(contact::Model, bool)> {
    tx::write(
        db,
        events,
        &(keys, update, create),
        |txn, (keys, update, create)| {
            Box::pin(async move { attempt_once(txn, keys, update, create).await })
        },
    )
    .await
}

/// The contact, and whether it was created.
async fn attempt_once<C: ConnectionTrait>(
    conn: &C,
    keys: &UpsertKeys,
    update: &ContactChanges,
    create: &AppResult<ContactChanges>,
) -> AppResult<(contact::Model, bool)> {
    let target = find_target(conn, keys, update).await?;
    let written = match target {
        Some(id) => {
            // Locked, so that concurrent calls for one contact apply in turn.
            let current = contact::Entity::find_by_id(id)
                .lock_exclusive()
                .one(conn)
                .await?
                .ok_or(AppError::Contended)?;
            if let Some(verified) = &keys.verified_external_id {
                if current.external_id.as_deref() != Some(verified.as_str()) {
                    return Err(AppError::Forbidden(format!(
                        "input.identifierHash authorises only the contact with externalId {verified:?}"
                    )));
                }
            }
            write::update_contact(conn, current.clone(), update)
                .await
                .map(|m| (m, false))
        }
        None => {
            let create = create.as_ref().map_err(Clone::clone)?;
            write::insert_contact(conn, create).await.map(|m| (m, true))
        }
    };
    // find_target saw no key owned by another contact; a write that finds one
    // now met a concurrent commit, and the next attempt will see it.
    written.map_err(|e| match e {
        AppError::Conflict { .. } => AppError::Contended,
        other => other,
    })
}

/// The one contact the keys point at; keys pointing at two contacts are a
/// CONFLICT naming the second key.
async fn find_target<C: ConnectionTrait>(
    conn: &C,
    keys: &UpsertKeys,
    changes: &ContactChanges,
) -> AppResult<Option<Uuid>> {
    let mut found: Option<(Uuid, String)> = None;
    let mut adopt = |id: Uuid, field: String| -> AppResult<()> {
        match &found {
            Some((first, first_field)) if *first != id => Err(AppError::conflict(
                &field,
                format!("{field} points at contact {id}, but {first_field} at contact {first}"),
            )),
            Some(_) => Ok(()),
            None => {
                found = Some((id, field));
                Ok(())
            }
        }
    };
    if let Some(id) = keys.id {
        // A merged-away id stands for the contact it was merged into.
        let field = changes.field("id");
        let Some(found) = merge::resolve(conn, id).await? else {
            return Err(AppError::not_found(
                &field,
                format!("{field}: no contact with id {id}"),
            ));
        };
        adopt(found.id, field)?;
    }
    if let Some(external_id) = &keys.external_id {
        if let Some(c) = contacts::find_by_external_id(conn, external_id).await? {
            adopt(c.id, changes.field("externalId"))?;
        }
    }
    if let Some(via) = changes.via.as_deref().filter(|v| !v.is_empty()) {
        let pairs = write::handle_pairs_in(
            via.iter()
                .map(|h| (h.handle.source.as_str(), h.handle.handle.as_str())),
        );
        let owners: Vec<(String, String, Uuid, bool)> = contact_handle::Entity::find()
            .select_only()
            .columns([
                contact_handle::Column::Source,
                contact_handle::Column::Handle,
                contact_handle::Column::ContactId,
                contact_handle::Column::Verified,
            ])
            .filter(pairs)
            .into_tuple()
            .all(conn)
            .await?;
        for wanted in via {
            let owner = owners
                .iter()
                .find(|(s, h, _, _)| *s == wanted.handle.source && *h == wanted.handle.handle);
            match owner {
                // A visitor's handle does not decide a token holder's
                // target: the write takes it over instead (write.rs).
                Some((_, _, _, false)) if changes.handles_verified => {}
                Some((_, _, id, _)) => adopt(*id, wanted.path.clone())?,
                None => {}
            }
        }
    }
    Ok(found.map(|(id, _)| id))
}

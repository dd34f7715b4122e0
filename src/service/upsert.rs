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

/// The one contact the keys point at; keys pointing at two contacts are
/// AMBIGUOUS_MATCH naming the second key (and, for a token holder, both
/// contacts).
async fn find_target<C: ConnectionTrait>(
    conn: &C,
    keys: &UpsertKeys,
    changes: &ContactChanges,
) -> AppResult<Option<Uuid>> {
    // The identity-verified visitor may not learn other contacts' ids.
    let may_read = keys.verified_external_id.is_none();
    let mut found: Option<(Uuid, String)> = None;
    let mut adopt = |id: Uuid, field: String| -> AppResult<()> {
        match &found {
            Some((first, first_field)) if *first != id => {
                Err(ambiguous(&field, first_field, (*first, id), may_read))
            }
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
        let owners: Vec<contact_handle::Model> = contact_handle::Entity::find()
            .filter(write::handle_keys_in(via.iter().map(|h| &h.handle)))
            .all(conn)
            .await?;
        for wanted in via {
            let Some(key) = &wanted.handle.match_key else {
                // A blocked identifier matches nobody.
                continue;
            };
            let owner = owners
                .iter()
                .find(|o| o.source == wanted.handle.source && o.match_key.as_ref() == Some(key));
            match owner {
                // A visitor's handle does not decide a token holder's
                // target: the write takes it over instead (write.rs).
                Some(o) if !o.verified && changes.handles_verified => {}
                Some(o) => adopt(o.contact_id, wanted.path.clone())?,
                None => {}
            }
        }
    }
    Ok(found.map(|(id, _)| id))
}

/// `field` met contact `ids.1`, `first_field` contact `ids.0`.
fn ambiguous(field: &str, first_field: &str, ids: (Uuid, Uuid), may_read: bool) -> AppError {
    if may_read {
        AppError::ambiguous(
            field,
            format!(
                "{field} points at contact {}, but {first_field} at contact {}: \
                 merge them (mergeContacts) or leave one key out",
                ids.1, ids.0
            ),
            vec![ids.0, ids.1],
        )
    } else {
        AppError::ambiguous(
            field,
            format!("{field} and {first_field} point at two different contacts"),
            Vec::new(),
        )
    }
}

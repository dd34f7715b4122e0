//! Tying conversations to contacts (Airy: a contact for every conversation).

use entity::{contact, conversation};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QuerySelect, Set,
};
use uuid::Uuid;

use super::events::{ContactEvent, EventBus, EventKind};
use super::tx::{self, Written};
use super::{contacts, merge, now, write};
use crate::domain::{ContactChanges, NormalizedHandle};
use crate::error::{AppError, AppResult};

/// Where a conversation goes.
#[derive(Debug, Clone)]
pub enum LinkTarget {
    /// This contact (NOT_FOUND if unknown).
    Contact(Uuid),
    /// The contact owning the handle; if none, a new one made of `new_contact`
    /// (which carries the handle).
    Handle(NormalizedHandle, ContactChanges),
    /// A new contact made of `new_contact`.
    New(ContactChanges),
}

/// Links (or moves) a conversation; creates the conversation row if unknown.
pub async fn link(
    db: &DatabaseConnection,
    events: &EventBus,
    conversation_id: Uuid,
    channel: &str,
    target: &LinkTarget,
) -> AppResult<conversation::Model> {
    tx::write(
        db,
        events,
        &(conversation_id, channel, target),
        |txn, (conversation_id, channel, target)| {
            Box::pin(async move {
                let linked = link_once(txn, *conversation_id, channel, target).await?;
                Ok(Written {
                    value: linked.conversation,
                    events: linked.events,
                })
            })
        },
    )
    .await
}

struct Linked {
    conversation: conversation::Model,
    /// To publish once the link is committed.
    events: Vec<ContactEvent>,
}

async fn link_once<C: ConnectionTrait>(
    conn: &C,
    conversation_id: Uuid,
    channel: &str,
    target: &LinkTarget,
) -> AppResult<Linked> {
    let existing = conversation::Entity::find_by_id(conversation_id)
        .lock_exclusive()
        .one(conn)
        .await?;
    if let Some(c) = &existing {
        if c.channel != channel {
            return Err(AppError::bad_input(
                "input.channel",
                format!(
                    "input.channel: conversation {conversation_id} is on channel {:?}",
                    c.channel
                ),
            ));
        }
    }
    let owner = match target {
        LinkTarget::Contact(id) => Some(merge::resolve(conn, *id).await?.ok_or_else(|| {
            AppError::not_found(
                "input.contactId",
                format!("input.contactId: no contact with id {id}"),
            )
        })?),
        LinkTarget::Handle(handle, _) => contacts::find_by_verified_handle(conn, handle).await?,
        LinkTarget::New(_) => None,
    };
    let new_contact = match target {
        LinkTarget::Handle(_, changes) | LinkTarget::New(changes) => Some(changes),
        LinkTarget::Contact(_) => None,
    };
    let mut events: Vec<ContactEvent> = Vec::new();
    let owner = match (owner, new_contact) {
        (Some(owner), _) => owner,
        (None, Some(changes)) => {
            // A handle taken meanwhile by a concurrent link is a race: retried,
            // the next attempt finds its owner.
            let created = write::insert_contact(conn, changes)
                .await
                .map_err(|e| match e {
                    AppError::Conflict { .. } => AppError::Contended,
                    other => other,
                })?;
            events.push(ContactEvent::new(EventKind::Created, created.id));
            created
        }
        (None, None) => return Err(AppError::Contended),
    };
    let previous_owner = existing.as_ref().and_then(|c| c.contact_id);
    let linked = match existing {
        Some(c) if c.contact_id == Some(owner.id) => c,
        Some(c) => {
            let mut active: conversation::ActiveModel = c.into();
            active.contact_id = Set(Some(owner.id));
            active.update(conn).await?
        }
        None => {
            conversation::ActiveModel {
                id: Set(conversation_id),
                channel: Set(channel.to_owned()),
                contact_id: Set(Some(owner.id)),
                created_at: Set(now()),
            }
            .insert(conn)
            .await?
        }
    };
    if previous_owner != Some(owner.id) {
        let owner_id = owner.id;
        contacts::touch(conn, owner).await?;
        if !events.iter().any(|e| e.contact_id == owner_id) {
            events.push(ContactEvent::new(EventKind::Updated, owner_id));
        }
        if let Some(old) = previous_owner {
            if let Some(old) = contact::Entity::find_by_id(old).one(conn).await? {
                events.push(ContactEvent::new(EventKind::Updated, old.id));
                contacts::touch(conn, old).await?;
            }
        }
    }
    Ok(Linked {
        conversation: linked,
        events,
    })
}

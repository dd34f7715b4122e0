//! Tying conversations to contacts (Airy: a contact for every conversation).

use entity::contact_state::{conversation_value, FieldChange, CONVERSATIONS};
use std::collections::HashSet;

use entity::{contact, contact_redirect, conversation};
use sea_orm::sea_query::{Query, UnionType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QuerySelect,
    Set,
};
use serde_json::Value;
use uuid::Uuid;

use super::changes::{self, Change, ChangeKind};
use super::events::EventBus;
use super::tx;
use super::{contacts, merge, now, write};
use crate::domain::{ContactChanges, NormalizedHandle};
use crate::error::{AppError, AppResult};

/// Where a conversation goes.
#[derive(Debug, Clone)]
pub enum LinkTarget {
    /// This contact (NOT_FOUND if unknown); a handle given beside it must
    /// be held by it or by nobody (AMBIGUOUS_MATCH otherwise).
    Contact(Uuid, Option<NormalizedHandle>),
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
            Box::pin(link_once(txn, *conversation_id, channel, target))
        },
    )
    .await
}

/// Links in named steps. Locks are taken as everywhere: contacts first, in
/// id order, then the conversation that hangs on them (a merge locks its two
/// contacts, then moves their conversations).
async fn link_once<C: ConnectionTrait>(
    conn: &C,
    conversation_id: Uuid,
    channel: &str,
    target: &LinkTarget,
) -> AppResult<conversation::Model> {
    let seen = conversation::Entity::find_by_id(conversation_id)
        .one(conn)
        .await?;
    if let Some(c) = &seen {
        check_channel(c, channel)?;
    }
    let owner = owner_for(conn, target).await?;
    let previous_owner = seen.as_ref().and_then(|c| c.contact_id);
    let locked =
        contacts::lock_in_id_order(conn, std::iter::once(owner).chain(previous_owner)).await?;
    if !locked.contains(&owner) {
        // Merged away or deleted since it was found: found afresh next run.
        return Err(AppError::Contended);
    }
    let existing = conversation::Entity::find_by_id(conversation_id)
        .lock_exclusive()
        .one(conn)
        .await?;
    if existing.as_ref().map(|c| c.contact_id) != seen.as_ref().map(|c| c.contact_id) {
        // Linked, moved or created meanwhile: run again on what is there now.
        return Err(AppError::Contended);
    }
    let linked = attach(conn, existing, conversation_id, channel, owner).await?;
    if previous_owner != Some(owner) {
        contacts::mark_updated(conn, owner).await?;
        let id = conversation_value(&conversation_id);
        changes::record(Change::new(
            ChangeKind::Updated,
            owner,
            vec![conversation_change(None, Some(id.clone()))],
        ));
        if let Some(old) = previous_owner.filter(|old| locked.contains(old)) {
            contacts::mark_updated(conn, old).await?;
            changes::record(Change::new(
                ChangeKind::Updated,
                old,
                vec![conversation_change(Some(id), None)],
            ));
        }
    }
    Ok(linked)
}

/// A conversation stays on the channel it was first linked on.
fn check_channel(conversation: &conversation::Model, channel: &str) -> AppResult<()> {
    if conversation.channel == channel {
        return Ok(());
    }
    Err(AppError::bad_input(
        "input.channel",
        format!(
            "input.channel: conversation {} is on channel {:?}",
            conversation.id, conversation.channel
        ),
    ))
}

fn conversation_change(old: Option<Value>, new: Option<Value>) -> FieldChange {
    FieldChange {
        field: CONVERSATIONS.to_owned(),
        key: None,
        old,
        new,
    }
}

/// The id of the contact the conversation goes to, creating it when the
/// target asks for a new one.
async fn owner_for<C: ConnectionTrait>(conn: &C, target: &LinkTarget) -> AppResult<Uuid> {
    let found = match target {
        LinkTarget::Contact(id, handle) => {
            let contact = merge::resolve(conn, *id).await?.ok_or_else(|| {
                AppError::not_found(
                    "input.contactId",
                    format!("input.contactId: no contact with id {id}"),
                )
            })?;
            if let Some(handle) = handle {
                check_handle_agrees(conn, &contact, handle).await?;
            }
            Some(contact)
        }
        LinkTarget::Handle(handle, _) => contacts::find_by_verified_handle(conn, handle).await?,
        LinkTarget::New(_) => None,
    };
    if let Some(owner) = found {
        return Ok(owner.id);
    }
    let (LinkTarget::Handle(_, changes) | LinkTarget::New(changes)) = target else {
        return Err(AppError::Contended);
    };
    // A handle taken meanwhile by a concurrent link is a race: retried, the
    // next run finds its owner.
    let created = write::insert_contact(conn, changes)
        .await
        .map_err(|e| match e {
            AppError::Conflict { .. } => AppError::Contended,
            other => other,
        })?;
    Ok(created.id)
}

/// A handle named beside contactId leads to that contact or to nobody.
async fn check_handle_agrees<C: ConnectionTrait>(
    conn: &C,
    contact: &contact::Model,
    handle: &NormalizedHandle,
) -> AppResult<()> {
    match contacts::find_by_handle(conn, handle).await? {
        Some(owner) if owner.id != contact.id => Err(AppError::ambiguous(
            "input.handle.handle",
            format!(
                "input.handle.handle points at contact {}, but input.contactId at contact {}",
                owner.id, contact.id
            ),
            vec![contact.id, owner.id],
        )),
        _ => Ok(()),
    }
}

/// Points the (locked) conversation at `owner`, or creates it there.
async fn attach<C: ConnectionTrait>(
    conn: &C,
    existing: Option<conversation::Model>,
    conversation_id: Uuid,
    channel: &str,
    owner: Uuid,
) -> AppResult<conversation::Model> {
    Ok(match existing {
        Some(c) if c.contact_id == Some(owner) => c,
        Some(c) => {
            let mut active: conversation::ActiveModel = c.into();
            active.contact_id = Set(Some(owner));
            active.update(conn).await?
        }
        None => {
            if let Some(taken) = contact_ids_among(conn, &[conversation_id])
                .await?
                .iter()
                .next()
            {
                return Err(names_a_contact("input.conversationId", *taken));
            }
            conversation::ActiveModel {
                id: Set(conversation_id),
                channel: Set(channel.to_owned()),
                contact_id: Set(Some(owner)),
                created_at: Set(now()),
            }
            .insert(conn)
            .await?
        }
    })
}

/// Of `ids`, those that name a contact, now or before it was merged away (a
/// redirect), in one statement. A new conversation may not take one: ids
/// are Relay's global ids, and `node(id:)` would name two objects.
/// (Contacts take server-made UUIDv7s, 74 random bits each: a new contact
/// never meets a conversation's id.)
pub(super) async fn contact_ids_among<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> AppResult<HashSet<Uuid>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let mut select = Query::select();
    select
        .column(contact::Column::Id)
        .from(contact::Entity)
        .and_where(contact::Column::Id.is_in(ids.iter().copied()))
        .union(
            UnionType::Distinct,
            Query::select()
                .column(contact_redirect::Column::OldId)
                .from(contact_redirect::Entity)
                .and_where(contact_redirect::Column::OldId.is_in(ids.iter().copied()))
                .to_owned(),
        );
    let rows = conn.query_all(&select).await?;
    rows.iter()
        .map(|row| row.try_get_by_index::<Uuid>(0))
        .collect::<Result<_, _>>()
        .map_err(AppError::from)
}

/// BAD_USER_INPUT at `path`: the conversation id is contact `id`'s.
pub(super) fn names_a_contact(path: &str, id: Uuid) -> AppError {
    AppError::bad_input(
        path,
        format!(
            "{path}: {id} is a contact's id; a conversation needs an id of its own (ids are \
             global: node(id:) must name one object)"
        ),
    )
}

use async_graphql::{Context, Enum, Object, ID};

use super::{Contact, DateTime};
use crate::graphql::loader::{loaders, ContactById};
use crate::service::events::{self, EventKind};

/// What happened to a contact.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ContactEventKind")]
pub enum ContactEventKind {
    /// The contact was created (or brought back by unmergeContact).
    Created,
    /// A field, handle, group, metadata key or conversation changed.
    Updated,
    /// The contact was deleted.
    Deleted,
    /// The contact was merged into mergedIntoId and no longer exists.
    Merged,
}

impl From<EventKind> for ContactEventKind {
    fn from(kind: EventKind) -> Self {
        match kind {
            EventKind::Created => Self::Created,
            EventKind::Updated => Self::Updated,
            EventKind::Deleted => Self::Deleted,
            EventKind::Merged => Self::Merged,
        }
    }
}

/// A committed change to a contact.
pub struct ContactEvent(pub events::ContactEvent);

#[Object]
impl ContactEvent {
    /// What happened.
    async fn kind(&self) -> ContactEventKind {
        self.0.kind.into()
    }

    /// The contact that changed.
    async fn contact_id(&self) -> ID {
        ID(self.0.contact_id.to_string())
    }

    /// The contact after the change; null for DELETED and for the source of MERGED.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        if matches!(self.0.kind, EventKind::Deleted | EventKind::Merged) {
            return Ok(None);
        }
        Ok(loaders(ctx)?
            .load_one(ContactById(self.0.contact_id))
            .await?
            .map(Contact::from))
    }

    /// For MERGED: the surviving destination.
    async fn merged_into_id(&self) -> Option<ID> {
        self.0.merged_into_id.map(|id| ID(id.to_string()))
    }

    /// When the change was committed.
    async fn at(&self) -> DateTime {
        DateTime(self.0.at)
    }
}

//! Change-log entries as the API shows them: subscription events, the
//! `contactChanges` feed and `Contact.history` share one type.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject, ID};

use super::scalars::Json;
use super::{Contact, DateTime, PageInfo};
use crate::graphql::loader::{loaders, ContactById};
use crate::service::changes::{Batch, ChangeKind, ChangeSource, Entry};

/// What happened to a contact.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ContactEventKind")]
pub enum ContactEventKind {
    /// The contact was created.
    Created,
    /// A field, handle, group, link, metadata key or conversation changed.
    Updated,
    /// The contact was deleted (or erased).
    Deleted,
    /// The contact was merged into mergedIntoId and no longer exists.
    Merged,
    /// The contact was brought back by unmergeContact, with what it held
    /// before the merge.
    Unmerged,
    /// dismissDuplicate marked the contact "not the same person" as the
    /// contacts its `duplicateDismissals` change names.
    DuplicateDismissed,
    /// undismissDuplicate took such a mark back.
    DuplicateUndismissed,
}

impl From<ChangeKind> for ContactEventKind {
    fn from(kind: ChangeKind) -> Self {
        match kind {
            ChangeKind::Created => Self::Created,
            ChangeKind::Updated => Self::Updated,
            ChangeKind::Deleted => Self::Deleted,
            ChangeKind::Merged => Self::Merged,
            ChangeKind::Unmerged => Self::Unmerged,
            ChangeKind::DuplicateDismissed => Self::DuplicateDismissed,
            ChangeKind::DuplicateUndismissed => Self::DuplicateUndismissed,
        }
    }
}

impl From<ContactEventKind> for ChangeKind {
    fn from(kind: ContactEventKind) -> Self {
        match kind {
            ContactEventKind::Created => Self::Created,
            ContactEventKind::Updated => Self::Updated,
            ContactEventKind::Deleted => Self::Deleted,
            ContactEventKind::Merged => Self::Merged,
            ContactEventKind::Unmerged => Self::Unmerged,
            ContactEventKind::DuplicateDismissed => Self::DuplicateDismissed,
            ContactEventKind::DuplicateUndismissed => Self::DuplicateUndismissed,
        }
    }
}

/// Through what a change was made.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOrigin {
    /// A mutation (other than those below).
    Api,
    /// The importContacts mutation.
    Import,
    /// The command line (`contacts-api import`).
    Cli,
    /// mergeContacts.
    Merge,
    /// unmergeContact.
    Unmerge,
    /// The baseline written for contacts that existed when the change log
    /// was introduced: their state then.
    Migration,
}

impl From<ChangeSource> for ChangeOrigin {
    fn from(source: ChangeSource) -> Self {
        match source {
            ChangeSource::Api => Self::Api,
            ChangeSource::Import => Self::Import,
            ChangeSource::Cli => Self::Cli,
            ChangeSource::Merge => Self::Merge,
            ChangeSource::Unmerge => Self::Unmerge,
            ChangeSource::Migration => Self::Migration,
        }
    }
}

/// One changed value. `field` is the input path (`displayName`,
/// `address.city`, `contactType`, `isSpammer`, `via`, `links`,
/// `groupNames`, `metadata`, `conversations`).
/// - A field: `old` and `new` are its values, null when unset.
/// - An element of `via` (`{source, handle, extension, verified}`), `links`,
///   `groupNames` or `conversations` (a conversation id): `old` null means
///   added (appended to a list), `new` null means removed, both set means
///   replaced in place (a handle that became verified).
/// - A metadata key: `key` names it; `old` and `new` are its values.
///
/// Applying the changes of a contact's history in order, from nothing,
/// gives its current state.
#[derive(SimpleObject)]
pub struct FieldChange {
    /// The input path of what changed.
    pub field: String,
    /// For `metadata`: the top-level key.
    pub key: Option<String>,
    /// The value before; null when there was none.
    pub old: Option<Json>,
    /// The value after; null when there is none.
    pub new: Option<Json>,
}

/// A committed change to a contact: an entry of the change log.
pub struct ContactEvent(pub Arc<Entry>);

/// A committed change to a contact: an entry of the change log, as
/// `contactChanges` and `history` list it and `contactEvents` sends it.
#[Object]
impl ContactEvent {
    /// This entry's position in the change log (opaque): `after` of
    /// `contactChanges`, `history` and `contactEvents` takes it, to resume
    /// right after this entry.
    async fn cursor(&self) -> String {
        self.0.position.cursor()
    }

    /// What happened.
    async fn kind(&self) -> ContactEventKind {
        self.0.kind.into()
    }

    /// The contact that changed.
    async fn contact_id(&self) -> ID {
        ID(self.0.contact_id.to_string())
    }

    /// The contact as it is now (not as it was after this change); null for
    /// DELETED, for MERGED and once the contact is gone.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        if matches!(self.0.kind, ChangeKind::Deleted | ChangeKind::Merged) {
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

    /// Who made it: the API token's name, `visitor` (identity-verified
    /// createOrUpdateContact without a token), `cli`, `open` (a server with
    /// no tokens), `migration` (the baseline).
    async fn actor(&self) -> &str {
        &self.0.actor
    }

    /// Through what it was made.
    async fn source(&self) -> ChangeOrigin {
        self.0.source.into()
    }

    /// What changed, value by value: for CREATED and UNMERGED everything
    /// the contact holds (from nothing); empty for DELETED, MERGED and
    /// entries of erased contacts.
    async fn changes(&self) -> Vec<FieldChange> {
        self.0
            .changes
            .iter()
            .map(|c| FieldChange {
                field: c.field.clone(),
                key: c.key.clone(),
                old: c.old.clone().map(Json),
                new: c.new.clone().map(Json),
            })
            .collect()
    }
}

/// A page of the change log, in log order.
#[derive(SimpleObject)]
pub struct ContactChangeConnection {
    /// The entries of the page with their cursors.
    pub edges: Vec<ContactChangeEdge>,
    /// Paging information. `endCursor` is null on an empty page: keep the
    /// `after` you sent.
    pub page_info: PageInfo<'static>,
}

/// A change-log entry and its cursor.
#[derive(SimpleObject)]
pub struct ContactChangeEdge {
    /// The entry's position, for `after` (the same as `node.cursor`).
    pub cursor: String,
    /// The entry.
    pub node: ContactEvent,
}

impl ContactChangeConnection {
    /// The page of a read of one more than `limit` entries (to tell whether
    /// more follow); one cut short by its size has more too.
    pub fn of(batch: Batch, limit: u64) -> Self {
        let Batch { mut entries, cut } = batch;
        let has_next = cut || entries.len() as u64 > limit;
        entries.truncate(limit as usize);
        let edges: Vec<ContactChangeEdge> = entries
            .into_iter()
            .map(|e| ContactChangeEdge {
                cursor: e.position.cursor(),
                node: ContactEvent(Arc::new(e)),
            })
            .collect();
        let page_info = PageInfo::forward(edges.iter().map(|e| &e.cursor), has_next);
        Self { edges, page_info }
    }
}

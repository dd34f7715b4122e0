//! Duplicate candidates: pairs of contacts that look like one person.

use async_graphql::{Context, Enum, Object, SimpleObject, ID};

use crate::domain::duplicates::Reason;
use crate::graphql::loader::{loaders, ContactById};
use crate::graphql::types::{Contact, PageInfo};
use crate::service::duplicates::Candidate;

/// What a candidate pair has in common.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DuplicateReasonKind {
    /// The same e-mail mailbox: lower case, and for Gmail (also
    /// googlemail.com) without dots; without a `+tag` for the providers
    /// that deliver it to the same mailbox (Gmail, Outlook.com, iCloud,
    /// Fastmail, Proton).
    SameEmail,
    /// The same phone line across phone, sms and whatsapp handles, with
    /// national variants folded (Brazil's ninth digit, Argentina's mobile
    /// 9, Mexico's old mobile 1); different extensions are different lines.
    SamePhone,
    /// The same name, words in any order, accents and case folded.
    SameName,
    /// Names one small typo apart (one letter changed, dropped, doubled or
    /// two swapped, in a word of four letters or more).
    SimilarName,
    /// The same organisation name (folded).
    SameOrganization,
    /// The same first address line and city (folded).
    SameAddress,
}

impl From<&Reason> for DuplicateReasonKind {
    fn from(reason: &Reason) -> Self {
        match reason {
            Reason::SameEmail => Self::SameEmail,
            Reason::SamePhone => Self::SamePhone,
            Reason::SameName => Self::SameName,
            Reason::SimilarName => Self::SimilarName,
            Reason::SameOrganization => Self::SameOrganization,
            Reason::SameAddress => Self::SameAddress,
        }
    }
}

/// One piece of evidence of a candidate pair.
#[derive(SimpleObject)]
pub struct DuplicateReason {
    /// What matched.
    pub kind: DuplicateReasonKind,
    /// The Contact fields compared (`via`, `displayName`,
    /// `organizationName`, `address`).
    pub fields: Vec<String>,
}

/// A candidate pair (see the impl for its GraphQL description).
pub struct DuplicateCandidate(pub Candidate);

/// Two contacts that look like one person, with how likely and why.
#[Object]
impl DuplicateCandidate {
    /// The two contacts' ids, the lower first.
    async fn contact_ids(&self) -> Vec<ID> {
        vec![
            ID(self.0.low_id.to_string()),
            ID(self.0.high_id.to_string()),
        ]
    }

    /// The two contacts, in `contactIds` order (one deleted since the page
    /// was read is left out).
    async fn contacts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Contact>> {
        let loader = loaders(ctx)?;
        let mut found = Vec::with_capacity(2);
        for id in [self.0.low_id, self.0.high_id] {
            if let Some(contact) = loader.load_one(ContactById(id)).await? {
                found.push(Contact::from(contact));
            }
        }
        Ok(found)
    }

    /// How likely the two are one person, from 0 to 1.
    async fn score(&self) -> f64 {
        self.0.score
    }

    /// The evidence, strongest kinds first.
    async fn reasons(&self) -> Vec<DuplicateReason> {
        self.0
            .reasons
            .iter()
            .map(|r| DuplicateReason {
                kind: r.into(),
                fields: r.fields().iter().map(|f| (*f).to_owned()).collect(),
            })
            .collect()
    }
}

/// A page of duplicate candidates, by score (highest first), then ids.
#[derive(SimpleObject)]
pub struct DuplicateCandidateConnection {
    /// The candidates of the page with their cursors.
    pub edges: Vec<DuplicateCandidateEdge>,
    /// Paging information.
    pub page_info: PageInfo<'static>,
}

/// A candidate and its cursor.
#[derive(SimpleObject)]
pub struct DuplicateCandidateEdge {
    /// Opaque; pass as `after` for the next page.
    pub cursor: String,
    /// The candidate.
    pub node: DuplicateCandidate,
}

impl DuplicateCandidateConnection {
    /// The page of a read of one more than `limit` candidates.
    pub fn of(mut candidates: Vec<Candidate>, limit: u64) -> Self {
        let has_next = candidates.len() as u64 > limit;
        candidates.truncate(limit as usize);
        let edges: Vec<DuplicateCandidateEdge> = candidates
            .into_iter()
            .map(|c| DuplicateCandidateEdge {
                cursor: c.place().cursor(),
                node: DuplicateCandidate(c),
            })
            .collect();
        let page_info = PageInfo::forward(edges.iter().map(|e| &e.cursor), has_next);
        Self { edges, page_info }
    }
}

use async_graphql::{Context, Object, ID};
use entity::conversation;

use super::{Contact, DateTime};
use crate::graphql::loader::{loaders, ContactById};

/// A conversation on some channel, tied to at most one contact.
pub struct Conversation(pub conversation::Model);

impl From<conversation::Model> for Conversation {
    fn from(model: conversation::Model) -> Self {
        Self(model)
    }
}

/// A conversation on some channel (a chat, an SMS thread, an e-mail
/// thread), tied to at most one contact.
#[Object]
impl Conversation {
    /// UUID of the conversation.
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Channel source of the conversation, e.g. facebook, twilio.sms
    async fn channel(&self) -> &str {
        &self.0.channel
    }

    /// The contact the conversation is tied to, if any.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(contact_id) = self.0.contact_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .load_one(ContactById(contact_id))
            .await?
            .map(Contact::from))
    }

    /// When the conversation was first seen.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

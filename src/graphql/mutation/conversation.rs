use async_graphql::{Context, Object};

use crate::domain::{self, normalize_handle, normalize_source, ContactInput, Mode, Patch};
use crate::graphql::ids::parse_uuid;
use crate::graphql::input::LinkConversationInput;
use crate::graphql::state::ctx_state;
use crate::graphql::types::Conversation;
use crate::service::conversations::{self, LinkTarget};

#[derive(Default)]
pub struct ConversationMutation;

#[Object]
impl ConversationMutation {
    /// Links a conversation to a contact: to contactId when given, else to the
    /// contact owning handle, else to a new contact (Airy creates a contact for
    /// every conversation). Linking an already linked conversation moves it.
    /// Concurrent links that share one new handle create one contact. A handle
    /// matches in any national form of its number (Brazil's ninth digit, Argentina's
    /// mobile 9, Mexico's mobile 1); a blocked identifier (--blocked-identifiers)
    /// matches nobody, so its conversation gets a new contact. contactId and a handle
    /// held by another contact: CONFLICT, reason AMBIGUOUS_MATCH, naming
    /// input.handle.handle, with extensions.contactIds.
    async fn link_conversation(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The conversation and where it goes: `contactId`, else the contact holding `handle` (created if none), else a new contact."
        )]
        input: LinkConversationInput,
    ) -> async_graphql::Result<Conversation> {
        let state = ctx_state(ctx)?;
        let conversation_id = parse_uuid("input.conversationId", &input.conversation_id)?;
        let channel = normalize_source("input.channel", &input.channel)?;
        let handle = match &input.handle {
            Some(h) => {
                let source = normalize_source("input.handle.source", &h.source)?;
                Some(normalize_handle(
                    &state.rules,
                    "input.handle.handle",
                    &source,
                    &h.handle,
                    h.extension.as_deref(),
                )?)
            }
            None => None,
        };
        let target = match input.contact_id {
            Some(id) => LinkTarget::Contact(parse_uuid("input.contactId", &id)?, handle),
            None => {
                let new_contact = ContactInput {
                    display_name: input.display_name.map_or(Patch::Keep, Patch::Set),
                    via: match &handle {
                        Some(h) => Patch::Set(vec![domain::HandleInput {
                            source: h.source.clone(),
                            handle: h.handle.clone(),
                            extension: None,
                        }]),
                        None => Patch::Keep,
                    },
                    ..ContactInput::default()
                }
                .validate(&state.rules, "input", Mode::Placeholder)?;
                match handle {
                    Some(h) => LinkTarget::Handle(h, new_contact),
                    None => LinkTarget::New(new_contact),
                }
            }
        };
        Ok(
            conversations::link(&state.db, &state.events, conversation_id, &channel, &target)
                .await?
                .into(),
        )
    }
}

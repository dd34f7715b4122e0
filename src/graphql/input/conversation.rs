use async_graphql::{InputObject, ID};

use super::HandleInput;

/// Links a conversation to a contact: to contactId when given, else to the contact
/// owning handle, else a new contact is created for it (Airy creates a contact for
/// every conversation). Linking an already linked conversation moves it.
#[derive(InputObject, Clone)]
pub struct LinkConversationInput {
    /// The conversation (created if unknown).
    pub conversation_id: ID,
    /// Its channel source, e.g. facebook, twilio.sms; must match a known conversation's.
    pub channel: String,
    /// The contact to link to.
    pub contact_id: Option<ID>,
    /// Without contactId: link to the contact owning this handle, or to a new contact having it.
    /// With contactId: a check that the handle is that contact's or nobody's
    /// (AMBIGUOUS_MATCH otherwise); it is not added to the contact.
    pub handle: Option<HandleInput>,
    /// Display name for a contact created by the link.
    pub display_name: Option<String>,
}

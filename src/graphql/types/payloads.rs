use async_graphql::SimpleObject;

use super::Contact;

/// What createOrUpdateContact did.
#[derive(SimpleObject)]
pub struct CreateOrUpdateContactPayload {
    /// The contact after the call.
    pub contact: Contact,
    /// true: no key matched and the contact was created; false: it was updated.
    pub created: bool,
}

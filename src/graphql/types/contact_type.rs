use async_graphql::SimpleObject;

/// A kind of contact offered to users (RingCentral manifest contactTypes).
#[derive(SimpleObject, Clone)]
pub struct ContactType {
    /// Value stored in Contact.contactType.
    pub value: String,
    /// Label to show users.
    pub display: String,
}

use async_graphql::{Interface, ID};

use super::{Contact, Conversation};

/// Relay object identification. Ids are UUIDs (time-ordered v7 for new rows).
// One short-lived value per `node` query: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Globally unique id (a UUID)."))]
pub enum Node {
    Contact(Contact),
    Conversation(Conversation),
}

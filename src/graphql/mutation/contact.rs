use async_graphql::{Context, Object, ID};

use crate::domain::{ContactInput, Mode};
use crate::graphql::ids::parse_uuid;
use crate::graphql::input::{CreateContactInput, UpdateContactInput};
use crate::graphql::state::ctx_state;
use crate::graphql::types::Contact;
use crate::service::contacts;

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Creates a contact. All fields are optional but at least one must be set;
    /// a handle or externalId that belongs to another contact is a CONFLICT.
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        input: CreateContactInput,
    ) -> async_graphql::Result<Contact> {
        let state = ctx_state(ctx)?;
        let changes = ContactInput::from(input).validate(&state.rules, "input", Mode::Create)?;
        Ok(contacts::create(&state.db, changes).await?.into())
    }

    /// Updates a contact: absent fields are kept, null or "" removes them, lists
    /// replace, metadata is a JSON Merge Patch. Unknown id: NOT_FOUND.
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        input: UpdateContactInput,
    ) -> async_graphql::Result<Contact> {
        let state = ctx_state(ctx)?;
        let id = parse_uuid("input.id", &input.id)?;
        let changes = ContactInput::from(input).validate(&state.rules, "input", Mode::Update)?;
        Ok(contacts::update(&state.db, id, changes).await?.into())
    }

    /// Deletes the contact, its via, metadata and groups membership; its conversations stay, unlinked. Returns the id.
    async fn delete_contact(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let state = ctx_state(ctx)?;
        let uuid = parse_uuid("id", &id)?;
        contacts::delete(&state.db, uuid).await?;
        Ok(ID(uuid.to_string()))
    }
}

use async_graphql::{InputObject, MaybeUndefined, ID};

use crate::domain::{self, ContactInput, Patch};
use crate::graphql::types::JsonObject;

// The input types also deserialize (serde, the schema's camelCase names,
// unknown fields refused), so that the command line reads its rows into the
// very types the API takes: one field list for both.

/// A channel address to attach to a contact.
#[derive(InputObject, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandleInput {
    /// Channel: lower-case [a-z0-9_.-]+ (phone, email, twitter, facebook, ...).
    pub source: String,
    /// Address on that channel; normalised (E.164 phones, lower-case emails,
    /// @twitter). A phone may carry its extension (`+1 617-253-1000 x201`,
    /// `ext. 201`, RFC 3966 `;ext=201`).
    pub handle: String,
    /// Phone extension, 1 to 20 digits, when not written in `handle` (the
    /// same extension may be written in both; two different ones are
    /// BAD_USER_INPUT). Phones only (sources phone, sms, whatsapp). A number
    /// with an extension is a handle apart from the number without one.
    #[serde(default)]
    pub extension: Option<String>,
}

/// A postal address. On update each field follows the update rules: absent
/// keeps it, null or "" removes it.
#[derive(InputObject, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AddressInput {
    /// Organisation named on the address (a company, a care-of name); at
    /// most 1,000 characters.
    pub organization_name: MaybeUndefined<String>,
    /// First line of the street address; at most 1,000 characters.
    pub address_line1: MaybeUndefined<String>,
    /// Second line of the street address; at most 1,000 characters.
    pub address_line2: MaybeUndefined<String>,
    /// Postal code; at most 1,000 characters.
    pub postcode: MaybeUndefined<String>,
    /// City; at most 1,000 characters.
    pub city: MaybeUndefined<String>,
    /// State, province or region; at most 1,000 characters.
    pub state: MaybeUndefined<String>,
    /// Country, free text (a name or an ISO 3166 code); at most 1,000 characters.
    pub country: MaybeUndefined<String>,
}

/// A conversation to tie to the contact (created if unknown).
#[derive(InputObject, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationInput {
    /// UUID of the conversation.
    pub id: ID,
    /// Channel source, e.g. facebook, twilio.sms
    pub channel: String,
}

/// All fields are optional, but an input with none set is rejected
/// (BAD_USER_INPUT), as in Airy.
#[derive(InputObject, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CreateContactInput {
    /// Name shown for the contact; at most 1,000 characters.
    pub display_name: Option<String>,
    /// URL of the contact's picture: an absolute http(s) URL of at most 2,048 characters.
    pub avatar_url: Option<String>,
    /// Job title; at most 1,000 characters.
    pub title: Option<String>,
    /// IANA zone name (Europe/Berlin) or UTC offset (+02:00); validated.
    pub timezone: Option<String>,
    /// Gender, free text (female, male or any other value); at most 255 characters.
    pub gender: Option<String>,
    /// BCP 47 language tag such as en-US (en_US is accepted); validated.
    pub locale: Option<String>,
    /// Organisation the contact belongs to; at most 1,000 characters.
    pub organization_name: Option<String>,
    /// Free-text description; at most 10,000 characters.
    pub description: Option<String>,
    /// One of the values of Query.contactTypes; "contact" when never set.
    pub contact_type: Option<String>,
    /// Whether the contact is marked as a spammer.
    pub is_spammer: Option<bool>,
    /// The customer's own identifier for this person: one line of at most
    /// 255 characters, unique across contacts (CONFLICT if another has it).
    pub external_id: Option<String>,
    /// Groups the contact belongs to (created on first use): each one line
    /// of at most 255 characters.
    pub group_names: Option<Vec<String>>,
    /// Links (URLs) of the contact, kept in order: absolute http(s) URLs of
    /// at most 2,048 characters.
    pub links: Option<Vec<String>>,
    /// Where the contact can be reached. A (source, handle) pair belongs to
    /// at most one contact (CONFLICT if another holds it).
    pub via: Option<Vec<HandleInput>>,
    /// Postal address.
    pub address: Option<AddressInput>,
    /// Conversations to tie to the contact (created if unknown; CONFLICT
    /// if another contact has one).
    pub conversations: Option<Vec<ConversationInput>>,
    /// Free-form attributes: a JSON object of at most 64 KiB and 16 levels,
    /// keys of at most 255 bytes, no arrays.
    pub metadata: Option<JsonObject>,
}

/// Field absent: unchanged. Field null or "": removed (Airy's rule).
/// Lists (groupNames, links, via) given: replace the whole list.
/// metadata: applied as a JSON Merge Patch (RFC 7386): a key set to null is removed,
/// nested objects are merged, other keys are kept.
#[derive(InputObject, Clone)]
pub struct UpdateContactInput {
    /// The contact to update.
    pub id: ID,
    /// The customer's own identifier for this person: one line of at most
    /// 255 characters, unique across contacts (CONFLICT if another has it).
    pub external_id: MaybeUndefined<String>,
    /// Where the contact can be reached. A (source, handle) pair belongs to
    /// at most one contact (CONFLICT if another holds it).
    pub via: MaybeUndefined<Vec<HandleInput>>,
    #[graphql(flatten)]
    pub fields: PatchFields,
}

/// The fields UpdateContactInput and CreateOrUpdateContactInput share, with
/// the update rules: absent kept, null or "" removed, lists replace,
/// metadata merge-patched. Flattened into both: listed once here, not a type
/// of the schema of its own.
#[derive(InputObject, Clone)]
pub struct PatchFields {
    /// Name shown for the contact; at most 1,000 characters.
    pub display_name: MaybeUndefined<String>,
    /// URL of the contact's picture: an absolute http(s) URL of at most 2,048 characters.
    pub avatar_url: MaybeUndefined<String>,
    /// Job title; at most 1,000 characters.
    pub title: MaybeUndefined<String>,
    /// IANA zone name (Europe/Berlin) or UTC offset (+02:00); validated.
    pub timezone: MaybeUndefined<String>,
    /// Gender, free text (female, male or any other value); at most 255 characters.
    pub gender: MaybeUndefined<String>,
    /// BCP 47 language tag such as en-US (en_US is accepted); validated.
    pub locale: MaybeUndefined<String>,
    /// Organisation the contact belongs to; at most 1,000 characters.
    pub organization_name: MaybeUndefined<String>,
    /// Free-text description; at most 10,000 characters.
    pub description: MaybeUndefined<String>,
    /// One of the values of Query.contactTypes; "contact" when never set.
    pub contact_type: MaybeUndefined<String>,
    /// Whether the contact is marked as a spammer.
    pub is_spammer: MaybeUndefined<bool>,
    /// Groups the contact belongs to (created on first use): each one line
    /// of at most 255 characters.
    pub group_names: MaybeUndefined<Vec<String>>,
    /// Links (URLs) of the contact, kept in order: absolute http(s) URLs of
    /// at most 2,048 characters.
    pub links: MaybeUndefined<Vec<String>>,
    /// Postal address.
    pub address: MaybeUndefined<AddressInput>,
    /// Free-form attributes: a JSON object of at most 64 KiB and 16 levels,
    /// keys of at most 255 bytes, no arrays.
    pub metadata: MaybeUndefined<JsonObject>,
}

impl PatchFields {
    /// The contact input these fields make, with the two kept apart.
    fn into_input(
        self,
        external_id: MaybeUndefined<String>,
        via: MaybeUndefined<Vec<HandleInput>>,
    ) -> ContactInput {
        ContactInput {
            display_name: patch(self.display_name),
            avatar_url: patch(self.avatar_url),
            title: patch(self.title),
            timezone: patch(self.timezone),
            gender: patch(self.gender),
            locale: patch(self.locale),
            organization_name: patch(self.organization_name),
            description: patch(self.description),
            contact_type: patch(self.contact_type),
            is_spammer: patch(self.is_spammer),
            external_id: patch(external_id),
            group_names: patch(self.group_names),
            links: patch(self.links),
            via: patch(via.map_value(handles)),
            address: patch(self.address.map_value(Into::into)),
            metadata: patch(self.metadata.map_value(|m| m.0)),
            conversations: Vec::new(),
        }
    }
}

fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(v),
    }
}

fn given<T>(value: Option<T>) -> Patch<T> {
    value.map_or(Patch::Keep, Patch::Set)
}

impl From<HandleInput> for domain::HandleInput {
    fn from(h: HandleInput) -> Self {
        Self {
            source: h.source,
            handle: h.handle,
            extension: h.extension,
        }
    }
}

impl From<AddressInput> for domain::AddressInput {
    fn from(a: AddressInput) -> Self {
        Self {
            organization_name: patch(a.organization_name),
            address_line1: patch(a.address_line1),
            address_line2: patch(a.address_line2),
            postcode: patch(a.postcode),
            city: patch(a.city),
            state: patch(a.state),
            country: patch(a.country),
        }
    }
}

fn handles(via: Vec<HandleInput>) -> Vec<domain::HandleInput> {
    via.into_iter().map(Into::into).collect()
}

impl From<CreateContactInput> for ContactInput {
    fn from(i: CreateContactInput) -> Self {
        Self {
            display_name: given(i.display_name),
            avatar_url: given(i.avatar_url),
            title: given(i.title),
            timezone: given(i.timezone),
            gender: given(i.gender),
            locale: given(i.locale),
            organization_name: given(i.organization_name),
            description: given(i.description),
            contact_type: given(i.contact_type),
            is_spammer: given(i.is_spammer),
            external_id: given(i.external_id),
            group_names: given(i.group_names),
            links: given(i.links),
            via: given(i.via.map(handles)),
            address: given(i.address.map(Into::into)),
            metadata: given(i.metadata.map(|m| m.0)),
            conversations: i
                .conversations
                .unwrap_or_default()
                .into_iter()
                .map(|c| domain::ConversationInput {
                    id: c.id.0,
                    channel: c.channel,
                })
                .collect(),
        }
    }
}

impl From<UpdateContactInput> for ContactInput {
    fn from(i: UpdateContactInput) -> Self {
        i.fields.into_input(i.external_id, i.via)
    }
}

/// Create-or-update (Front's create_or_update). The contact is found by id if given,
/// else by externalId, else by any of via's handles; found: updated with the rules
/// of UpdateContactInput; not found: created. Keys that point at two different
/// contacts are a CONFLICT (nothing written). When the server has an identity
/// secret configured, a call that names externalId must carry identifierHash =
/// lower-case hex HMAC-SHA256(secret, externalId), else UNAUTHENTICATED (Chatwoot).
/// Two concurrent calls with the same key yield one contact, never two.
#[derive(InputObject, Clone)]
pub struct CreateOrUpdateContactInput {
    /// An existing contact to update (NOT_FOUND if unknown).
    pub id: Option<ID>,
    /// The customer's own identifier: a lookup key, and stored on the contact.
    pub external_id: MaybeUndefined<String>,
    /// Lower-case hex HMAC-SHA256(identity secret, externalId).
    pub identifier_hash: Option<String>,
    /// Lookup keys (any one matching finds the contact), and the new via list.
    pub via: MaybeUndefined<Vec<HandleInput>>,
    #[graphql(flatten)]
    pub fields: PatchFields,
}

impl CreateOrUpdateContactInput {
    /// The id key, the identifier hash, and the contact fields.
    pub fn into_parts(self) -> (Option<ID>, Option<String>, ContactInput) {
        let fields = self.fields.into_input(self.external_id, self.via);
        (self.id, self.identifier_hash, fields)
    }
}

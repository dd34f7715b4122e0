//! The fields of a contact as a client sends them (create, update, import),
//! and their validated, normalised form.

use std::collections::HashSet;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::fields::{self, MAX_DESCRIPTION, MAX_NAME, MAX_TEXT};
use super::handle::{normalize_handle, normalize_source, NormalizedHandle};
use super::metadata::validate_metadata;
use super::{InputLimits, Rules};
use crate::error::AppError;

/// Airy's update rule for one field: absent keeps it, null or "" removes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    fn try_map<U>(
        self,
        f: impl FnOnce(T) -> Result<Option<U>, AppError>,
    ) -> Result<Patch<U>, AppError> {
        Ok(match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(v) => f(v)?.map_or(Patch::Clear, Patch::Set),
        })
    }

    pub fn is_set(&self) -> bool {
        matches!(self, Patch::Set(_))
    }

    /// The new value for a field currently holding `current`.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(v) => Some(v),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HandleInput {
    pub source: String,
    pub handle: String,
    /// A phone extension given apart from the number (digits).
    pub extension: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConversationInput {
    pub id: String,
    pub channel: String,
}

/// The optional text fields by input path (address parts under `address.`),
/// in the order of `ContactChanges::text_patches` and of the contact
/// entity's `text_columns_mut`.
pub const TEXT_FIELDS: [&str; 16] = entity::contact::TEXT_FIELDS;

static KEEP: Patch<String> = Patch::Keep;
static CLEAR: Patch<String> = Patch::Clear;

/// Address parts, each a patch; the same type before and after validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressInput {
    pub organization_name: Patch<String>,
    pub address_line1: Patch<String>,
    pub address_line2: Patch<String>,
    pub postcode: Patch<String>,
    pub city: Patch<String>,
    pub state: Patch<String>,
    pub country: Patch<String>,
}

impl AddressInput {
    /// Every address field removed.
    pub fn cleared() -> Self {
        Self {
            organization_name: Patch::Clear,
            address_line1: Patch::Clear,
            address_line2: Patch::Clear,
            postcode: Patch::Clear,
            city: Patch::Clear,
            state: Patch::Clear,
            country: Patch::Clear,
        }
    }
}

/// Everything a create, update or import row may carry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactInput {
    pub display_name: Patch<String>,
    pub avatar_url: Patch<String>,
    pub title: Patch<String>,
    pub timezone: Patch<String>,
    pub gender: Patch<String>,
    pub locale: Patch<String>,
    pub organization_name: Patch<String>,
    pub description: Patch<String>,
    pub contact_type: Patch<String>,
    pub is_spammer: Patch<bool>,
    pub external_id: Patch<String>,
    pub group_names: Patch<Vec<String>>,
    pub links: Patch<Vec<String>>,
    pub via: Patch<Vec<HandleInput>>,
    pub address: Patch<AddressInput>,
    pub metadata: Patch<Value>,
    pub conversations: Vec<ConversationInput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
    /// A create that may carry no field at all: the contact made for a
    /// conversation nobody is known for yet (Airy).
    Placeholder,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetadataChange {
    Keep,
    /// Remove every key.
    Clear,
    /// A JSON Merge Patch (on create: applied to an empty object).
    MergePatch(Map<String, Value>),
}

/// A handle together with the input path it came from, for CONFLICT errors.
#[derive(Debug, Clone, PartialEq)]
pub struct PathedHandle {
    pub handle: NormalizedHandle,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConversationLink {
    pub id: Uuid,
    pub channel: String,
    pub path: String,
}

/// A validated, normalised contact input. Scalars are patches; `None` lists
/// are left alone, `Some` lists replace (empty removes all).
#[derive(Debug, Clone, PartialEq)]
pub struct ContactChanges {
    /// Input path of the whole object, e.g. "input" or "input.contacts.3".
    pub path: String,
    pub display_name: Patch<String>,
    pub avatar_url: Patch<String>,
    pub title: Patch<String>,
    pub timezone: Patch<String>,
    pub gender: Patch<String>,
    pub locale: Patch<String>,
    pub organization_name: Patch<String>,
    pub description: Patch<String>,
    /// `None`: unchanged. Removal resets to the default type.
    pub contact_type: Option<String>,
    /// `None`: unchanged. Removal resets to false.
    pub is_spammer: Option<bool>,
    pub external_id: Patch<String>,
    pub group_names: Option<Vec<String>>,
    pub links: Option<Vec<String>>,
    pub via: Option<Vec<PathedHandle>>,
    pub address: Patch<AddressInput>,
    pub metadata: MetadataChange,
    pub conversations: Vec<ConversationLink>,
    /// Whether a token holder vouches for the handles in `via` (false when
    /// a visitor writes them); see Handle.verified.
    pub handles_verified: bool,
}

impl ContactChanges {
    pub fn field(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    /// Bytes of UTF-8 the input's values take (text, handles, groups,
    /// links, conversation ids, metadata as JSON): what `--max-contact-bytes`
    /// bounds.
    pub fn value_bytes(&self) -> usize {
        let text: usize = self
            .text_patches()
            .iter()
            .map(|p| match p {
                Patch::Set(v) => v.len(),
                _ => 0,
            })
            .sum();
        let strings = |v: &Option<Vec<String>>| v.iter().flatten().map(String::len).sum::<usize>();
        let handles: usize = self
            .via
            .iter()
            .flatten()
            .map(|h| h.handle.source.len() + h.handle.handle.len())
            .sum();
        let conversations: usize = self
            .conversations
            .iter()
            .map(|c| 36 + c.channel.len())
            .sum();
        let metadata = match &self.metadata {
            MetadataChange::MergePatch(map) => serde_json::to_string(map).map_or(0, |t| t.len()),
            _ => 0,
        };
        text + strings(&self.group_names)
            + strings(&self.links)
            + handles
            + conversations
            + metadata
    }

    /// The patch of each optional text field, in the order of TEXT_FIELDS;
    /// a removed address removes each of its parts.
    pub fn text_patches(&self) -> [&Patch<String>; 16] {
        let [organization_name, address_line1, address_line2, postcode, city, state, country] =
            match &self.address {
                Patch::Keep => [&KEEP; 7],
                Patch::Clear => [&CLEAR; 7],
                Patch::Set(a) => [
                    &a.organization_name,
                    &a.address_line1,
                    &a.address_line2,
                    &a.postcode,
                    &a.city,
                    &a.state,
                    &a.country,
                ],
            };
        [
            &self.display_name,
            &self.avatar_url,
            &self.title,
            &self.timezone,
            &self.gender,
            &self.locale,
            &self.organization_name,
            &self.description,
            &self.external_id,
            organization_name,
            address_line1,
            address_line2,
            postcode,
            city,
            state,
            country,
        ]
    }
}

impl ContactInput {
    /// Validates every field. `path` prefixes the field names in errors.
    pub fn validate(
        self,
        rules: &Rules,
        path: &str,
        mode: Mode,
    ) -> Result<ContactChanges, AppError> {
        let f = |name: &str| format!("{path}.{name}");
        if mode == Mode::Create && !self.sets_anything() {
            return Err(AppError::bad_input(
                path,
                format!("{path}: at least one field must be set"),
            ));
        }
        self.check_counts(&rules.limits, path)?;
        let plain = |name: &str, patch: Patch<String>, max: usize| {
            let field = f(name);
            patch.try_map(|v| fields::text(&field, &v, max))
        };

        let contact_type = match self.contact_type {
            Patch::Set(v) if !v.trim().is_empty() => {
                Some(rules.check_contact_type(&f("contactType"), &v)?)
            }
            Patch::Keep if mode == Mode::Update => None,
            _ => Some(rules.default_contact_type().to_owned()),
        };
        let is_spammer = match self.is_spammer {
            Patch::Set(v) => Some(v),
            Patch::Keep if mode == Mode::Update => None,
            _ => Some(false),
        };

        let changes = ContactChanges {
            display_name: plain("displayName", self.display_name, MAX_TEXT)?,
            avatar_url: {
                let field = f("avatarUrl");
                self.avatar_url.try_map(|v| fields::url(&field, &v))?
            },
            title: plain("title", self.title, MAX_TEXT)?,
            timezone: {
                let field = f("timezone");
                self.timezone.try_map(|v| fields::timezone(&field, &v))?
            },
            gender: plain("gender", self.gender, MAX_NAME)?,
            locale: {
                let field = f("locale");
                self.locale.try_map(|v| fields::locale(&field, &v))?
            },
            organization_name: plain("organizationName", self.organization_name, MAX_TEXT)?,
            description: plain("description", self.description, MAX_DESCRIPTION)?,
            contact_type,
            is_spammer,
            external_id: {
                let field = f("externalId");
                self.external_id
                    .try_map(|v| fields::line(&field, &v, MAX_NAME))?
            },
            group_names: list(self.group_names, |items| {
                group_names(&f("groupNames"), items)
            })?,
            links: list(self.links, |items| links(&f("links"), items))?,
            via: list(self.via, |items| via(rules, &f("via"), items))?,
            address: self.address.try_map(|a| address(&f("address"), a))?,
            metadata: match self.metadata {
                Patch::Keep => MetadataChange::Keep,
                Patch::Clear => MetadataChange::Clear,
                Patch::Set(value) => {
                    MetadataChange::MergePatch(validate_metadata(&f("metadata"), &value)?)
                }
            },
            conversations: conversations(&f("conversations"), self.conversations)?,
            path: path.to_owned(),
            // The caller says otherwise for a visitor's write.
            handles_verified: true,
        };
        let bytes = changes.value_bytes();
        if bytes > rules.limits.contact_bytes {
            return Err(AppError::TooLarge {
                field: path.to_owned(),
                message: format!(
                    "{path}: {bytes} bytes of values; at most {} in one input (the server's --max-contact-bytes)",
                    rules.limits.contact_bytes
                ),
            });
        }
        Ok(changes)
    }

    /// Each list within its flag's bound, before any entry is looked at.
    fn check_counts(&self, limits: &InputLimits, path: &str) -> Result<(), AppError> {
        fn len<T>(p: &Patch<Vec<T>>) -> usize {
            match p {
                Patch::Set(v) => v.len(),
                _ => 0,
            }
        }
        let metadata_keys = match &self.metadata {
            Patch::Set(Value::Object(map)) => map.len(),
            _ => 0,
        };
        for (name, count, max, what, flag) in [
            ("via", len(&self.via), limits.via, "handles", "--max-via"),
            (
                "groupNames",
                len(&self.group_names),
                limits.group_names,
                "group names",
                "--max-group-names",
            ),
            (
                "links",
                len(&self.links),
                limits.links,
                "links",
                "--max-links",
            ),
            (
                "conversations",
                self.conversations.len(),
                limits.conversations,
                "conversations",
                "--max-conversations",
            ),
            (
                "metadata",
                metadata_keys,
                limits.metadata_keys,
                "top-level keys",
                "--max-metadata-keys",
            ),
        ] {
            if count > max {
                let field = format!("{path}.{name}");
                return Err(AppError::TooLarge {
                    message: format!(
                        "{field}: {count} {what}; at most {max} in one input (the server's {flag})"
                    ),
                    field,
                });
            }
        }
        Ok(())
    }

    /// Whether the input carries any value at all (Airy rejects empty creates).
    fn sets_anything(&self) -> bool {
        let text = |p: &Patch<String>| matches!(p, Patch::Set(v) if !v.trim().is_empty());
        let nonempty_list = |p: &Patch<Vec<_>>| matches!(p, Patch::Set(v) if !v.is_empty());
        [
            &self.display_name,
            &self.avatar_url,
            &self.title,
            &self.timezone,
            &self.gender,
            &self.locale,
            &self.organization_name,
            &self.description,
            &self.contact_type,
            &self.external_id,
        ]
        .into_iter()
        .any(text)
            || self.is_spammer.is_set()
            || nonempty_list(&self.group_names)
            || nonempty_list(&self.links)
            || matches!(&self.via, Patch::Set(v) if !v.is_empty())
            || matches!(&self.address, Patch::Set(a) if *a != AddressInput::default())
            || matches!(&self.metadata, Patch::Set(Value::Object(m)) if !m.is_empty())
            || matches!(&self.metadata, Patch::Set(v) if !v.is_object())
            || !self.conversations.is_empty()
    }
}

/// A list field: absent keeps, null removes all (an empty list), given replaces.
fn list<T, U>(
    patch: Patch<Vec<T>>,
    validate: impl FnOnce(Vec<T>) -> Result<Vec<U>, AppError>,
) -> Result<Option<Vec<U>>, AppError> {
    match patch {
        Patch::Keep => Ok(None),
        Patch::Clear => Ok(Some(Vec::new())),
        Patch::Set(items) => validate(items).map(Some),
    }
}

fn group_names(path: &str, items: Vec<String>) -> Result<Vec<String>, AppError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, name) in items.iter().enumerate() {
        let field = format!("{path}.{i}");
        let name = fields::line(&field, name, MAX_NAME)?
            .ok_or_else(|| AppError::bad_input(&field, format!("{field}: must not be empty")))?;
        if seen.insert(name.clone()) {
            out.push(name);
        }
    }
    Ok(out)
}

fn links(path: &str, items: Vec<String>) -> Result<Vec<String>, AppError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, link) in items.iter().enumerate() {
        let field = format!("{path}.{i}");
        let link = fields::url(&field, link)?
            .ok_or_else(|| AppError::bad_input(&field, format!("{field}: must not be empty")))?;
        if seen.insert(link.clone()) {
            out.push(link);
        }
    }
    Ok(out)
}

fn via(rules: &Rules, path: &str, items: Vec<HandleInput>) -> Result<Vec<PathedHandle>, AppError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let source = normalize_source(&format!("{path}.{i}.source"), &item.source)?;
        let field = format!("{path}.{i}.handle");
        let handle = normalize_handle(
            rules,
            &field,
            &source,
            &item.handle,
            item.extension.as_deref(),
        )?;
        // The same handle written twice in one list is one handle.
        if seen.insert((handle.source.clone(), handle.handle.clone())) {
            out.push(PathedHandle {
                handle,
                path: field,
            });
        }
    }
    Ok(out)
}

fn address(path: &str, a: AddressInput) -> Result<Option<AddressInput>, AppError> {
    let t = |name: &str, p: Patch<String>| {
        let field = format!("{path}.{name}");
        p.try_map(|v| fields::text(&field, &v, MAX_TEXT))
    };
    Ok(Some(AddressInput {
        organization_name: t("organizationName", a.organization_name)?,
        address_line1: t("addressLine1", a.address_line1)?,
        address_line2: t("addressLine2", a.address_line2)?,
        postcode: t("postcode", a.postcode)?,
        city: t("city", a.city)?,
        state: t("state", a.state)?,
        country: t("country", a.country)?,
    }))
}

fn conversations(
    path: &str,
    items: Vec<ConversationInput>,
) -> Result<Vec<ConversationLink>, AppError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let id_field = format!("{path}.{i}.id");
        let id = Uuid::parse_str(item.id.trim())
            .map_err(|_| AppError::bad_input(&id_field, format!("{id_field}: not a UUID")))?;
        let channel_field = format!("{path}.{i}.channel");
        let channel = normalize_source(&channel_field, &item.channel)?;
        if seen.insert(id) {
            out.push(ConversationLink {
                id,
                channel,
                path: id_field,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(input: ContactInput) -> Result<ContactChanges, AppError> {
        input.validate(&Rules::default(), "input", Mode::Create)
    }

    #[test]
    fn empty_create_is_rejected() {
        let err = create(ContactInput::default()).unwrap_err();
        assert_eq!((err.code(), err.field()), ("BAD_USER_INPUT", Some("input")));
        let blank = ContactInput {
            display_name: Patch::Set("  ".into()),
            via: Patch::Set(vec![]),
            metadata: Patch::Set(json!({})),
            ..Default::default()
        };
        assert!(create(blank).is_err());
    }

    #[test]
    fn create_defaults_type_and_spam_flag() {
        let c = create(ContactInput {
            display_name: Patch::Set("Ada".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.contact_type.as_deref(), Some("contact"));
        assert_eq!(c.is_spammer, Some(false));
        assert_eq!(c.via, None);
    }

    #[test]
    fn update_keeps_absent_and_clears_null_or_blank() {
        let c = ContactInput {
            title: Patch::Set("".into()),
            gender: Patch::Clear,
            contact_type: Patch::Clear,
            via: Patch::Clear,
            ..Default::default()
        }
        .validate(&Rules::default(), "input", Mode::Update)
        .unwrap();
        assert_eq!(c.display_name, Patch::Keep);
        assert_eq!(c.title, Patch::Clear);
        assert_eq!(c.gender, Patch::Clear);
        assert_eq!(c.contact_type.as_deref(), Some("contact"));
        assert_eq!(c.is_spammer, None);
        assert_eq!(c.via, Some(vec![]));
    }

    #[test]
    fn errors_name_the_nested_field() {
        let err = create(ContactInput {
            via: Patch::Set(vec![
                HandleInput {
                    source: "email".into(),
                    handle: "a@b.org".into(),
                    extension: None,
                },
                HandleInput {
                    source: "phone".into(),
                    handle: "nope".into(),
                    extension: None,
                },
            ]),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.field(), Some("input.via.1.handle"));

        let err = create(ContactInput {
            contact_type: Patch::Set("alien".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.field(), Some("input.contactType"));

        let err = ContactInput {
            links: Patch::Set(vec!["https://ok.org".into(), "nope".into()]),
            ..Default::default()
        }
        .validate(&Rules::default(), "input.contacts.3", Mode::Create)
        .unwrap_err();
        assert_eq!(err.field(), Some("input.contacts.3.links.1"));
    }

    #[test]
    fn duplicate_handles_in_one_list_collapse() {
        let h = |s: &str| HandleInput {
            source: "phone".into(),
            handle: s.into(),
            extension: None,
        };
        let c = create(ContactInput {
            via: Patch::Set(vec![h("+16172531000"), h("(617) 253-1000")]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.via.unwrap().len(), 1);
    }
}

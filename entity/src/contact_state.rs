//! A contact's whole state as the change log sees it, and the field-level
//! changes between two states: what every log entry carries, what the
//! migration's baseline writes (the changes from the empty state), and what
//! a replay applies.
//!
//! Change shapes (`FieldChange`, stored as JSON and shown as is):
//! - a field of the contacts row (`displayName`, `address.city`, ...,
//!   `contactType`, `isSpammer`): `old` and `new` are its values, null when
//!   unset;
//! - an element of a list (`via`, `links`) or set (`groupNames`,
//!   `conversations`): `old` null means added (appended to a list), `new`
//!   null means removed, both set means replaced in place (a handle that
//!   became verified);
//! - a metadata key: `field` is `metadata`, `key` the top-level key.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::Hash;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::{
    contact, contact_group, contact_group_member, contact_handle, contact_metadata, conversation,
};

/// Field names of the element and keyed changes.
pub const VIA: &str = "via";
pub const LINKS: &str = "links";
pub const GROUP_NAMES: &str = "groupNames";
pub const METADATA: &str = "metadata";
pub const CONVERSATIONS: &str = "conversations";
pub const CONTACT_TYPE: &str = "contactType";
pub const IS_SPAMMER: &str = "isSpammer";

/// One changed value of a contact (see the module's shapes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Left out when null (a field that was unset: a CREATED entry's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

impl FieldChange {
    fn new(field: &str, old: Option<Value>, new: Option<Value>) -> Self {
        Self {
            field: field.to_owned(),
            key: None,
            old,
            new,
        }
    }
}

/// A handle as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateHandle {
    pub source: String,
    /// As stored: a phone with an extension is `+E164;ext=N`.
    pub handle: String,
    pub verified: bool,
}

impl StateHandle {
    pub fn of(model: &contact_handle::Model) -> Self {
        Self {
            source: model.source.clone(),
            handle: model.handle.clone(),
            verified: model.verified,
        }
    }

    fn key(&self) -> (&str, &str) {
        (&self.source, &self.handle)
    }

    /// The API's shape: `{source, handle, extension, verified}`.
    fn to_value(&self) -> Value {
        let (handle, extension) = contact_handle::split_phone(&self.source, &self.handle);
        json!({
            "source": self.source,
            "handle": handle,
            "extension": extension,
            "verified": self.verified,
        })
    }

    pub fn from_value(value: &Value) -> Option<Self> {
        let source = value.get("source")?.as_str()?;
        let handle = value.get("handle")?.as_str()?;
        let extension = value.get("extension").and_then(Value::as_str);
        Some(Self {
            source: source.to_owned(),
            handle: match extension {
                Some(_) => contact_handle::phone_handle(handle, extension),
                None => handle.to_owned(),
            },
            verified: value.get("verified")?.as_bool()?,
        })
    }
}

/// Everything a contact holds that the API returns as its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactState {
    /// The contacts row's fields by name; unset fields are absent.
    pub fields: BTreeMap<String, Value>,
    pub via: Vec<StateHandle>,
    pub links: Vec<String>,
    pub group_names: BTreeSet<String>,
    pub metadata: Map<String, Value>,
    pub conversations: BTreeSet<Uuid>,
}

/// The changes a write logs for one contact: a list, or for a contact that
/// starts from nothing (CREATED, UNMERGED) its state, which stands for the
/// changes from the empty state. Either is stored as the same JSON array of
/// [`FieldChange`]s (every release reads the log in that one shape: a
/// replica of the previous release still running during a rolling upgrade
/// reads what this one writes); the state is written straight from its
/// values, without building the list (the log's cost on an import is mostly
/// that list), and later changes of the same write are applied to it.
#[derive(Debug, Clone, PartialEq)]
pub enum LoggedChanges {
    List(Vec<FieldChange>),
    State(Box<ContactState>),
}

impl LoggedChanges {
    /// Joins later changes of the same write (a conversation linked to the
    /// contact the write created): applied to a state when they fit it.
    pub fn extend(&mut self, more: LoggedChanges) {
        let more = more.into_changes();
        if let Self::State(state) = self {
            let mut grown = (**state).clone();
            if grown.apply(&more).is_ok() {
                **state = grown;
                return;
            }
            *self = Self::List(state.changes_from(&ContactState::default()));
        }
        if let Self::List(list) = self {
            list.extend(more);
        }
    }

    /// The changes themselves, in the API's order.
    fn into_changes(self) -> Vec<FieldChange> {
        match self {
            Self::List(list) => list,
            Self::State(state) => state.changes_from(&ContactState::default()),
        }
    }

    /// The column's JSON text: an array of field changes.
    pub fn to_json(&self) -> serde_json::Result<String> {
        match self {
            Self::List(list) => serde_json::to_string(list),
            Self::State(state) => serde_json::to_string(&FromEmpty(state)),
        }
    }
}

/// A state serialized as its changes from the empty state, in the order of
/// [`ContactState::changes_from`], from borrowed values.
struct FromEmpty<'a>(&'a ContactState);

/// One value set from nothing: a [`FieldChange`] with only `new`.
#[derive(Serialize)]
struct Setting<'a, V> {
    field: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    new: V,
}

/// `field` set to `new`, from nothing.
fn set<V>(field: &str, new: V) -> Setting<'_, V> {
    Setting {
        field,
        key: None,
        new,
    }
}

/// A handle in the API's shape (see [`StateHandle::to_value`]).
#[derive(Serialize)]
struct HandleValue<'a> {
    source: &'a str,
    handle: &'a str,
    extension: Option<&'a str>,
    verified: bool,
}

impl Serialize for FromEmpty<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let state = self.0;
        let mut seq = serializer.serialize_seq(None)?;
        for (name, value) in &state.fields {
            seq.serialize_element(&set(name, value))?;
        }
        for h in &state.via {
            let (handle, extension) = contact_handle::split_phone(&h.source, &h.handle);
            let new = HandleValue {
                source: &h.source,
                handle,
                extension,
                verified: h.verified,
            };
            seq.serialize_element(&set(VIA, new))?;
        }
        for link in &state.links {
            seq.serialize_element(&set(LINKS, link))?;
        }
        for group in &state.group_names {
            seq.serialize_element(&set(GROUP_NAMES, group))?;
        }
        for (key, value) in &state.metadata {
            seq.serialize_element(&Setting {
                field: METADATA,
                key: Some(key),
                new: value,
            })?;
        }
        for id in &state.conversations {
            seq.serialize_element(&set(CONVERSATIONS, id))?;
        }
        seq.end()
    }
}

/// The row's fields by name (unset ones left out).
pub fn row_fields(model: &contact::Model) -> BTreeMap<String, Value> {
    let mut fields: BTreeMap<String, Value> = contact::TEXT_FIELDS
        .into_iter()
        .zip(model.text_columns())
        .filter_map(|(name, value)| Some((name.to_owned(), Value::String(value.clone()?))))
        .collect();
    fields.insert(
        CONTACT_TYPE.to_owned(),
        Value::String(model.contact_type.clone()),
    );
    fields.insert(IS_SPAMMER.to_owned(), Value::Bool(model.is_spammer));
    fields
}

/// The links of a row, in order.
pub fn links_of(model: &contact::Model) -> Vec<String> {
    model
        .links
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The changes of the contacts row itself (`before` None: a new contact).
pub fn row_changes(before: Option<&contact::Model>, after: &contact::Model) -> Vec<FieldChange> {
    let old = before.map(row_fields).unwrap_or_default();
    let mut changes = field_changes(&old, &row_fields(after));
    changes.extend(string_list_changes(
        LINKS,
        &before.map(links_of).unwrap_or_default(),
        &links_of(after),
    ));
    changes
}

fn field_changes(old: &BTreeMap<String, Value>, new: &BTreeMap<String, Value>) -> Vec<FieldChange> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter(|name| old.get(*name) != new.get(*name))
        .map(|name| FieldChange::new(name, old.get(name).cloned(), new.get(name).cloned()))
        .collect()
}

/// Changes of a `via` list.
pub fn handle_changes(old: &[StateHandle], new: &[StateHandle]) -> Vec<FieldChange> {
    list_changes(VIA, old, new, StateHandle::key, StateHandle::to_value)
}

fn string_list_changes(field: &str, old: &[String], new: &[String]) -> Vec<FieldChange> {
    list_changes(
        field,
        old,
        new,
        |s| s.as_str(),
        |s| Value::String(s.clone()),
    )
}

/// Element changes turning list `old` into `new`. When `new` keeps `old`'s
/// remaining elements in order and only appends, the changes name only the
/// elements removed, replaced and appended (a merge appends thousands of
/// handles to a list of thousands: the entry stays the size of what moved);
/// otherwise every old element is removed and every new one added, which
/// replays to the same order.
fn list_changes<'a, T: PartialEq, K: Eq + Hash>(
    field: &str,
    old: &'a [T],
    new: &'a [T],
    key: impl Fn(&'a T) -> K,
    value: impl Fn(&T) -> Value,
) -> Vec<FieldChange> {
    let new_keys: HashSet<K> = new.iter().map(&key).collect();
    let old_keys: HashSet<K> = old.iter().map(&key).collect();
    let distinct = new_keys.len() == new.len() && old_keys.len() == old.len();
    let kept: Vec<&T> = old.iter().filter(|t| new_keys.contains(&key(t))).collect();
    let appends_only = distinct
        && kept
            .iter()
            .zip(new)
            .all(|(kept, new)| key(kept) == key(new));
    let mut changes = Vec::new();
    if appends_only {
        let removed = old.iter().filter(|t| !new_keys.contains(&key(t)));
        changes.extend(removed.map(|t| FieldChange::new(field, Some(value(t)), None)));
        for (was, now) in kept.iter().zip(new) {
            if *was != now {
                changes.push(FieldChange::new(field, Some(value(was)), Some(value(now))));
            }
        }
        let appended = &new[kept.len()..];
        changes.extend(
            appended
                .iter()
                .map(|t| FieldChange::new(field, None, Some(value(t)))),
        );
    } else {
        changes.extend(
            old.iter()
                .map(|t| FieldChange::new(field, Some(value(t)), None)),
        );
        changes.extend(
            new.iter()
                .map(|t| FieldChange::new(field, None, Some(value(t)))),
        );
    }
    changes
}

/// Changes of a set (`groupNames`, `conversations`): removals, then
/// additions, each in order.
pub fn set_changes<T: Ord>(
    field: &str,
    old: &BTreeSet<T>,
    new: &BTreeSet<T>,
    value: impl Fn(&T) -> Value,
) -> Vec<FieldChange> {
    old.difference(new)
        .map(|t| FieldChange::new(field, Some(value(t)), None))
        .chain(
            new.difference(old)
                .map(|t| FieldChange::new(field, None, Some(value(t)))),
        )
        .collect()
}

/// Changes of the metadata object, key by key.
pub fn metadata_changes(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<FieldChange> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| FieldChange {
            field: METADATA.to_owned(),
            key: Some(k.clone()),
            old: old.get(k).cloned(),
            new: new.get(k).cloned(),
        })
        .collect()
}

pub fn group_value(name: &str) -> Value {
    Value::String(name.to_owned())
}

pub fn conversation_value(id: &Uuid) -> Value {
    Value::String(id.to_string())
}

impl ContactState {
    /// The changes that turn `before` into this state.
    pub fn changes_from(&self, before: &ContactState) -> Vec<FieldChange> {
        let mut changes = field_changes(&before.fields, &self.fields);
        changes.extend(handle_changes(&before.via, &self.via));
        changes.extend(string_list_changes(LINKS, &before.links, &self.links));
        changes.extend(set_changes(
            GROUP_NAMES,
            &before.group_names,
            &self.group_names,
            |g| group_value(g),
        ));
        changes.extend(metadata_changes(&before.metadata, &self.metadata));
        changes.extend(set_changes(
            CONVERSATIONS,
            &before.conversations,
            &self.conversations,
            conversation_value,
        ));
        changes
    }

    /// Applies logged changes in order; a change that does not fit this
    /// state (removing what is not there) is an error naming it.
    pub fn apply(&mut self, changes: &[FieldChange]) -> Result<(), String> {
        for change in changes {
            self.apply_one(change)
                .ok_or_else(|| format!("change does not apply: {change:?}"))?;
        }
        Ok(())
    }

    fn apply_one(&mut self, c: &FieldChange) -> Option<()> {
        match c.field.as_str() {
            VIA => {
                let handle = StateHandle::from_value;
                apply_element(
                    &mut self.via,
                    c.old.as_ref().map(handle),
                    c.new.as_ref().map(handle),
                    |a, b| a.key() == b.key(),
                )
            }
            LINKS => {
                let text = |v: &Value| v.as_str().map(str::to_owned);
                apply_element(
                    &mut self.links,
                    c.old.as_ref().map(text),
                    c.new.as_ref().map(text),
                    |a, b| a == b,
                )
            }
            GROUP_NAMES => {
                let text = |v: &Value| v.as_str().map(str::to_owned);
                apply_to_set(
                    &mut self.group_names,
                    c.old.as_ref().map(text),
                    c.new.as_ref().map(text),
                )
            }
            CONVERSATIONS => {
                let id = |v: &Value| v.as_str().and_then(|s| Uuid::parse_str(s).ok());
                apply_to_set(
                    &mut self.conversations,
                    c.old.as_ref().map(id),
                    c.new.as_ref().map(id),
                )
            }
            METADATA => {
                let key = c.key.clone()?;
                match &c.new {
                    Some(value) => self.metadata.insert(key, value.clone()),
                    None => self.metadata.remove(&key),
                };
                Some(())
            }
            _ => {
                match &c.new {
                    Some(value) => self.fields.insert(c.field.clone(), value.clone()),
                    None => self.fields.remove(&c.field),
                };
                Some(())
            }
        }
    }

    /// The states of `ids` (those that exist), in a fixed number of queries.
    pub async fn load<C: ConnectionTrait>(
        conn: &C,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, ContactState>, DbErr> {
        let rows = contact::Entity::find()
            .filter(contact::Column::Id.is_in(ids.iter().copied()))
            .all(conn)
            .await?;
        let mut states: HashMap<Uuid, ContactState> = rows
            .iter()
            .map(|row| {
                let state = ContactState {
                    fields: row_fields(row),
                    links: links_of(row),
                    ..ContactState::default()
                };
                (row.id, state)
            })
            .collect();
        // The columns the state shows, not the whole row: data migrations
        // load states too, on tables of their own release.
        let handles: Vec<(Uuid, String, String, bool)> = contact_handle::Entity::find()
            .select_only()
            .column(contact_handle::Column::ContactId)
            .column(contact_handle::Column::Source)
            .column(contact_handle::Column::Handle)
            .column(contact_handle::Column::Verified)
            .filter(contact_handle::Column::ContactId.is_in(ids.iter().copied()))
            .order_by_asc(contact_handle::Column::ContactId)
            .order_by_asc(contact_handle::Column::Position)
            .into_tuple()
            .all(conn)
            .await?;
        for (contact_id, source, handle, verified) in handles {
            if let Some(s) = states.get_mut(&contact_id) {
                s.via.push(StateHandle {
                    source,
                    handle,
                    verified,
                });
            }
        }
        let groups: Vec<(Uuid, String)> = contact_group_member::Entity::find()
            .select_only()
            .column(contact_group_member::Column::ContactId)
            .column(contact_group::Column::Name)
            .join(
                JoinType::InnerJoin,
                contact_group_member::Relation::Group.def(),
            )
            .filter(contact_group_member::Column::ContactId.is_in(ids.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        for (id, name) in groups {
            if let Some(s) = states.get_mut(&id) {
                s.group_names.insert(name);
            }
        }
        let metadata = contact_metadata::Entity::find()
            .filter(contact_metadata::Column::ContactId.is_in(ids.iter().copied()))
            .all(conn)
            .await?;
        for m in metadata {
            if let Some(s) = states.get_mut(&m.contact_id) {
                s.metadata.insert(m.key, m.value);
            }
        }
        let conversations: Vec<(Uuid, Option<Uuid>)> = conversation::Entity::find()
            .select_only()
            .column(conversation::Column::Id)
            .column(conversation::Column::ContactId)
            .filter(conversation::Column::ContactId.is_in(ids.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        for (id, owner) in conversations {
            if let Some(s) = owner.and_then(|o| states.get_mut(&o)) {
                s.conversations.insert(id);
            }
        }
        Ok(states)
    }
}

/// Removes, replaces in place or appends one element (see the shapes).
fn apply_element<T>(
    list: &mut Vec<T>,
    old: Option<Option<T>>,
    new: Option<Option<T>>,
    same: impl Fn(&T, &T) -> bool,
) -> Option<()> {
    match (old, new) {
        (Some(old), Some(new)) => {
            let (old, new) = (old?, new?);
            let i = list.iter().position(|t| same(t, &old))?;
            list[i] = new;
        }
        (Some(old), None) => {
            let old = old?;
            let i = list.iter().position(|t| same(t, &old))?;
            list.remove(i);
        }
        (None, Some(new)) => list.push(new?),
        (None, None) => return None,
    }
    Some(())
}

fn apply_to_set<T: Ord>(
    set: &mut BTreeSet<T>,
    old: Option<Option<T>>,
    new: Option<Option<T>>,
) -> Option<()> {
    if let Some(old) = old {
        if !set.remove(&old?) {
            return None;
        }
    }
    if let Some(new) = new {
        set.insert(new?);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(source: &str, handle: &str, verified: bool) -> StateHandle {
        StateHandle {
            source: source.into(),
            handle: handle.into(),
            verified,
        }
    }

    fn replayed(before: &ContactState, after: &ContactState) -> ContactState {
        let mut state = before.clone();
        state
            .apply(&after.changes_from(before))
            .unwrap_or_else(|e| panic!("{e}"));
        state
    }

    #[test]
    fn changes_replay_to_the_new_state() {
        let mut a = ContactState::default();
        a.fields.insert("displayName".into(), json!("Ada"));
        a.via = vec![
            handle("email", "a@x.org", false),
            handle("phone", "+16172531000;ext=201", true),
            handle("email", "b@x.org", true),
        ];
        a.links = vec!["https://a".into(), "https://b".into()];
        a.group_names.insert("vip".into());
        a.metadata.insert("plan".into(), json!({"tier": 2}));
        a.conversations.insert(Uuid::nil());
        let empty = ContactState::default();
        assert_eq!(replayed(&empty, &a), a);
        assert_eq!(replayed(&a, &empty), empty);

        // Appending, removing and verifying name only what changed.
        let mut b = a.clone();
        b.via.remove(0);
        b.via[1].verified = true;
        b.via.push(handle("sms", "+4915123456789", false));
        let changes = b.changes_from(&a);
        assert_eq!(
            changes.iter().filter(|c| c.field == VIA).count(),
            2,
            "{changes:?}"
        );
        assert_eq!(replayed(&a, &b), b);

        // A reordering replays in the new order.
        let mut c = a.clone();
        c.via.reverse();
        c.links.reverse();
        c.fields.remove("displayName");
        c.metadata.insert("plan".into(), json!(3));
        assert_eq!(replayed(&a, &c), c);
    }

    #[test]
    fn phones_with_extensions_show_them_apart() {
        let h = handle("phone", "+16172531000;ext=201", false);
        let v = h.to_value();
        assert_eq!(v["handle"], "+16172531000");
        assert_eq!(v["extension"], "201");
        assert_eq!(StateHandle::from_value(&v), Some(h));
    }

    #[test]
    fn a_state_is_logged_as_its_changes_from_nothing() -> serde_json::Result<()> {
        let mut a = ContactState::default();
        a.fields.insert("displayName".into(), json!("Ada"));
        a.fields.insert(IS_SPAMMER.into(), json!(false));
        a.fields
            .insert("address.city".into(), json!("Zürich \"Nord\""));
        a.via = vec![
            handle("email", "a@x.org", true),
            handle("phone", "+16172531000;ext=201", false),
            handle("custom", "odd;ext=7", false),
        ];
        a.links = vec!["https://a".into(), "https://a".into()];
        a.group_names.insert("vip".into());
        a.metadata
            .insert("plan".into(), json!({"tier": 2, "x": [1, null]}));
        a.metadata.insert("".into(), json!(""));
        a.conversations.insert(Uuid::nil());
        let as_list = a.changes_from(&ContactState::default());
        let written = LoggedChanges::State(Box::new(a.clone())).to_json()?;
        let read: Vec<FieldChange> = serde_json::from_str(&written)?;
        assert_eq!(read, as_list);
        assert_eq!(
            LoggedChanges::List(as_list.clone()).to_json()?,
            serde_json::to_string(&as_list)?
        );
        let mut replayed = ContactState::default();
        replayed.apply(&read).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(replayed, a);
        assert_eq!(LoggedChanges::State(Box::default()).to_json()?, "[]");
        Ok(())
    }

    #[test]
    fn later_changes_join_a_state_or_turn_it_into_a_list() {
        let mut a = ContactState::default();
        a.fields.insert("displayName".into(), json!("Ada"));
        let mut logged = LoggedChanges::State(Box::new(a.clone()));
        let linked = FieldChange::new(CONVERSATIONS, None, Some(conversation_value(&Uuid::nil())));
        logged.extend(LoggedChanges::List(vec![linked.clone()]));
        a.conversations.insert(Uuid::nil());
        assert_eq!(logged, LoggedChanges::State(Box::new(a.clone())));
        // A change that does not fit the state is kept as it came.
        let misfit = FieldChange::new(GROUP_NAMES, Some(json!("vip")), None);
        logged.extend(LoggedChanges::List(vec![misfit.clone()]));
        let mut expected = a.changes_from(&ContactState::default());
        expected.push(misfit);
        assert_eq!(logged, LoggedChanges::List(expected));
    }

    #[test]
    fn a_change_that_does_not_fit_is_an_error() {
        let mut s = ContactState::default();
        let remove = FieldChange::new(GROUP_NAMES, Some(json!("vip")), None);
        assert!(s.apply(&[remove]).is_err());
    }
}

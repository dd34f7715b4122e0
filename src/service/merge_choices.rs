//! Field choices of a merge (`fieldChoices`): which merged contact a
//! field's surviving value comes from. A field is named by its input path
//! (`title`, `address.city`, `contactType`, `isSpammer`).

use entity::contact;
use entity::contact_state::{CONTACT_TYPE, IS_SPAMMER};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::write::text_fields;
use crate::domain::TEXT_FIELDS;

/// `fieldChoices`: the field's value comes from contact `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChoice {
    pub field: String,
    pub from: Uuid,
}

/// A destination value a choice replaced, kept in the source's merge record
/// so that unmerge puts `old` back where the field still holds `new`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replaced {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// How many fields may be chosen (so the most choices one merge takes).
pub const COUNT: usize = TEXT_FIELDS.len() + 2;

/// Whether `field` may be chosen: every single-valued field of a contact.
/// Lists (via, groupNames, links, conversations) and metadata are united by
/// a merge, so there is nothing to choose.
pub fn is_choosable(field: &str) -> bool {
    field == CONTACT_TYPE || field == IS_SPAMMER || TEXT_FIELDS.contains(&field)
}

/// The fields that may be chosen, for messages.
pub fn choosable() -> String {
    let mut all: Vec<&str> = TEXT_FIELDS.to_vec();
    all.extend([CONTACT_TYPE, IS_SPAMMER]);
    all.join(", ")
}

/// A choosable field's value on `model` (null when unset).
pub fn value_of(model: &contact::Model, field: &str) -> Value {
    match field {
        CONTACT_TYPE => Value::String(model.contact_type.clone()),
        IS_SPAMMER => Value::Bool(model.is_spammer),
        _ => TEXT_FIELDS
            .iter()
            .zip(model.text_columns())
            .find(|(name, _)| **name == field)
            .and_then(|(_, v)| v.clone())
            .map_or(Value::Null, Value::String),
    }
}

/// Sets a choosable field on `model` to `value` (as [`value_of`] gives it).
pub fn set_value(model: &mut contact::Model, field: &str, value: &Value) {
    match field {
        CONTACT_TYPE => {
            if let Some(t) = value.as_str() {
                model.contact_type = t.to_owned();
            }
        }
        IS_SPAMMER => model.is_spammer = value.as_bool().unwrap_or(false),
        _ => {
            if let Some((_, slot)) = text_fields(model).find(|(name, _)| *name == field) {
                *slot = value.as_str().map(str::to_owned);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> contact::Model {
        contact::Model {
            id: Uuid::nil(),
            display_name: None,
            sort_name: String::new(),
            avatar_url: None,
            title: None,
            timezone: None,
            gender: None,
            locale: None,
            organization_name: None,
            description: None,
            contact_type: "PERSONAL".into(),
            is_spammer: false,
            external_id: None,
            links: Value::Null,
            address_organization_name: None,
            address_line1: None,
            address_line2: None,
            address_postcode: None,
            address_city: None,
            address_state: None,
            address_country: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            search_text: String::new(),
        }
    }

    #[test]
    fn every_choosable_field_reads_back_what_was_set() {
        for field in TEXT_FIELDS.iter().copied() {
            let mut m = blank();
            let v = Value::String(format!("value of {field}"));
            set_value(&mut m, field, &v);
            assert_eq!(value_of(&m, field), v, "{field}");
            // Only that field changed.
            let set = m.text_columns().iter().filter(|c| c.is_some()).count();
            assert_eq!(set, 1, "{field}");
            set_value(&mut m, field, &Value::Null);
            assert_eq!(value_of(&m, field), Value::Null, "{field}");
        }
        let mut m = blank();
        set_value(&mut m, CONTACT_TYPE, &Value::String("lead".into()));
        set_value(&mut m, IS_SPAMMER, &Value::Bool(true));
        assert_eq!(value_of(&m, CONTACT_TYPE), Value::String("lead".into()));
        assert_eq!(value_of(&m, IS_SPAMMER), Value::Bool(true));
        assert!(is_choosable("address.city") && is_choosable("title"));
        assert!(!is_choosable("via") && !is_choosable("metadata") && !is_choosable("id"));
    }
}

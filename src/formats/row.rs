//! One row of an address book as it is read: built up value by value into
//! the JSON object of a CreateContactInput, the API's own input type, so
//! that a row of any format is validated by the rules of importContacts.

use serde_json::{Map, Value};

use crate::domain::ContactInput;
use crate::graphql::input::CreateContactInput;

/// The parts of a structured name (vCard's N, the name columns of a CSV
/// export). There is no contact field for them: they make `displayName`
/// when the row has none, and are kept under `metadata.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamePart {
    Prefix,
    Given,
    Middle,
    Family,
    Suffix,
}

impl NamePart {
    /// The order a name is written in, and each part's metadata key.
    const ALL: [(NamePart, &'static str); 5] = [
        (NamePart::Prefix, "prefix"),
        (NamePart::Given, "given"),
        (NamePart::Middle, "middle"),
        (NamePart::Family, "family"),
        (NamePart::Suffix, "suffix"),
    ];

    pub fn key(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("given", |(_, k)| k)
    }
}

/// The parts of the contact's one postal address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPart {
    /// The street; a value of several lines also fills addressLine2.
    Street,
    /// A second (or third) line: appended to addressLine2.
    Extra,
    City,
    State,
    Postcode,
    Country,
    /// The whole address as one text (Google's "Formatted"): used only
    /// when the address has no other part.
    Formatted,
}

/// An address as a file gives it, before the row picks the one it keeps.
#[derive(Debug, Default, Clone)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Vec<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub formatted: Option<String>,
    /// Where the values came from (column names, or "ADR"), to keep in
    /// metadata the addresses the contact has no room for.
    pub sources: Vec<(String, String)>,
}

impl Address {
    pub fn set(&mut self, part: AddressPart, value: &str, source: &str) {
        let Some(value) = nonblank(value) else { return };
        self.sources.push((source.to_owned(), value.to_owned()));
        match part {
            AddressPart::Street => {
                let mut lines = value.lines().map(str::trim).filter(|l| !l.is_empty());
                if let Some(first) = lines.next() {
                    first_wins(&mut self.line1, first);
                }
                self.line2.extend(lines.map(str::to_owned));
            }
            AddressPart::Extra => self.line2.push(value.to_owned()),
            AddressPart::City => first_wins(&mut self.city, value),
            AddressPart::State => first_wins(&mut self.state, value),
            AddressPart::Postcode => first_wins(&mut self.postcode, value),
            AddressPart::Country => first_wins(&mut self.country, value),
            AddressPart::Formatted => first_wins(&mut self.formatted, value),
        }
    }

    fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    fn into_json(mut self) -> Value {
        let structured = self.line1.is_some()
            || !self.line2.is_empty()
            || [&self.city, &self.state, &self.postcode, &self.country]
                .iter()
                .any(|v| v.is_some());
        if let (false, Some(formatted)) = (structured, self.formatted.take()) {
            let mut lines = formatted.lines().map(str::trim).filter(|l| !l.is_empty());
            self.line1 = lines.next().map(str::to_owned);
            self.line2 = lines.map(str::to_owned).collect();
        }
        let mut map = Map::new();
        let line2 = (!self.line2.is_empty()).then(|| self.line2.join(", "));
        for (key, value) in [
            ("addressLine1", self.line1),
            ("addressLine2", line2),
            ("city", self.city),
            ("state", self.state),
            ("postcode", self.postcode),
            ("country", self.country),
        ] {
            if let Some(v) = value {
                map.insert(key.to_owned(), Value::String(v));
            }
        }
        Value::Object(map)
    }
}

/// A row being read. Text fields keep the first value given; handles,
/// groups and links keep every distinct value in order; the first address
/// with any part becomes the contact's address, the others go to metadata
/// under the names their values came from.
#[derive(Debug, Default)]
pub struct RowBuilder {
    object: Map<String, Value>,
    names: Vec<(NamePart, String)>,
    addresses: Vec<(String, Address)>,
    metadata: Map<String, Value>,
}

impl RowBuilder {
    /// A text field of CreateContactInput (displayName, title, externalId, ...).
    pub fn field(&mut self, name: &str, value: &str) {
        if let Some(value) = nonblank(value) {
            self.object
                .entry(name.to_owned())
                .or_insert_with(|| Value::String(value.to_owned()));
        }
    }

    pub fn flag(&mut self, name: &str, value: &str) {
        let Some(value) = nonblank(value) else { return };
        let parsed = match value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            // Left as text: validation names the field.
            _ => Value::String(value.to_owned()),
        };
        self.object.entry(name.to_owned()).or_insert(parsed);
    }

    pub fn handle(&mut self, source: &str, handle: &str) {
        let Some(handle) = nonblank(handle) else {
            return;
        };
        let entry = serde_json::json!({ "source": source, "handle": handle });
        self.push_distinct("via", entry);
    }

    /// A phone with its extension given apart (a `tel:` URI's `;ext=`).
    pub fn handle_with_extension(&mut self, source: &str, handle: &str, extension: Option<&str>) {
        let Some(handle) = nonblank(handle) else {
            return;
        };
        let mut entry = serde_json::json!({ "source": source, "handle": handle });
        if let Some(ext) = extension.and_then(nonblank) {
            entry["extension"] = Value::String(ext.to_owned());
        }
        self.push_distinct("via", entry);
    }

    pub fn group(&mut self, name: &str) {
        if let Some(name) = nonblank(name) {
            self.push_distinct("groupNames", Value::String(name.to_owned()));
        }
    }

    pub fn link(&mut self, url: &str) {
        if let Some(url) = nonblank(url) {
            self.push_distinct("links", Value::String(url.to_owned()));
        }
    }

    pub fn name(&mut self, part: NamePart, value: &str) {
        if let Some(value) = nonblank(value) {
            if !self.names.iter().any(|(p, _)| *p == part) {
                self.names.push((part, value.to_owned()));
            }
        }
    }

    /// The address named `label` ("Home", "Address 1", an ADR line's number).
    pub fn address(&mut self, label: &str) -> &mut Address {
        let at = match self.addresses.iter().position(|(l, _)| l == label) {
            Some(at) => at,
            None => {
                self.addresses.push((label.to_owned(), Address::default()));
                self.addresses.len() - 1
            }
        };
        &mut self.addresses[at].1
    }

    /// A field of the address as the API names it (`city`, `addressLine1`):
    /// our own CSV columns and `--map` targets; the first value wins.
    pub fn address_field(&mut self, field: &str, value: &str) {
        let Some(value) = nonblank(value) else { return };
        let address = self
            .object
            .entry("address".to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = address {
            map.entry(field.to_owned())
                .or_insert_with(|| Value::String(value.to_owned()));
        }
    }

    /// A value with no field, kept in metadata under `key`; a second value
    /// for the same key is appended after " ::: " (metadata holds no lists).
    pub fn metadata(&mut self, key: &str, value: &str) {
        let Some(value) = nonblank(value) else { return };
        let key = if key.trim().is_empty() { "column" } else { key };
        match self.metadata.get_mut(key) {
            Some(Value::String(existing)) => {
                existing.push_str(" ::: ");
                existing.push_str(value);
            }
            _ => {
                self.metadata
                    .insert(key.to_owned(), Value::String(value.to_owned()));
            }
        }
    }

    /// A metadata value as the file gives it (nested, or not text).
    pub fn metadata_value(&mut self, path: &[String], value: Value) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut map = &mut self.metadata;
        for key in parents {
            let slot = map
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            let Value::Object(inner) = slot else { return };
            map = inner;
        }
        map.insert(last.clone(), value);
    }

    /// The row as a CreateContactInput object.
    pub fn finish(mut self) -> Value {
        self.finish_name();
        self.finish_addresses();
        if !self.metadata.is_empty() {
            let metadata = std::mem::take(&mut self.metadata);
            self.object
                .insert("metadata".to_owned(), Value::Object(metadata));
        }
        Value::Object(self.object)
    }

    fn finish_name(&mut self) {
        if self.names.is_empty() {
            return;
        }
        let ordered: Vec<&str> = NamePart::ALL
            .iter()
            .filter_map(|(part, _)| {
                self.names
                    .iter()
                    .find(|(p, _)| p == part)
                    .map(|(_, v)| v.as_str())
            })
            .collect();
        let display = ordered.join(" ");
        self.field("displayName", &display);
        let parts: Map<String, Value> = self
            .names
            .iter()
            .map(|(p, v)| (p.key().to_owned(), Value::String(v.clone())))
            .collect();
        self.metadata
            .insert("name".to_owned(), Value::Object(parts));
    }

    fn finish_addresses(&mut self) {
        let mut kept = false;
        for (_, address) in std::mem::take(&mut self.addresses) {
            if address.is_empty() {
                continue;
            }
            if !kept && !self.object.contains_key("address") {
                kept = true;
                self.object
                    .insert("address".to_owned(), address.into_json());
            } else {
                for (source, value) in address.sources {
                    self.metadata(&source, &value);
                }
            }
        }
    }

    fn push_distinct(&mut self, key: &str, value: Value) {
        let list = self
            .object
            .entry(key.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            if !items.contains(&value) {
                items.push(value);
            }
        }
    }
}

fn first_wins(slot: &mut Option<String>, value: &str) {
    if slot.is_none() {
        *slot = Some(value.to_owned());
    }
}

fn nonblank(value: &str) -> Option<&str> {
    let value = value.trim();
    (!value.is_empty()).then_some(value)
}

/// A row object of a file, read into the API's own input type. The
/// `exported` key of our own NDJSON export (what import does not set) is
/// read past.
pub fn row_from_json(mut value: Value) -> Result<ContactInput, String> {
    if let Value::Object(map) = &mut value {
        map.remove(super::export::EXPORTED);
    }
    serde_json::from_value::<CreateContactInput>(value)
        .map(ContactInput::from)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_make_the_display_name_and_are_kept() {
        let mut row = RowBuilder::default();
        row.name(NamePart::Family, "Lovelace");
        row.name(NamePart::Given, "Ada");
        row.name(NamePart::Given, "Augusta");
        assert_eq!(
            row.finish(),
            json!({
                "displayName": "Ada Lovelace",
                "metadata": { "name": { "family": "Lovelace", "given": "Ada" } }
            })
        );
    }

    #[test]
    fn the_first_address_is_kept_and_the_others_go_to_metadata() {
        let mut row = RowBuilder::default();
        row.address("Home").set(AddressPart::City, " ", "Home City");
        row.address("Business")
            .set(AddressPart::Street, "1 Main St\nFloor 2", "Business Street");
        row.address("Business")
            .set(AddressPart::City, "Springfield", "Business City");
        row.address("Other")
            .set(AddressPart::City, "Paris", "Other City");
        assert_eq!(
            row.finish(),
            json!({
                "address": { "addressLine1": "1 Main St", "addressLine2": "Floor 2", "city": "Springfield" },
                "metadata": { "Other City": "Paris" }
            })
        );
    }

    #[test]
    fn lists_keep_distinct_values_and_metadata_joins_repeats() {
        let mut row = RowBuilder::default();
        row.handle("email", "a@example.com");
        row.handle("email", "a@example.com");
        row.group("Friends");
        row.group("");
        row.metadata("Birthday", "1815-12-10");
        row.metadata("Birthday", "--12-10");
        row.flag("isSpammer", "Yes");
        assert_eq!(
            row.finish(),
            json!({
                "via": [{ "source": "email", "handle": "a@example.com" }],
                "groupNames": ["Friends"],
                "isSpammer": true,
                "metadata": { "Birthday": "1815-12-10 ::: --12-10" }
            })
        );
    }
}

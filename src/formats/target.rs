//! Where a CSV column's cells go in a row: our own column names
//! (`displayName`, `via.phone`, `metadata.KEY`, `address.city`, ...), the
//! targets of `--map 'Column=target'`, and those of known layouts.

use serde_json::Value;

use super::row::{AddressPart, NamePart, RowBuilder};
use crate::domain::TEXT_FIELDS;

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A text field of CreateContactInput, or contactType.
    Field(String),
    /// A text field, unless the cell is one of the given placeholders.
    FieldUnless(String, &'static [&'static str]),
    /// A boolean field (isSpammer): true/false, yes/no, 1/0.
    Flag(String),
    /// One handle per cell, or several split by the separator.
    Handle {
        source: String,
        split: Option<&'static str>,
    },
    /// Group names, split by the separator.
    Groups(&'static str),
    /// Google's labels: split by ` ::: `; its system labels lose their
    /// `* ` mark, and `myContacts` (every contact has it) is left out.
    GoogleLabels,
    /// Links, split by the separator.
    Links(&'static str),
    /// A part of a structured name.
    Name(NamePart),
    /// A part of one of the row's addresses.
    Address { label: String, part: AddressPart },
    /// A field of the contact's address as the API names it (address.city).
    AddressField(String),
    /// A metadata key (a path: `metadata.a.b` nests).
    Metadata(Vec<String>),
    /// A metadata key, unless the cell is one of the given placeholders.
    MetadataUnless(String, &'static [&'static str]),
    /// Left out (`--map 'Column=-'`).
    Ignore,
}

impl Target {
    /// Our own names: an input field, `via.SOURCE`, `metadata.KEY`,
    /// `address.FIELD`, `groupNames` and `links` (split by `;`), and for
    /// `--map` also `name.given|middle|family|prefix|suffix` and `-`.
    pub fn parse(name: &str) -> Option<Target> {
        let name = name.trim();
        if name == "contactType" || (TEXT_FIELDS.contains(&name) && !name.starts_with("address.")) {
            return Some(Target::Field(name.to_owned()));
        }
        match name {
            "groupNames" => return Some(Target::Groups(";")),
            "links" => return Some(Target::Links(";")),
            "isSpammer" => return Some(Target::Flag(name.to_owned())),
            "-" => return Some(Target::Ignore),
            "name.given" => return Some(Target::Name(NamePart::Given)),
            "name.middle" => return Some(Target::Name(NamePart::Middle)),
            "name.family" => return Some(Target::Name(NamePart::Family)),
            "name.prefix" => return Some(Target::Name(NamePart::Prefix)),
            "name.suffix" => return Some(Target::Name(NamePart::Suffix)),
            _ => {}
        }
        if let Some(source) = name.strip_prefix("via.").filter(|s| !s.is_empty()) {
            return Some(Target::Handle {
                source: source.to_owned(),
                split: None,
            });
        }
        if let Some(path) = name.strip_prefix("metadata.").filter(|s| !s.is_empty()) {
            return Some(Target::Metadata(
                path.split('.').map(str::to_owned).collect(),
            ));
        }
        name.strip_prefix("address.")
            .filter(|_| TEXT_FIELDS.contains(&name))
            .map(|field| Target::AddressField(field.to_owned()))
    }

    /// Puts one cell where it goes.
    pub fn apply(&self, row: &mut RowBuilder, header: &str, cell: &str) {
        let cell = cell.trim();
        if cell.is_empty() {
            return;
        }
        match self {
            Target::Field(name) => row.field(name, cell),
            Target::FieldUnless(name, placeholders) => {
                if !placeholders.contains(&cell) {
                    row.field(name, cell);
                }
            }
            Target::Flag(name) => row.flag(name, cell),
            Target::Handle { source, split } => match split {
                Some(sep) => cell.split(sep).for_each(|h| row.handle(source, h)),
                None => row.handle(source, cell),
            },
            Target::Groups(sep) => cell.split(sep).for_each(|g| row.group(g)),
            Target::GoogleLabels => {
                for label in cell.split(super::layouts::GOOGLE_MULTI) {
                    let label = label.trim();
                    let name = label.strip_prefix("* ").unwrap_or(label);
                    if !name.eq_ignore_ascii_case("myContacts")
                        && !name.eq_ignore_ascii_case("My Contacts")
                    {
                        row.group(name);
                    }
                }
            }
            Target::Links(sep) => cell.split(sep).for_each(|l| row.link(l)),
            Target::Name(part) => row.name(*part, cell),
            Target::Address { label, part } => row.address(label).set(*part, cell, header),
            Target::AddressField(field) => row.address_field(field, cell),
            Target::Metadata(path) if path.len() == 1 => row.metadata(&path[0], cell),
            Target::Metadata(path) => row.metadata_value(path, Value::String(cell.to_owned())),
            Target::MetadataUnless(key, placeholders) => {
                if !placeholders.contains(&cell) {
                    row.metadata(key, cell);
                }
            }
            Target::Ignore => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn own_names_and_map_targets_parse() {
        assert_eq!(
            Target::parse("displayName"),
            Some(Target::Field("displayName".into()))
        );
        assert_eq!(
            Target::parse("address.city"),
            Some(Target::AddressField("city".into()))
        );
        assert_eq!(
            Target::parse("name.family"),
            Some(Target::Name(NamePart::Family))
        );
        assert_eq!(
            Target::parse("metadata.a.b"),
            Some(Target::Metadata(vec!["a".into(), "b".into()]))
        );
        assert_eq!(Target::parse("address.nowhere"), None);
        assert_eq!(Target::parse("First Name"), None);
    }

    #[test]
    fn google_labels_drop_my_contacts_and_unmark_system_labels() {
        let mut row = RowBuilder::default();
        Target::GoogleLabels.apply(&mut row, "Labels", "Friends ::: * myContacts ::: * starred");
        assert_eq!(
            row.finish(),
            json!({ "groupNames": ["Friends", "starred"] })
        );
    }
}

//! Contacts written out: NDJSON (one CreateContactInput object per line,
//! which `import` reads back), CSV (one row per contact, for spreadsheets)
//! and vCard 4.0 (RFC 6350, escaped by the vcard-rs crate).
//!
//! NDJSON carries every value the API returns. The input fields are at the
//! top level; what import cannot set (the contact's id, createdAt,
//! updatedAt, each handle's `verified`, the merge history) is under
//! `exported`, which import reads past: a re-imported contact is a new one
//! (new id, created now) with the same values.

use std::borrow::Cow;

use entity::{contact, contact_handle, conversation, merge_record};
use serde_json::{json, Map, Value};
use vcard::param::VcardParam;
use vcard::prop::VcardProp;
use vcard::value::adr::VcardAdr;
use vcard::value::n::VcardN;
use vcard::value::org::VcardOrg;
use vcard::value::text::{VcardText, VcardTextList};
use vcard::value::uri::VcardUri;
use vcard::value::VcardValue;
use vcard::vcard::Vcard;
use vcard::version::VcardVersion;

/// The key of an NDJSON line holding what import does not set.
pub const EXPORTED: &str = "exported";

/// One contact with everything it holds.
pub struct ExportedContact {
    pub model: contact::Model,
    pub handles: Vec<contact_handle::Model>,
    pub group_names: Vec<String>,
    pub metadata: Map<String, Value>,
    pub conversations: Vec<conversation::Model>,
    pub merges: Vec<merge_record::Model>,
}

/// A handle's number and extension, apart (`+1617...;ext=12`).
fn split_extension(handle: &str) -> (&str, Option<&str>) {
    match handle.split_once(";ext=") {
        Some((number, ext)) => (number, Some(ext)),
        None => (handle, None),
    }
}

fn is_phone(source: &str) -> bool {
    matches!(source, "phone" | "sms" | "whatsapp")
}

/// The contact as one NDJSON line (no newline).
pub fn ndjson(c: &ExportedContact) -> String {
    let m = &c.model;
    let mut row = Map::new();
    let mut address = Map::new();
    // Every optional text column, by its input path (address parts nest).
    for (path, value) in contact::TEXT_FIELDS.iter().zip(m.text_columns()) {
        let Some(value) = value else { continue };
        let value = Value::String(value.clone());
        match path.strip_prefix("address.") {
            Some(part) => address.insert(part.to_owned(), value),
            None => row.insert((*path).to_owned(), value),
        };
    }
    row.insert("contactType".into(), Value::String(m.contact_type.clone()));
    row.insert("isSpammer".into(), Value::Bool(m.is_spammer));
    if !address.is_empty() {
        row.insert("address".into(), Value::Object(address));
    }
    if !c.handles.is_empty() {
        let via: Vec<Value> = c
            .handles
            .iter()
            .map(|h| {
                let (number, ext) = split_extension(&h.handle);
                let mut v = json!({ "source": h.source, "handle": number });
                if let (Some(ext), true) = (ext, is_phone(&h.source)) {
                    v["extension"] = Value::String(ext.to_owned());
                } else {
                    v["handle"] = Value::String(h.handle.clone());
                }
                v
            })
            .collect();
        row.insert("via".into(), Value::Array(via));
    }
    if !c.group_names.is_empty() {
        row.insert("groupNames".into(), json!(c.group_names));
    }
    let links = entity::contact_state::links_of(m);
    if !links.is_empty() {
        row.insert("links".into(), json!(links));
    }
    if !c.metadata.is_empty() {
        row.insert("metadata".into(), Value::Object(c.metadata.clone()));
    }
    if !c.conversations.is_empty() {
        let conversations: Vec<Value> = c
            .conversations
            .iter()
            .map(|v| json!({ "id": v.id.to_string(), "channel": v.channel }))
            .collect();
        row.insert("conversations".into(), Value::Array(conversations));
    }
    row.insert(
        EXPORTED.into(),
        json!({
            "id": m.id.to_string(),
            "createdAt": m.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "updatedAt": m.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "verified": c.handles.iter().map(|h| h.verified).collect::<Vec<_>>(),
            "mergeHistory": c.merges.iter().map(|r| json!({
                "id": r.id.to_string(),
                "sourceId": r.source_id.to_string(),
                "mergedAt": r.merged_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            })).collect::<Vec<_>>(),
        }),
    );
    Value::Object(row).to_string()
}

/// The CSV columns, in order: the contact's times, every optional text
/// column by its input path, then the rest.
pub fn csv_header() -> Vec<&'static str> {
    let mut header = vec!["id", "createdAt", "updatedAt"];
    header.extend(contact::TEXT_FIELDS);
    header.extend([
        "contactType",
        "isSpammer",
        "groupNames",
        "links",
        "via",
        "metadata",
    ]);
    header
}

/// The contact as CSV cells, in `csv_header`'s order: lists joined by `;`,
/// handles as `source:handle`, metadata as JSON.
pub fn csv_record(c: &ExportedContact) -> Vec<String> {
    let m = &c.model;
    let time =
        |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut cells = vec![m.id.to_string(), time(&m.created_at), time(&m.updated_at)];
    cells.extend(m.text_columns().map(|v| v.clone().unwrap_or_default()));
    cells.extend([
        m.contact_type.clone(),
        m.is_spammer.to_string(),
        c.group_names.join(";"),
        entity::contact_state::links_of(m).join(";"),
        c.handles
            .iter()
            .map(|h| format!("{}:{}", h.source, h.handle))
            .collect::<Vec<_>>()
            .join(" "),
        if c.metadata.is_empty() {
            String::new()
        } else {
            Value::Object(c.metadata.clone()).to_string()
        },
    ]);
    cells
}

/// The contact as a vCard 4.0 card (CRLF line ends).
pub fn vcard(c: &ExportedContact) -> String {
    let m = &c.model;
    let mut props: Vec<VcardProp> = Vec::new();
    let text = |name: &str, value: &str| VcardProp {
        group: None,
        name: Cow::<str>::Owned(name.to_owned()).into(),
        params: vec![],
        value: VcardValue::Text(VcardText(Cow::Owned(value.to_owned()))),
    };
    let uri = |name: &str, value: &str, params: Vec<VcardParam<'static>>| VcardProp {
        group: None,
        name: Cow::<str>::Owned(name.to_owned()).into(),
        params,
        value: VcardValue::Uri(VcardUri(Cow::Owned(value.to_owned()))),
    };
    props.push(uri("UID", &format!("urn:uuid:{}", m.id), vec![]));
    // FN is required; a contact without a name is shown by a handle.
    let shown = m
        .display_name
        .clone()
        .or_else(|| c.handles.first().map(|h| h.handle.clone()))
        .unwrap_or_default();
    props.push(text("FN", &shown));
    if let Some(Value::Object(name)) = c.metadata.get("name") {
        let part = |k: &str| -> Vec<Cow<'static, str>> {
            name.get(k)
                .and_then(Value::as_str)
                .map(|s| vec![Cow::Owned(s.to_owned())])
                .unwrap_or_default()
        };
        props.push(VcardProp {
            group: None,
            name: "N".into(),
            params: vec![],
            value: VcardValue::N(VcardN {
                family: part("family"),
                given: part("given"),
                additional: part("middle"),
                prefixes: part("prefix"),
                suffixes: part("suffix"),
            }),
        });
    }
    if let Some(org) = &m.organization_name {
        props.push(VcardProp {
            group: None,
            name: "ORG".into(),
            params: vec![],
            value: VcardValue::Org(VcardOrg(vec![Cow::Owned(org.clone())])),
        });
    }
    if let Some(title) = &m.title {
        props.push(text("TITLE", title));
    }
    for h in &c.handles {
        match h.source.as_str() {
            "email" => props.push(text("EMAIL", &h.handle)),
            s if is_phone(s) => {
                let params = match s {
                    "sms" => vec![VcardParam::Type(vec![Cow::Borrowed("text")])],
                    "whatsapp" => vec![VcardParam::Type(vec![Cow::Borrowed("x-whatsapp")])],
                    _ => vec![VcardParam::Type(vec![Cow::Borrowed("voice")])],
                };
                let mut tel = uri("TEL", &format!("tel:{}", h.handle), params);
                tel.params.push(VcardParam::Value(Cow::Borrowed("uri")));
                props.push(tel);
            }
            other => props.push(uri("IMPP", &format!("{other}:{}", h.handle), vec![])),
        }
    }
    if [
        &m.address_line1,
        &m.address_line2,
        &m.address_city,
        &m.address_state,
        &m.address_postcode,
        &m.address_country,
    ]
    .iter()
    .any(|v| v.is_some())
    {
        let one = |v: &Option<String>| {
            v.as_ref()
                .map(|s| vec![Cow::Owned(s.clone())])
                .unwrap_or_default()
        };
        props.push(VcardProp {
            group: None,
            name: "ADR".into(),
            params: vec![],
            value: VcardValue::Adr(VcardAdr {
                extended: one(&m.address_line2),
                street: one(&m.address_line1),
                locality: one(&m.address_city),
                region: one(&m.address_state),
                postal_code: one(&m.address_postcode),
                country: one(&m.address_country),
                ..Default::default()
            }),
        });
    }
    for link in entity::contact_state::links_of(m) {
        props.push(uri("URL", &link, vec![]));
    }
    if let Some(description) = &m.description {
        props.push(text("NOTE", description));
    }
    if let Some(avatar) = &m.avatar_url {
        props.push(uri("PHOTO", avatar, vec![]));
    }
    if !c.group_names.is_empty() {
        props.push(VcardProp {
            group: None,
            name: "CATEGORIES".into(),
            params: vec![],
            value: VcardValue::TextList(VcardTextList(
                c.group_names
                    .iter()
                    .map(|g| Cow::Owned(g.clone()))
                    .collect(),
            )),
        });
    }
    if let Some(locale) = &m.locale {
        props.push(text("LANG", locale));
    }
    if let Some(zone) = &m.timezone {
        props.push(text("TZ", zone));
    }
    props.push(text(
        "REV",
        &m.updated_at.format("%Y%m%dT%H%M%SZ").to_string(),
    ));
    let card = Vcard {
        version: VcardVersion::V4_0,
        properties: props,
    };
    card.to_string()
}

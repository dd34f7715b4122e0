//! vCard files (.vcf): versions 2.1, 3.0 (RFC 2426) and 4.0 (RFC 6350),
//! several cards per file. The file is cut into cards as it streams (memory
//! holds one card), and each card is parsed by the `vcard-rs` crate, which
//! unfolds lines and decodes escapes; 2.1's QUOTED-PRINTABLE and CHARSET are
//! resolved here, component by component, so that structured values (N,
//! ADR) split at the right semicolons.
//!
//! Where properties go: FN displayName; N the name parts (and displayName
//! without FN); ORG organizationName (its units in metadata `ORG`); TITLE
//! title; TEL, EMAIL, IMPP and X-SOCIALPROFILE/SOCIALPROFILE handles (their
//! TYPE in metadata `handleTypes`, keyed by the value as written); ADR the
//! address (later ones in metadata `ADR 2`, ...); URL links; NOTE
//! description; PHOTO avatarUrl when it is a URL (inline images are left
//! out: a contact stores a picture's address, not the picture); CATEGORIES
//! groupNames; GENDER gender; LANG locale and TZ timezone when the fields
//! accept them (an offset, or free text, goes to metadata). Every other property (BDAY, NICKNAME, UID,
//! X-...) goes to metadata under its name.

use std::io::{BufRead, Read};

use serde_json::{Map, Value};
use vcard::param::VcardParam;
use vcard::tree::cst::VcardCst;
use vcard::tree::line::VcardLine;
use vcard::value::VcardValue;

use super::row::{AddressPart, NamePart, RowBuilder};

/// Longest card read (a card with an inline photo is large; a runaway card
/// with no END is refused rather than read into memory whole).
pub const MAX_CARD_BYTES: usize = 4 * 1024 * 1024;

/// One card's bytes and the line its BEGIN is on, or why it could not be cut.
pub struct Card {
    pub line: usize,
    pub bytes: Result<Vec<u8>, String>,
}

/// Cuts a stream into cards: from a `BEGIN:VCARD` line to the `END:VCARD`
/// line that closes it (cards nested in 2.1's AGENT included). Blank lines
/// between cards are skipped; other text between cards is reported.
pub struct Cards<R> {
    input: R,
    line: usize,
    /// Whether the last line read ran past MAX_CARD_BYTES (its rest was
    /// skipped, never held).
    overlong: bool,
}

impl<R: BufRead> Cards<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            line: 0,
            overlong: false,
        }
    }

    fn next_line(&mut self, buf: &mut Vec<u8>) -> std::io::Result<bool> {
        buf.clear();
        let limit = MAX_CARD_BYTES as u64 + 1;
        let n = (&mut self.input).take(limit).read_until(b'\n', buf)?;
        if n > 0 {
            self.line += 1;
        }
        self.overlong = n as u64 == limit && buf.last() != Some(&b'\n');
        if self.overlong {
            self.skip_rest_of_line()?;
        }
        Ok(n > 0)
    }

    /// Consumes the input up to and including the next newline.
    fn skip_rest_of_line(&mut self) -> std::io::Result<()> {
        loop {
            let available = self.input.fill_buf()?;
            if available.is_empty() {
                return Ok(());
            }
            match available.iter().position(|b| *b == b'\n') {
                Some(at) => {
                    self.input.consume(at + 1);
                    return Ok(());
                }
                None => {
                    let all = available.len();
                    self.input.consume(all);
                }
            }
        }
    }
}

fn is_marker(line: &[u8], marker: &str) -> bool {
    let text = line.trim_ascii();
    text.len() == marker.len() && text.eq_ignore_ascii_case(marker.as_bytes())
}

impl<R: BufRead> Iterator for Cards<R> {
    type Item = std::io::Result<Card>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        // To the next BEGIN.
        loop {
            match self.next_line(&mut buf) {
                Err(e) => return Some(Err(e)),
                Ok(false) => return None,
                Ok(true) if buf.trim_ascii().is_empty() => {}
                Ok(true) if is_marker(&buf, "BEGIN:VCARD") => break,
                Ok(true) => {
                    return Some(Ok(Card {
                        line: self.line,
                        bytes: Err("text outside a vCard (BEGIN:VCARD ... END:VCARD)".into()),
                    }))
                }
            }
        }
        let start = self.line;
        let mut card = buf.clone();
        let mut depth = 1;
        loop {
            match self.next_line(&mut buf) {
                Err(e) => return Some(Err(e)),
                Ok(false) => {
                    return Some(Ok(Card {
                        line: start,
                        bytes: Err("the file ends inside this vCard (no END:VCARD)".into()),
                    }))
                }
                Ok(true) => {}
            }
            if self.overlong || card.len() + buf.len() > MAX_CARD_BYTES {
                // Skip to this card's end, so that the next card is read.
                return Some(self.skip_card(start, depth, &mut buf));
            }
            card.extend_from_slice(&buf);
            if is_marker(&buf, "BEGIN:VCARD") {
                depth += 1;
            } else if is_marker(&buf, "END:VCARD") {
                depth -= 1;
                if depth == 0 {
                    return Some(Ok(Card {
                        line: start,
                        bytes: Ok(card),
                    }));
                }
            }
        }
    }
}

impl<R: BufRead> Cards<R> {
    fn skip_card(
        &mut self,
        start: usize,
        mut depth: usize,
        buf: &mut Vec<u8>,
    ) -> std::io::Result<Card> {
        loop {
            if is_marker(buf, "BEGIN:VCARD") {
                depth += 1;
            } else if is_marker(buf, "END:VCARD") {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            if !self.next_line(buf)? {
                break;
            }
        }
        Ok(Card {
            line: start,
            bytes: Err(format!("the vCard is larger than {MAX_CARD_BYTES} bytes")),
        })
    }
}

/// One card as a CreateContactInput object.
pub fn card_row(bytes: &[u8]) -> Result<Value, String> {
    let card = VcardCst::parse(bytes).map_err(|e| format!("not a vCard: {e}"))?;
    let version = card.version();
    let mut row = RowBuilder::default();
    let mut handle_types = Map::new();
    let mut addresses = 0;
    for line in &card.props {
        let name = line.bare_name().to_ascii_uppercase();
        let prop = line.decode(version);
        let text = |s: &str| decoded(line, s);
        match (name.as_str(), &prop.value) {
            ("BEGIN" | "END" | "VERSION" | "PRODID" | "REV", _) => {}
            ("FN", value) => row.field("displayName", &text(&plain(value))),
            ("N", VcardValue::N(n)) => {
                for (part, values) in [
                    (NamePart::Prefix, &n.prefixes),
                    (NamePart::Given, &n.given),
                    (NamePart::Middle, &n.additional),
                    (NamePart::Family, &n.family),
                    (NamePart::Suffix, &n.suffixes),
                ] {
                    row.name(part, &text(&join(values, " ")));
                }
            }
            ("ORG", VcardValue::Org(org)) => {
                let mut units = org.0.iter().map(|u| text(u));
                if let Some(name) = units.next() {
                    row.field("organizationName", &name);
                }
                row.metadata("ORG", &units.collect::<Vec<_>>().join("; "));
            }
            ("TITLE", value) => row.field("title", &text(&plain(value))),
            ("NOTE", value) => row.field("description", &text(&plain(value))),
            ("TEL", value) => {
                let written = text(&plain(value));
                let (number, extension) = tel_uri(&written);
                row.handle_with_extension("phone", number, extension);
                note_types(&mut handle_types, &written, &prop.params);
            }
            ("EMAIL", value) => {
                let written = text(&plain(value));
                let address = written.strip_prefix("mailto:").unwrap_or(&written);
                row.handle("email", address);
                note_types(&mut handle_types, &written, &prop.params);
            }
            ("IMPP", value) => {
                let written = text(&plain(value));
                match written.split_once(':') {
                    Some((scheme, who)) if is_source(scheme) => {
                        row.handle(&scheme.to_ascii_lowercase(), who)
                    }
                    _ => row.metadata("IMPP", &written),
                }
            }
            ("X-SOCIALPROFILE" | "SOCIALPROFILE", value) => {
                let written = text(&plain(value));
                match social_profile(&written, &prop.params) {
                    Some((source, handle)) => row.handle(&source, &handle),
                    None => row.metadata(&name, &written),
                }
            }
            ("ADR", VcardValue::Adr(adr)) => {
                addresses += 1;
                let label = format!("ADR {addresses}");
                let source = if addresses == 1 {
                    "ADR".to_owned()
                } else {
                    label.clone()
                };
                let address = row.address(&label);
                for (part, values) in [
                    (AddressPart::Street, &adr.street),
                    (AddressPart::Extra, &adr.extended),
                    (AddressPart::Extra, &adr.po_box),
                    (AddressPart::City, &adr.locality),
                    (AddressPart::State, &adr.region),
                    (AddressPart::Postcode, &adr.postal_code),
                    (AddressPart::Country, &adr.country),
                ] {
                    address.set(part, &text(&join(values, ", ")), &source);
                }
            }
            ("URL", value) => row.link(&text(&plain(value))),
            ("PHOTO", value) => {
                let url = text(&plain(value));
                if url.starts_with("http://") || url.starts_with("https://") {
                    row.field("avatarUrl", &url);
                }
            }
            ("CATEGORIES", value) => match value {
                VcardValue::TextList(list) => list.0.iter().for_each(|g| row.group(&text(g))),
                other => text(&plain(other)).split(',').for_each(|g| row.group(g)),
            },
            ("GENDER", VcardValue::Gender(g)) => {
                let gender = if g.identity.trim().is_empty() {
                    gender_word(&g.sex)
                } else {
                    text(&g.identity)
                };
                row.field("gender", &gender);
            }
            // A card's own spellings that the fields would refuse (TZ as an
            // offset or as free text, RFC 6350 6.5.1) are kept in metadata
            // rather than failing the card.
            ("LANG", value) => {
                let tag = text(&plain(value));
                match language_tags::LanguageTag::parse(&tag) {
                    Ok(_) => row.field("locale", &tag),
                    Err(_) => row.metadata("LANG", &tag),
                }
            }
            ("TZ", value) => {
                let zone = text(&plain(value));
                match zone.parse::<chrono_tz::Tz>() {
                    Ok(_) => row.field("timezone", &zone),
                    Err(_) => row.metadata("TZ", &zone),
                }
            }
            (_, value) => row.metadata(&name, &text(&plain(value))),
        }
    }
    if !handle_types.is_empty() {
        row.metadata_value(&["handleTypes".to_owned()], Value::Object(handle_types));
    }
    Ok(row.finish())
}

/// A value as text: lists joined, structured values by `;`.
fn plain(value: &VcardValue) -> String {
    match value {
        VcardValue::Text(t) => t.0.to_string(),
        VcardValue::Uri(u) => u.0.to_string(),
        VcardValue::TextList(l) => join(&l.0, ","),
        VcardValue::Org(o) => join(&o.0, ";"),
        VcardValue::DateAndOrTime(d) => d.0.to_string(),
        VcardValue::Timestamp(t) => t.0.to_string(),
        VcardValue::LanguageTag(l) => l.0.to_string(),
        VcardValue::UtcOffset(o) => o.0.to_string(),
        VcardValue::Binary(vcard::value::binary::VcardBinary::Uri(u)) => u.to_string(),
        VcardValue::Binary(_) => String::new(),
        VcardValue::Gender(g) => format!("{};{}", g.sex, g.identity),
        VcardValue::Geo(g) => format!("{},{}", g.latitude, g.longitude),
        VcardValue::N(n) => [&n.family, &n.given, &n.additional, &n.prefixes, &n.suffixes]
            .map(|v| join(v, ","))
            .join(";"),
        VcardValue::Adr(a) => [
            &a.po_box,
            &a.extended,
            &a.street,
            &a.locality,
            &a.region,
            &a.postal_code,
            &a.country,
        ]
        .map(|v| join(v, ","))
        .join(";"),
        VcardValue::ClientPidMap(_) => String::new(),
        VcardValue::Unknown(u) => u
            .components
            .iter()
            .map(|c| join(c, ","))
            .collect::<Vec<_>>()
            .join(";"),
    }
}

fn join<S: AsRef<str>>(values: &[S], sep: &str) -> String {
    values
        .iter()
        .map(|v| v.as_ref().trim())
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join(sep)
}

/// 2.1's QUOTED-PRINTABLE and CHARSET, resolved on one component.
fn decoded(line: &VcardLine, text: &str) -> String {
    let quoted = line.params.iter().any(|p| {
        let name = p.name.get();
        name.eq_ignore_ascii_case("QUOTED-PRINTABLE")
            || (name.eq_ignore_ascii_case("ENCODING")
                && p.values
                    .first()
                    .is_some_and(|v| v.get().eq_ignore_ascii_case("QUOTED-PRINTABLE")))
    });
    if !quoted {
        return text.to_owned();
    }
    let bytes = quoted_printable::decode(text.as_bytes(), quoted_printable::ParseMode::Robust)
        .unwrap_or_else(|_| text.as_bytes().to_vec());
    let charset = line
        .params
        .iter()
        .find(|p| p.name.get().eq_ignore_ascii_case("CHARSET"))
        .and_then(|p| p.values.first())
        .and_then(|v| encoding_rs::Encoding::for_label(v.get().as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    charset.decode(&bytes).0.into_owned()
}

/// A TEL value: a `tel:` URI (4.0) with its `;ext=`, or a number as written.
fn tel_uri(value: &str) -> (&str, Option<&str>) {
    let Some(uri) = value.strip_prefix("tel:") else {
        return (value, None);
    };
    let mut parts = uri.split(';');
    let number = parts.next().unwrap_or_default();
    let extension = parts.find_map(|p| p.strip_prefix("ext="));
    (number, extension)
}

/// Keeps a handle's TYPE (`work,voice`), 2.1's bare types (`TEL;WORK;CELL`)
/// included, under the value as written.
fn note_types(types: &mut Map<String, Value>, written: &str, params: &[VcardParam]) {
    let mut found: Vec<String> = Vec::new();
    for param in params {
        match param {
            VcardParam::Type(values) => found.extend(values.iter().map(|v| v.to_lowercase())),
            // 2.1's bare PREF reads as a PREF with no value.
            VcardParam::Pref(v) if v.is_empty() => found.push("pref".to_owned()),
            VcardParam::Unknown { name, values } if values.is_empty() => {
                let name = name.to_lowercase();
                if !matches!(
                    name.as_str(),
                    "quoted-printable" | "base64" | "8bit" | "7bit"
                ) {
                    found.push(name);
                }
            }
            _ => {}
        }
    }
    let key = written.trim();
    if !found.is_empty() && !key.is_empty() && key.len() <= 255 {
        types.insert(key.to_owned(), Value::String(found.join(",")));
    }
}

/// An IMPP scheme or a social service usable as a handle's source.
fn is_source(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// X-SOCIALPROFILE;TYPE=twitter;X-USER=alice:https://twitter.com/alice
/// (Apple), SOCIALPROFILE;SERVICE-TYPE=Mastodon:... (RFC 9554): the
/// service as source, the user name (or the profile's last path segment).
fn social_profile(value: &str, params: &[VcardParam]) -> Option<(String, String)> {
    let mut service = None;
    let mut user = None;
    for param in params {
        match param {
            VcardParam::Type(values) => service = service.or(values.first().map(|v| v.to_string())),
            VcardParam::ServiceType(s) => service = Some(s.to_string()),
            VcardParam::Username(u) => user = Some(u.to_string()),
            VcardParam::Unknown { name, values } if name.eq_ignore_ascii_case("X-USER") => {
                user = values.first().map(|v| v.to_string())
            }
            _ => {}
        }
    }
    let service = service?.to_ascii_lowercase();
    if !is_source(&service) {
        return None;
    }
    let user = user.or_else(|| {
        let path = value.split_once("://").map_or(value, |(_, rest)| rest);
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .map(str::to_owned)
    })?;
    Some((service, user))
}

/// GENDER's sex letter as a word (RFC 6350 6.2.7).
fn gender_word(sex: &str) -> String {
    match sex.trim().to_ascii_uppercase().as_str() {
        "M" => "male",
        "F" => "female",
        "O" => "other",
        "N" => "none",
        "U" => "unknown",
        other => return other.to_owned(),
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cards(text: &str) -> Vec<(usize, Result<Value, String>)> {
        Cards::new(text.as_bytes())
            .map(|c| {
                let c = c.unwrap();
                (c.line, c.bytes.and_then(|b| card_row(&b)))
            })
            .collect()
    }

    #[test]
    fn the_rfc_6350_example_reads_into_place() {
        // RFC 6350, section 8 (the author's own card).
        let text = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Simon Perreault\r\nN:Perreault;Simon;;;ing. jr,M.Sc.\r\nBDAY:--0203\r\nANNIVERSARY:20090808T1430-0500\r\nGENDER:M\r\nLANG;PREF=1:fr\r\nLANG;PREF=2:en\r\nORG;TYPE=work:Viagenie\r\nADR;TYPE=work:;Suite D2-630;2875 Laurier;\r\n Quebec;QC;G1V 2M2;Canada\r\nTEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-418-656-9254;ext=102\r\nTEL;VALUE=uri;TYPE=\"work,cell,voice,video,text\":tel:+1-418-262-6501\r\nEMAIL;TYPE=work:simon.perreault@viagenie.ca\r\nGEO;TYPE=work:geo:46.772673,-71.282945\r\nKEY;TYPE=work;VALUE=uri:\r\n http://www.viagenie.ca/simon.perreault/simon.asc\r\nTZ:-0500\r\nURL;TYPE=home:http://nomis80.org\r\nEND:VCARD\r\n";
        let rows = cards(text);
        assert_eq!(rows.len(), 1);
        let row = rows[0].1.clone().unwrap();
        assert_eq!(row["displayName"], "Simon Perreault");
        assert_eq!(row["organizationName"], "Viagenie");
        assert_eq!(row["gender"], "male");
        assert_eq!(row["locale"], "fr");
        assert_eq!(
            row["via"],
            json!([
                { "source": "phone", "handle": "+1-418-656-9254", "extension": "102" },
                { "source": "phone", "handle": "+1-418-262-6501" },
                { "source": "email", "handle": "simon.perreault@viagenie.ca" }
            ])
        );
        assert_eq!(
            row["address"],
            json!({ "addressLine1": "2875 Laurier", "addressLine2": "Suite D2-630", "city": "Quebec", "state": "QC", "postcode": "G1V 2M2", "country": "Canada" })
        );
        assert_eq!(row["links"], json!(["http://nomis80.org"]));
        assert_eq!(row["metadata"]["BDAY"], "--0203");
        assert_eq!(row["metadata"]["TZ"], "-0500");
        assert_eq!(row["metadata"]["name"]["suffix"], "ing. jr M.Sc.");
        assert_eq!(
            row["metadata"]["handleTypes"]["tel:+1-418-262-6501"],
            "work,cell,voice,video,text"
        );
    }

    #[test]
    fn version_2_1_quoted_printable_and_bare_types() {
        let text = "BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen;;;\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=C3=BCller\nTEL;CELL;PREF:+49 30 901820\nNOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:caf=E9 au=\n lait\nEND:VCARD\n";
        let row = cards(text)[0].1.clone().unwrap();
        assert_eq!(row["displayName"], "Jürgen Müller");
        assert_eq!(
            row["metadata"]["name"],
            json!({ "family": "Müller", "given": "Jürgen" })
        );
        assert_eq!(row["description"], "café au lait");
        assert_eq!(row["metadata"]["handleTypes"]["+49 30 901820"], "cell,pref");
    }

    #[test]
    fn cards_are_cut_with_their_lines_and_stray_text_is_reported() {
        let text = "BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD\n\nstray\nBEGIN:VCARD\nVERSION:3.0\nFN:B\nAGENT:BEGIN:VCARD\nEND:VCARD\nBEGIN:VCARD\nFN:C\n";
        let rows = cards(text);
        assert_eq!(rows[0].0, 1);
        assert_eq!(rows[1].0, 6);
        assert!(rows[1].1.is_err());
        assert_eq!(rows[2].0, 7);
        assert_eq!(rows[2].1.clone().unwrap()["displayName"], "B");
        assert_eq!(rows[3].0, 12);
        assert!(rows[3].1.clone().unwrap_err().contains("no END:VCARD"));
    }

    #[test]
    fn an_overlong_line_fails_its_card_without_being_held() {
        let mut text = b"BEGIN:VCARD\nVERSION:3.0\nNOTE:".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_CARD_BYTES + 10));
        text.extend(b"\nEND:VCARD\nBEGIN:VCARD\nVERSION:3.0\nFN:B\nEND:VCARD\n");
        let cards: Vec<Card> = Cards::new(&text[..]).map(Result::unwrap).collect();
        assert_eq!(cards.len(), 2);
        assert!(cards[0].bytes.as_ref().unwrap_err().contains("larger than"));
        assert_eq!(cards[1].line, 5);
        assert!(cards[1].bytes.is_ok());
    }

    #[test]
    fn impp_and_social_profiles_are_handles() {
        let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nIMPP:xmpp:alice@example.com\r\nX-SOCIALPROFILE;type=twitter;x-user=alice:http://twitter.com/alice\r\nCATEGORIES:Friends,Work\r\nPHOTO;VALUE=URI:https://example.com/a.jpg\r\nEND:VCARD\r\n";
        let row = cards(text)[0].1.clone().unwrap();
        assert_eq!(
            row["via"],
            json!([
                { "source": "xmpp", "handle": "alice@example.com" },
                { "source": "twitter", "handle": "alice" }
            ])
        );
        assert_eq!(row["groupNames"], json!(["Friends", "Work"]));
        assert_eq!(row["avatarUrl"], "https://example.com/a.jpg");
    }
}

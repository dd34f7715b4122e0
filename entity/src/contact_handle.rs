use sea_orm::entity::prelude::*;

/// One channel address of a contact; (source, match_key) is unique.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_handles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub contact_id: Uuid,
    pub source: String,
    /// Normalised form (E.164 phone, lower-case email, @twitter).
    pub handle: String,
    /// What `search` matches: digits only for phones, the lower-cased handle otherwise.
    pub search_key: String,
    /// Order of the handle in the contact's `via` list.
    pub position: i32,
    /// Written by a token holder (true) or by a visitor (false).
    pub verified: bool,
    /// What lookups match and what is unique per source ([`match_key`]);
    /// null for a blocked identifier (`--blocked-identifiers`), which is
    /// stored but matches nobody.
    pub match_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Whether handles of `source` are phone numbers (validated, E.164, an
/// extension possible): the one list of such sources.
pub fn is_phone_source(source: &str) -> bool {
    matches!(source, "phone" | "sms" | "whatsapp")
}

/// Sits between a phone number and its extension in the stored handle.
const EXTENSION: &str = ";ext=";

/// The stored handle of a phone: `+16172531000`, or `+16172531000;ext=201`
/// (RFC 3966) with an extension, so that two extensions are two handles.
pub fn phone_handle(e164: &str, extension: Option<&str>) -> String {
    match extension {
        Some(ext) => format!("{e164}{EXTENSION}{ext}"),
        None => e164.to_owned(),
    }
}

impl Model {
    /// The handle without its extension: a phone's E.164 number, or the
    /// handle itself. Phones with an extension are stored in RFC 3966 form
    /// (`+16172531000;ext=201`) so that (source, handle) stays the unique key.
    pub fn e164_or_handle(&self) -> &str {
        self.phone_parts().0
    }

    /// A phone's extension, when it has one.
    pub fn extension(&self) -> Option<&str> {
        self.phone_parts().1
    }

    fn phone_parts(&self) -> (&str, Option<&str>) {
        split_phone(&self.source, &self.handle)
    }
}

/// A stored handle of `source` as (handle, extension): a phone's E.164
/// number and its extension, or the handle itself.
pub fn split_phone<'a>(source: &str, handle: &'a str) -> (&'a str, Option<&'a str>) {
    match handle.split_once(EXTENSION) {
        Some((number, ext)) if is_phone_source(source) => (number, Some(ext)),
        _ => (handle, None),
    }
}

/// The key one line is matched under whatever national variant a channel
/// reports it in, from its E.164 form (a text that is not one is returned
/// as it is):
/// - Brazil: a mobile with and without the ninth digit (`+55 11 98765-4321`,
///   `+55 11 8765-4321`): the ninth digit was put before the 8-digit mobile
///   numbers (those starting 6 to 9) from 2012 to 2016, and WhatsApp still
///   reports older accounts without it; landlines (2 to 5) are left alone;
/// - Argentina: a mobile with and without the `9` of its international form
///   (`+54 9 11 2345-6789`, `+54 11 2345-6789`);
/// - Mexico: a mobile with and without the `1` dropped in 2019
///   (`+52 1 55 1234 5678`, `+52 55 1234 5678`).
///
/// The key is the shorter, older form. Only matching uses it: a handle
/// keeps the form it was given.
pub fn variant_key(e164: &str) -> String {
    let digits_after = |code: &str| {
        e164.strip_prefix(code)
            .filter(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
    };
    if let Some(national) = digits_after("+55") {
        let b = national.as_bytes();
        if b.len() == 11 && b[2] == b'9' && (b'6'..=b'9').contains(&b[3]) {
            return format!("+55{}{}", &national[..2], &national[3..]);
        }
    }
    if let Some(national) = digits_after("+54") {
        if national.len() == 11 && national.starts_with('9') {
            return format!("+54{}", &national[1..]);
        }
    }
    if let Some(national) = digits_after("+52") {
        if national.len() == 11 && national.starts_with('1') {
            return format!("+52{}", &national[1..]);
        }
    }
    e164.to_owned()
}

/// What a match key starts with when the handle matches nothing (a second
/// form of a number its contact holds already, or a row that a migration
/// found taken): a control character, which no handle may contain, so that
/// no lookup ever produces it.
pub const UNMATCHED: char = '\u{1}';

/// The key a handle of `source` is matched and kept unique by: a phone's
/// variant-folded number with its extension (see [`variant_key`]), any
/// other handle itself.
pub fn match_key(source: &str, handle: &str) -> String {
    if !is_phone_source(source) {
        return handle.to_owned();
    }
    let (number, extension) = split_phone(source, handle);
    phone_handle(&variant_key(number), extension)
}

/// The key of a row that matches nothing, unique by its id.
pub fn unmatched_key(id: Uuid) -> String {
    format!("{UNMATCHED}{id}")
}

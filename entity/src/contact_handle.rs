use sea_orm::entity::prelude::*;

/// One channel address of a contact; (source, handle) is unique.
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

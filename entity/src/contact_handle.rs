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
        let is_phone = matches!(self.source.as_str(), "phone" | "sms" | "whatsapp");
        match self.handle.split_once(";ext=") {
            Some((number, ext)) if is_phone => (number, Some(ext)),
            _ => (self.handle.as_str(), None),
        }
    }
}

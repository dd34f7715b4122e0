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

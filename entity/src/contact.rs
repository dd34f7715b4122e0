use sea_orm::entity::prelude::*;

/// A person or organisation the business talks to.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub display_name: Option<String>,
    /// The display name's collation key, hex (`text_keys::sort_key`; "" when
    /// there is none): the keyset sort key for DISPLAY_NAME order, compared
    /// byte by byte, non-null so that cursors never meet NULL.
    pub sort_name: String,
    pub avatar_url: Option<String>,
    pub title: Option<String>,
    pub timezone: Option<String>,
    pub gender: Option<String>,
    pub locale: Option<String>,
    pub organization_name: Option<String>,
    pub description: Option<String>,
    pub contact_type: String,
    pub is_spammer: bool,
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    /// JSON array of URL strings, in the order the client gave them.
    pub links: Json,
    pub address_organization_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub address_postcode: Option<String>,
    pub address_city: Option<String>,
    pub address_state: Option<String>,
    pub address_country: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// What `filter.search` matches (`text_keys::search_text`): the folded
    /// display name, organisation and externalId.
    pub search_text: String,
}

/// The optional text columns of `$model`, each borrowed as `$borrow`, in
/// the order of [`TEXT_FIELDS`]: written once for both borrows.
macro_rules! text_columns {
    ($model:ident, $($borrow:tt)+) => {
        [
            $($borrow)+ $model.display_name,
            $($borrow)+ $model.avatar_url,
            $($borrow)+ $model.title,
            $($borrow)+ $model.timezone,
            $($borrow)+ $model.gender,
            $($borrow)+ $model.locale,
            $($borrow)+ $model.organization_name,
            $($borrow)+ $model.description,
            $($borrow)+ $model.external_id,
            $($borrow)+ $model.address_organization_name,
            $($borrow)+ $model.address_line1,
            $($borrow)+ $model.address_line2,
            $($borrow)+ $model.address_postcode,
            $($borrow)+ $model.address_city,
            $($borrow)+ $model.address_state,
            $($borrow)+ $model.address_country,
        ]
    };
}

impl Model {
    /// Recomputes the columns derived from the text fields (sort and search
    /// keys); every write calls it after changing the fields.
    pub fn refresh_keys(&mut self) {
        self.sort_name = crate::text_keys::sort_key(self.display_name.as_deref());
        self.search_text = crate::text_keys::search_text(
            self.display_name.as_deref(),
            self.organization_name.as_deref(),
            self.external_id.as_deref(),
        );
    }

    /// The optional text columns, in the order of [`TEXT_FIELDS`] (their
    /// input paths): the one list that writes, merges, the change log and
    /// the command line's CSV columns go through.
    pub fn text_columns_mut(&mut self) -> [&mut Option<String>; 16] {
        text_columns!(self, &mut)
    }

    /// The same columns, to read (the change log reads them on every write:
    /// no copy of the row).
    pub fn text_columns(&self) -> [&Option<String>; 16] {
        text_columns!(self, &)
    }
}

/// The input path (GraphQL name) of each optional text column, in the
/// order of [`Model::text_columns_mut`].
pub const TEXT_FIELDS: [&str; 16] = [
    "displayName",
    "avatarUrl",
    "title",
    "timezone",
    "gender",
    "locale",
    "organizationName",
    "description",
    "externalId",
    "address.organizationName",
    "address.addressLine1",
    "address.addressLine2",
    "address.postcode",
    "address.city",
    "address.state",
    "address.country",
];

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

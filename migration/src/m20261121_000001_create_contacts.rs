use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    DisplayName,
    SortName,
    AvatarUrl,
    Title,
    Timezone,
    Gender,
    Locale,
    OrganizationName,
    Description,
    ContactType,
    IsSpammer,
    ExternalId,
    Links,
    AddressOrganizationName,
    AddressLine1,
    AddressLine2,
    AddressPostcode,
    AddressCity,
    AddressState,
    AddressCountry,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ContactHandles {
    Table,
    Id,
    ContactId,
    Source,
    Handle,
    SearchKey,
    Position,
}

#[derive(DeriveIden)]
enum ContactMetadata {
    Table,
    ContactId,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum ContactGroups {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ContactGroupMembers {
    Table,
    ContactId,
    GroupId,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
    Channel,
    ContactId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MergeRecords {
    Table,
    Id,
    ContactId,
    SourceId,
    Snapshot,
    MergedAt,
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().null().to_owned()
}

fn text_not_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().to_owned()
}

fn uuid_pk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

fn timestamp(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt.to_owned()
}

fn cascade_fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(Contacts::Table, Contacts::Id)
        .on_delete(on_delete)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Byte order for the name sort key, so that DISPLAY_NAME paging orders
        // the same way on PostgreSQL (whatever the database locale) as on SQLite.
        let mut sort_name = text_not_null(Contacts::SortName);
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            sort_name.extra("COLLATE \"C\"");
        }

        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .col(uuid_pk(Contacts::Id))
                    .col(text(Contacts::DisplayName))
                    .col(sort_name)
                    .col(text(Contacts::AvatarUrl))
                    .col(text(Contacts::Title))
                    .col(text(Contacts::Timezone))
                    .col(text(Contacts::Gender))
                    .col(text(Contacts::Locale))
                    .col(text(Contacts::OrganizationName))
                    .col(text(Contacts::Description))
                    .col(text_not_null(Contacts::ContactType))
                    .col(
                        ColumnDef::new(Contacts::IsSpammer)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(text(Contacts::ExternalId))
                    .col(ColumnDef::new(Contacts::Links).json_binary().not_null())
                    .col(text(Contacts::AddressOrganizationName))
                    .col(text(Contacts::AddressLine1))
                    .col(text(Contacts::AddressLine2))
                    .col(text(Contacts::AddressPostcode))
                    .col(text(Contacts::AddressCity))
                    .col(text(Contacts::AddressState))
                    .col(text(Contacts::AddressCountry))
                    .col(timestamp(Contacts::CreatedAt))
                    .col(timestamp(Contacts::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // NULLs are distinct in a unique index on both databases: many
        // contacts may have no external id.
        manager
            .create_index(
                index("ux_contacts_external_id", Contacts::Table, &["external_id"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_contacts_created_at_id", ["created_at", "id"]),
            ("ix_contacts_updated_at_id", ["updated_at", "id"]),
            ("ix_contacts_sort_name_id", ["sort_name", "id"]),
        ] {
            manager
                .create_index(index(name, Contacts::Table, &cols))
                .await?;
        }
        manager
            .create_index(index(
                "ix_contacts_contact_type",
                Contacts::Table,
                &["contact_type"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ContactHandles::Table)
                    .col(uuid_pk(ContactHandles::Id))
                    .col(ColumnDef::new(ContactHandles::ContactId).uuid().not_null())
                    .col(text_not_null(ContactHandles::Source))
                    .col(text_not_null(ContactHandles::Handle))
                    .col(text_not_null(ContactHandles::SearchKey))
                    .col(
                        ColumnDef::new(ContactHandles::Position)
                            .integer()
                            .not_null(),
                    )
                    .foreign_key(&mut cascade_fk(
                        "fk_contact_handles_contact",
                        (ContactHandles::Table, ContactHandles::ContactId),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_contact_handles_source_handle",
                    ContactHandles::Table,
                    &["source", "handle"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_contact_handles_contact_position",
                ContactHandles::Table,
                &["contact_id", "position"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ContactMetadata::Table)
                    .col(ColumnDef::new(ContactMetadata::ContactId).uuid().not_null())
                    .col(text_not_null(ContactMetadata::Key))
                    .col(
                        ColumnDef::new(ContactMetadata::Value)
                            .json_binary()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ContactMetadata::ContactId)
                            .col(ContactMetadata::Key),
                    )
                    .foreign_key(&mut cascade_fk(
                        "fk_contact_metadata_contact",
                        (ContactMetadata::Table, ContactMetadata::ContactId),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ContactGroups::Table)
                    .col(uuid_pk(ContactGroups::Id))
                    .col(text_not_null(ContactGroups::Name))
                    .col(timestamp(ContactGroups::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ux_contact_groups_name", ContactGroups::Table, &["name"])
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ContactGroupMembers::Table)
                    .col(
                        ColumnDef::new(ContactGroupMembers::ContactId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ContactGroupMembers::GroupId)
                            .uuid()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ContactGroupMembers::ContactId)
                            .col(ContactGroupMembers::GroupId),
                    )
                    .foreign_key(&mut cascade_fk(
                        "fk_contact_group_members_contact",
                        (ContactGroupMembers::Table, ContactGroupMembers::ContactId),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contact_group_members_group")
                            .from(ContactGroupMembers::Table, ContactGroupMembers::GroupId)
                            .to(ContactGroups::Table, ContactGroups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_contact_group_members_group_contact",
                ContactGroupMembers::Table,
                &["group_id", "contact_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Conversations::Table)
                    .col(uuid_pk(Conversations::Id))
                    .col(text_not_null(Conversations::Channel))
                    .col(ColumnDef::new(Conversations::ContactId).uuid().null())
                    .col(timestamp(Conversations::CreatedAt))
                    .foreign_key(&mut cascade_fk(
                        "fk_conversations_contact",
                        (Conversations::Table, Conversations::ContactId),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_conversations_contact_created",
                Conversations::Table,
                &["contact_id", "created_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MergeRecords::Table)
                    .col(uuid_pk(MergeRecords::Id))
                    .col(ColumnDef::new(MergeRecords::ContactId).uuid().not_null())
                    .col(ColumnDef::new(MergeRecords::SourceId).uuid().not_null())
                    .col(
                        ColumnDef::new(MergeRecords::Snapshot)
                            .json_binary()
                            .not_null(),
                    )
                    .col(timestamp(MergeRecords::MergedAt))
                    .foreign_key(&mut cascade_fk(
                        "fk_merge_records_contact",
                        (MergeRecords::Table, MergeRecords::ContactId),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_merge_records_contact_merged",
                MergeRecords::Table,
                &["contact_id", "merged_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_merge_records_source",
                MergeRecords::Table,
                &["source_id"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MergeRecords::Table.into_iden(),
            Conversations::Table.into_iden(),
            ContactGroupMembers::Table.into_iden(),
            ContactGroups::Table.into_iden(),
            ContactMetadata::Table.into_iden(),
            ContactHandles::Table.into_iden(),
            Contacts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContactRedirects {
    Table,
    OldId,
    ContactId,
    MergedAt,
}

#[derive(DeriveIden)]
enum MergeRecords {
    Table,
    Moved,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A merged-away id -> the contact it lives on in now (kept one hop
        // deep: merging a destination repoints the redirects to it).
        manager
            .create_table(
                Table::create()
                    .table(ContactRedirects::Table)
                    .col(
                        ColumnDef::new(ContactRedirects::OldId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ContactRedirects::ContactId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ContactRedirects::MergedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contact_redirects_contact")
                            .from(ContactRedirects::Table, ContactRedirects::ContactId)
                            .to(Contacts::Table, Contacts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_contact_redirects_contact")
                    .table(ContactRedirects::Table)
                    .col(ContactRedirects::ContactId)
                    .to_owned(),
            )
            .await?;
        // What a merge moved and filled, so that unmerge undoes exactly that.
        manager
            .alter_table(
                Table::alter()
                    .table(MergeRecords::Table)
                    .add_column(ColumnDef::new(MergeRecords::Moved).json_binary().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MergeRecords::Table)
                    .drop_column(MergeRecords::Moved)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ContactRedirects::Table).to_owned())
            .await
    }
}

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TrustedDocuments {
    Table,
    Hash,
    Body,
    Name,
    CreatedAt,
}

/// Registered GraphQL documents (`contacts-api documents register`), by the
/// SHA-256 of their text: what `--trusted-documents` runs, and what every
/// replica finds a persisted query's hash in. A new, empty table: nothing to
/// carry over.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TrustedDocuments::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(TrustedDocuments::Hash)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(TrustedDocuments::Body).text().not_null())
                    .col(ColumnDef::new(TrustedDocuments::Name).string())
                    .col(
                        ColumnDef::new(TrustedDocuments::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TrustedDocuments::Table).to_owned())
            .await
    }
}

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DuplicateKeys {
    Table,
    Key,
    ContactId,
}

#[derive(DeriveIden)]
enum DuplicatePairs {
    Table,
    LowId,
    HighId,
    Score,
    Reasons,
}

#[derive(DeriveIden)]
enum DuplicateDismissals {
    Table,
    LowId,
    HighId,
    DismissedAt,
    Actor,
}

#[derive(DeriveIden)]
enum DuplicateIndex {
    Table,
    Id,
    Position,
    Built,
    BuildAfter,
}

/// The duplicate-candidate index (service::duplicates): each contact's
/// blocking keys, the scored pairs they bring together, the pairs people
/// said are not one person, and how far the index has read the change log.
/// New tables only: the index is built from the contacts by the server
/// itself, in batches, after the migration (`duplicate_index.built`), so the
/// migration costs nothing on a large database.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DuplicateKeys::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(DuplicateKeys::Key).string().not_null())
                    .col(ColumnDef::new(DuplicateKeys::ContactId).uuid().not_null())
                    .primary_key(
                        Index::create()
                            .col(DuplicateKeys::Key)
                            .col(DuplicateKeys::ContactId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_duplicate_keys_contact")
                    .table(DuplicateKeys::Table)
                    .col(DuplicateKeys::ContactId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DuplicatePairs::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(DuplicatePairs::LowId).uuid().not_null())
                    .col(ColumnDef::new(DuplicatePairs::HighId).uuid().not_null())
                    .col(ColumnDef::new(DuplicatePairs::Score).double().not_null())
                    .col(ColumnDef::new(DuplicatePairs::Reasons).string().not_null())
                    .primary_key(
                        Index::create()
                            .col(DuplicatePairs::LowId)
                            .col(DuplicatePairs::HighId),
                    )
                    .to_owned(),
            )
            .await?;
        // The keyset order of duplicateCandidates: (score desc, ids).
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_duplicate_pairs_rank")
                    .table(DuplicatePairs::Table)
                    .col((DuplicatePairs::Score, IndexOrder::Desc))
                    .col(DuplicatePairs::LowId)
                    .col(DuplicatePairs::HighId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_duplicate_pairs_high")
                    .table(DuplicatePairs::Table)
                    .col(DuplicatePairs::HighId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DuplicateDismissals::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(DuplicateDismissals::LowId).uuid().not_null())
                    .col(
                        ColumnDef::new(DuplicateDismissals::HighId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DuplicateDismissals::DismissedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DuplicateDismissals::Actor)
                            .string()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(DuplicateDismissals::LowId)
                            .col(DuplicateDismissals::HighId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_duplicate_dismissals_high")
                    .table(DuplicateDismissals::Table)
                    .col(DuplicateDismissals::HighId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DuplicateIndex::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(DuplicateIndex::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DuplicateIndex::Position).big_integer())
                    .col(
                        ColumnDef::new(DuplicateIndex::Built)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(DuplicateIndex::BuildAfter).uuid())
                    .to_owned(),
            )
            .await?;
        let row = Query::insert()
            .into_table(DuplicateIndex::Table)
            .columns([DuplicateIndex::Id])
            .values_panic([1.into()])
            .to_owned();
        manager.exec_stmt(row).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DuplicateIndex::Table.into_iden(),
            DuplicateDismissals::Table.into_iden(),
            DuplicatePairs::Table.into_iden(),
            DuplicateKeys::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

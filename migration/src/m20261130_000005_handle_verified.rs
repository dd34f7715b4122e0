//! Handles carry whether a token holder vouched for them (`verified`): a
//! visitor's handles are not, and a token holder's write naming one takes it
//! over instead of matching the visitor's contact. Every handle stored before
//! was written by a token holder (or in the no-token mode), so existing rows
//! are verified: the column's default fills them, with no pass over the data.
//! `handle_moves` records each handle taken over that way.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContactHandles {
    Table,
    Verified,
}

#[derive(DeriveIden)]
enum HandleMoves {
    Table,
    Id,
    Source,
    Handle,
    FromContactId,
    MovedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ContactHandles::Table)
                    .add_column(
                        ColumnDef::new(ContactHandles::Verified)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HandleMoves::Table)
                    .col(
                        ColumnDef::new(HandleMoves::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(HandleMoves::Source).string().not_null())
                    .col(ColumnDef::new(HandleMoves::Handle).string().not_null())
                    .col(ColumnDef::new(HandleMoves::FromContactId).uuid().not_null())
                    .col(
                        ColumnDef::new(HandleMoves::MovedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(HandleMoves::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ContactHandles::Table)
                    .drop_column(ContactHandles::Verified)
                    .to_owned(),
            )
            .await
    }
}

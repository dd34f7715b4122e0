use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportJobs {
    Table,
    Id,
    Status,
    Format,
    Layout,
    OnConflict,
    DryRun,
    FileName,
    BytesTotal,
    BytesRead,
    RowsRead,
    Created,
    Updated,
    Skipped,
    Failed,
    Error,
    Actor,
    StartedAt,
    HeartbeatAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum ImportJobFailures {
    Table,
    JobId,
    Seq,
    Line,
    Code,
    Field,
    Message,
    Reason,
}

#[derive(DeriveIden)]
enum ContactChanges {
    Table,
    JobId,
}

/// Import jobs (uploaded files imported in the background), the rows they
/// could not import, and the job each change-log entry was written by (what
/// undoing an import reads). New tables and a new nullable column: existing
/// rows need no data written, and the index covers only entries of jobs.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let counter = |name: ImportJobs| {
            ColumnDef::new(name)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(ImportJobs::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(ImportJobs::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ImportJobs::Status).string().not_null())
                    .col(ColumnDef::new(ImportJobs::Format).string().not_null())
                    .col(ColumnDef::new(ImportJobs::Layout).string())
                    .col(ColumnDef::new(ImportJobs::OnConflict).string().not_null())
                    .col(ColumnDef::new(ImportJobs::DryRun).boolean().not_null())
                    .col(ColumnDef::new(ImportJobs::FileName).string())
                    .col(ColumnDef::new(ImportJobs::BytesTotal).big_integer())
                    .col(counter(ImportJobs::BytesRead))
                    .col(counter(ImportJobs::RowsRead))
                    .col(counter(ImportJobs::Created))
                    .col(counter(ImportJobs::Updated))
                    .col(counter(ImportJobs::Skipped))
                    .col(counter(ImportJobs::Failed))
                    .col(ColumnDef::new(ImportJobs::Error).text())
                    .col(ColumnDef::new(ImportJobs::Actor).string().not_null())
                    .col(
                        ColumnDef::new(ImportJobs::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ImportJobs::HeartbeatAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ImportJobs::FinishedAt).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ImportJobFailures::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(ImportJobFailures::JobId).uuid().not_null())
                    .col(
                        ColumnDef::new(ImportJobFailures::Seq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ImportJobFailures::Line)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ImportJobFailures::Code).string().not_null())
                    .col(ColumnDef::new(ImportJobFailures::Field).string())
                    .col(ColumnDef::new(ImportJobFailures::Message).text().not_null())
                    .col(ColumnDef::new(ImportJobFailures::Reason).string())
                    .primary_key(
                        Index::create()
                            .col(ImportJobFailures::JobId)
                            .col(ImportJobFailures::Seq),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ContactChanges::Table)
                    .add_column(ColumnDef::new(ContactChanges::JobId).uuid())
                    .to_owned(),
            )
            .await?;
        // Partial: entries written outside jobs (nearly all) are not indexed.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS ix_contact_changes_job \
                 ON contact_changes (job_id, position) WHERE job_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ix_contact_changes_job")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ContactChanges::Table)
                    .drop_column(ContactChanges::JobId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ImportJobFailures::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ImportJobs::Table).to_owned())
            .await
    }
}

//! Export: every contact a filter selects, read in one consistent snapshot
//! (a REPEATABLE READ, READ ONLY transaction on PostgreSQL; one read
//! transaction on SQLite, whose WAL snapshot holds until it ends), a page
//! of contacts and their relations at a time, and handed to a writer as
//! text: memory holds one page, whatever the number of contacts.

use std::collections::HashMap;

use sea_orm::{
    AccessMode, DatabaseConnection, DatabaseTransaction, DbBackend, IsolationLevel,
    TransactionTrait,
};

use super::list::{self, ContactFilter, Direction, OrderField, PageRequest, Position};
use super::relations;
use crate::error::AppResult;
use crate::formats::export::{self, ExportedContact};

/// Contacts read per page.
const PAGE: u64 = 500;

/// What the contacts are written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// One CreateContactInput object per line, with an `exported` key
    /// (id, createdAt, ...): `import` reads it back.
    Ndjson,
    /// A header row, then one row per contact (for spreadsheets).
    Csv,
    /// vCard 4.0, one card per contact.
    Vcard,
}

impl ExportFormat {
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Ndjson => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Vcard => "text/vcard; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
            Self::Vcard => "vcf",
        }
    }
}

/// What an export sends: text, or at the end why it stopped short (the
/// receiver must not take a stream without its end for a whole file).
pub type Chunk = Result<String, std::io::Error>;

/// Sends every contact `filter` selects, oldest first, to `out`: a chunk of
/// text per page, waiting while the channel is full (a slow reader slows
/// the export; memory stays at the channel's pages). Stops if the receiver
/// is dropped. If the export fails, an error is sent last. Returns how many
/// contacts were sent.
pub async fn export(
    db: &DatabaseConnection,
    filter: &ContactFilter,
    format: ExportFormat,
    out: tokio::sync::mpsc::Sender<Chunk>,
) -> anyhow::Result<u64> {
    let result = export_all(db, filter, format, &out).await;
    if let Err(e) = &result {
        let _ = out
            .send(Err(std::io::Error::other(format!(
                "the export stopped before its end: {e}"
            ))))
            .await;
    }
    result
}

async fn export_all(
    db: &DatabaseConnection,
    filter: &ContactFilter,
    format: ExportFormat,
    out: &tokio::sync::mpsc::Sender<Chunk>,
) -> anyhow::Result<u64> {
    let txn = snapshot(db).await?;
    let written = export_in(&txn, filter, format, out).await;
    // Read only: nothing to keep.
    txn.rollback().await.ok();
    written
}

async fn snapshot(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    Ok(match db.get_database_backend() {
        DbBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        _ => db.begin().await?,
    })
}

async fn export_in(
    txn: &DatabaseTransaction,
    filter: &ContactFilter,
    format: ExportFormat,
    out: &tokio::sync::mpsc::Sender<Chunk>,
) -> anyhow::Result<u64> {
    let send = |text: String| {
        let out = out.clone();
        async move {
            out.send(Ok(text))
                .await
                .map_err(|_| anyhow::anyhow!("the export's reader went away"))
        }
    };
    let mut written = 0u64;
    if format == ExportFormat::Csv {
        send(csv_line(
            export::csv_header().into_iter().map(str::to_owned),
        ))
        .await?;
    }
    let mut after: Option<Position> = None;
    loop {
        let page = list::page(
            txn,
            &PageRequest {
                filter: filter.clone(),
                field: OrderField::CreatedAt,
                direction: Direction::Asc,
                after: after.clone(),
                before: None,
                limit: PAGE,
                forward: true,
            },
        )
        .await?;
        let Some(last) = page.rows.last() else { break };
        after = Some(Position::of(last, OrderField::CreatedAt));
        let ids: Vec<uuid::Uuid> = page.rows.iter().map(|m| m.id).collect();
        let mut handles = relations::handles_for(txn, &ids).await?;
        let mut groups = relations::group_names_for(txn, &ids).await?;
        let mut metadata = relations::metadata_for(txn, &ids).await?;
        let mut conversations = relations::conversations_for(txn, &ids).await?;
        let mut merges = relations::merge_records_for(txn, &ids).await?;
        let mut text = String::new();
        for model in page.rows {
            let id = model.id;
            let contact = ExportedContact {
                handles: take(&mut handles, id),
                group_names: take(&mut groups, id),
                metadata: take(&mut metadata, id),
                conversations: take(&mut conversations, id),
                merges: take(&mut merges, id),
                model,
            };
            match format {
                ExportFormat::Ndjson => {
                    text.push_str(&export::ndjson(&contact));
                    text.push('\n');
                }
                ExportFormat::Csv => {
                    text.push_str(&csv_line(export::csv_record(&contact).into_iter()))
                }
                ExportFormat::Vcard => text.push_str(&export::vcard(&contact)),
            }
            written += 1;
        }
        send(text).await?;
        if !page.has_more {
            break;
        }
    }
    Ok(written)
}

fn take<T: Default>(map: &mut HashMap<uuid::Uuid, T>, id: uuid::Uuid) -> T {
    map.remove(&id).unwrap_or_default()
}

/// One CSV record (RFC 4180 quoting), CRLF-terminated.
fn csv_line(cells: impl Iterator<Item = String>) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let cells: Vec<String> = cells.collect();
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(&cells);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

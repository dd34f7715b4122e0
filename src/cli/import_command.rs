//! `contacts-api import FILE`, as the command line runs it.

use super::args::{ConflictArg, ImportArgs};
use super::import::{run, FileFormat, ImportOptions};
use super::progress::Reporter;
use crate::config::Config;
use crate::formats::Mapping;
use crate::service::changes::{self, Origin};
use crate::service::events::EventBus;
use crate::service::import::OnConflictMode;

/// How long the command waits, at the end, for its events to be sent.
const EVENTS_DRAIN: std::time::Duration = std::time::Duration::from_secs(5);

/// `contacts-api import FILE`: reads the file in batches, prints a summary
/// and every failed row; fails when any row failed.
pub async fn command(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    let format = match args.format.or_else(|| FileFormat::from_path(&args.file)) {
        Some(f) => f,
        None => anyhow::bail!(
            "cannot tell the format of {}: give --format json|ndjson|csv|vcard",
            args.file.display()
        ),
    };
    let rules = config.rules()?;
    crate::app::migrate(&config.database_url).await?;
    let db = crate::app::connect(&config.database_url, 2).await?;
    let opts = ImportOptions {
        file: args.file.clone(),
        format,
        on_conflict: match args.on_conflict {
            ConflictArg::Fail => OnConflictMode::Fail,
            ConflictArg::Skip => OnConflictMode::Skip,
            ConflictArg::Update => OnConflictMode::Update,
            ConflictArg::FillBlanks => OnConflictMode::FillBlanks,
        },
        atomic: args.atomic,
        dry_run: args.dry_run,
        batch_size: args.batch_size,
        delimiter: args.delimiter,
        mapping: Mapping(args.map.clone()),
    };
    let total = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let progress = Reporter::new(total);
    // On PostgreSQL, running servers hear of the rows as they commit.
    let events = EventBus::announcer(&db).await?;
    let summary =
        changes::with_origin(Origin::cli(), run(&db, &rules, &events, &opts, &progress)).await;
    events.drain(EVENTS_DRAIN).await;
    let summary = summary?;
    progress.finish();

    let written = if args.dry_run {
        " (dry run: nothing written)"
    } else if args.atomic && !summary.failed.is_empty() {
        " (atomic: nothing written)"
    } else {
        ""
    };
    println!(
        "{}: {} rows, {} created, {} updated, {} skipped, {} failed{written}",
        args.file.display(),
        summary.rows,
        summary.created,
        summary.updated,
        summary.skipped,
        summary.failed.len()
    );
    for r in &summary.failed {
        let field = r
            .field
            .as_deref()
            .map(|f| format!(" {f}"))
            .unwrap_or_default();
        println!("line {}: {}{field}: {}", r.line, r.code, r.message);
    }
    if let Some(path) = &args.rejects {
        let mut out = String::new();
        for r in &summary.failed {
            out.push_str(&serde_json::to_string(r)?);
            out.push('\n');
        }
        std::fs::write(path, out)?;
    }
    if summary.failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} rows failed", summary.failed.len())
    }
}

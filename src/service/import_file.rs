//! An address-book file imported in batches (the command line's `import`,
//! and import jobs of uploaded files): a reader thread parses (formats)
//! while the database writes; the channel between them holds two batches,
//! so memory stays flat whatever the file's size.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;

use crate::domain::{ContactInput, Mode, Rules};
pub use crate::formats::FileFormat;
use crate::formats::{self, lenient, Detected, Mapping, Parsed, ReadOptions};
use crate::service::changes;
use crate::service::events::EventBus;
use crate::service::import::{self, ImportRow, OnConflictMode, ReadBack, RowOutcome};
use crate::service::tx::{self, Decision};

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub file: PathBuf,
    pub format: FileFormat,
    pub on_conflict: OnConflictMode,
    /// All or nothing over the whole file, in one transaction.
    pub atomic: bool,
    /// Plan every row, write nothing: the whole file in one write that is
    /// rolled back.
    pub dry_run: bool,
    pub batch_size: usize,
    /// The CSV field delimiter; None: detected from the header line.
    pub delimiter: Option<u8>,
    /// Where CSV columns go (--map 'Column=field').
    pub mapping: Mapping,
}

/// A row that was not written.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rejected {
    pub line: usize,
    pub code: String,
    pub field: Option<String>,
    pub message: String,
    /// AMBIGUOUS_MATCH and the like (AppError::reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: Vec<Rejected>,
}

/// Progress as the file is read.
pub trait Progress: Sync {
    /// After each batch. An import job moves the failed rows out of
    /// `summary` (to the database), so that its memory stays flat.
    fn advance(&self, bytes_read: u64, summary: &mut Summary);
    /// What the reader recognised in the file (a CSV export's layout).
    fn detected(&self, _detected: &Detected) {}
}

/// Imports the file; the summary says what happened to every row.
///
/// Each batch is written through the service's write path. With `--atomic`
/// the whole file is one write (`tx::write_once`): it commits only if every
/// row was good and the file was read to its end, else it rolls back.
pub async fn run(
    db: &DatabaseConnection,
    rules: &Rules,
    events: &EventBus,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> anyhow::Result<Summary> {
    let file =
        File::open(&opts.file).with_context(|| format!("cannot open {}", opts.file.display()))?;
    run_reader(db, rules, events, opts, file, progress).await
}

/// Imports an open file (`opts.file` names it in messages only).
pub async fn run_reader(
    db: &DatabaseConnection,
    rules: &Rules,
    events: &EventBus,
    opts: &ImportOptions,
    file: File,
    progress: &dyn Progress,
) -> anyhow::Result<Summary> {
    let mut batches = Batches::open(opts, file, rules, progress);
    let outcome = if opts.atomic || opts.dry_run {
        import_in_one_transaction(db, events, &mut batches).await
    } else {
        import_batch_by_batch(db, events, &mut batches).await
    };
    let read = batches.finish_reading();
    let mut summary = batches.summary;
    outcome.and(read)?;
    summary.failed.sort_by_key(|r| r.line);
    Ok(summary)
}

/// Every batch in its own write: good rows are kept whatever later rows do.
async fn import_batch_by_batch(
    db: &DatabaseConnection,
    events: &EventBus,
    batches: &mut Batches<'_>,
) -> anyhow::Result<()> {
    while let Some((rows, lines)) = batches.next().await {
        let mode = batches.opts.on_conflict;
        let imported =
            patiently(|| import::import(db, events, &rows, mode, false, ReadBack::Nothing)).await?;
        batches.tally(&imported.rows, &lines);
    }
    Ok(())
}

/// How long a batch waits out a busy pool or SQLite's write lock before
/// the import gives up: a file import has no client to retry it (a request
/// would answer SERVER_BUSY or WRITE_LOCKED at once).
const BATCH_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs a batch's write again while the pool is busy or the write lock
/// taken (both mean nothing was applied; a lost connection may not, and is
/// not retried), for up to BATCH_PATIENCE.
async fn patiently<T, F, Fut>(mut write: F) -> crate::error::AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::error::AppResult<T>>,
{
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        match write().await {
            Err(crate::error::AppError::ServerBusy(_) | crate::error::AppError::WriteLocked)
                if started.elapsed() < BATCH_PATIENCE =>
            {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

/// The whole file in one write: all or nothing. The write holds the
/// database's write lock (SQLite) until the file is read to its end. A dry
/// run is the same write, rolled back whatever happens: each row is
/// planned exactly as the import would meet it, rows of earlier batches
/// included.
async fn import_in_one_transaction(
    db: &DatabaseConnection,
    events: &EventBus,
    batches: &mut Batches<'_>,
) -> anyhow::Result<()> {
    let read = tx::write_once(db, events, async |txn| {
        let dry_run = batches.opts.dry_run;
        while let Some((rows, lines)) = batches.next().await {
            let mode = batches.opts.on_conflict;
            let imported = import::import_in(txn, &rows, mode, !dry_run, ReadBack::Nothing).await?;
            // Logged batch by batch, so that memory stays flat.
            changes::flush(txn).await?;
            batches.tally(&imported.rows, &lines);
        }
        // The file must have been read to its end before anything commits.
        let read = batches.finish_reading();
        Ok(if dry_run {
            Decision::RollBack(read)
        } else if read.is_ok() && batches.summary.failed.is_empty() {
            Decision::Commit(read)
        } else {
            Decision::RollBack(read)
        })
    })
    .await?;
    let nothing_written = !batches.summary.failed.is_empty() || read.is_err();
    if nothing_written && !batches.opts.dry_run {
        let summary = &mut batches.summary;
        (summary.created, summary.updated, summary.skipped) = (0, 0, 0);
    }
    read
}

/// The file's rows as a reader thread parses them, a batch at a time, and
/// the summary of what became of them.
struct Batches<'a> {
    opts: &'a ImportOptions,
    rules: &'a Rules,
    progress: &'a dyn Progress,
    rx: Option<mpsc::Receiver<Vec<Parsed>>>,
    /// What the reader recognised, once it has read the header.
    detected: std::sync::mpsc::Receiver<Detected>,
    /// Refused handles are set aside rather than failing their row.
    lenient: bool,
    reader: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    bytes_read: Arc<AtomicU64>,
    summary: Summary,
}

impl<'a> Batches<'a> {
    fn open(
        opts: &'a ImportOptions,
        file: File,
        rules: &'a Rules,
        progress: &'a dyn Progress,
    ) -> Self {
        let bytes_read = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel::<Vec<Parsed>>(2);
        let (detected_tx, detected) = std::sync::mpsc::channel();
        let reader = {
            let read = ReadOptions {
                format: opts.format,
                delimiter: opts.delimiter,
                mapping: opts.mapping.clone(),
            };
            let (batch_size, bytes_read) = (opts.batch_size.max(1), bytes_read.clone());
            std::thread::spawn(move || {
                read_file(file, &read, batch_size, bytes_read, tx, detected_tx)
            })
        };
        Self {
            opts,
            rules,
            progress,
            rx: Some(rx),
            detected,
            lenient: opts.format == FileFormat::Vcard,
            reader: Some(reader),
            bytes_read,
            summary: Summary::default(),
        }
    }

    /// The next batch's valid rows and their lines; rows that did not parse
    /// go straight to the summary. None once the file is read.
    async fn next(&mut self) -> Option<(Vec<ImportRow>, Vec<usize>)> {
        let batch = self.rx.as_mut()?.recv().await;
        while let Ok(detected) = self.detected.try_recv() {
            self.progress.detected(&detected);
            self.lenient = detected.lenient(self.opts.format);
        }
        let batch = batch?;
        let mut rows = Vec::with_capacity(batch.len());
        let mut lines = Vec::with_capacity(batch.len());
        for parsed in batch {
            self.summary.rows += 1;
            match parsed.row {
                Ok(input) => {
                    rows.push(self.validated(input, parsed.line));
                    lines.push(parsed.line);
                }
                Err(message) => self.summary.failed.push(Rejected {
                    line: parsed.line,
                    code: "BAD_USER_INPUT".into(),
                    field: None,
                    message,
                    reason: None,
                }),
            }
        }
        Some((rows, lines))
    }

    fn validated(&self, input: ContactInput, line: usize) -> ImportRow {
        let rules = self.rules;
        let validate = |input: ContactInput, mode| match self.lenient {
            true => lenient::validate(input, rules, "row", mode),
            false => input.validate(rules, "row", mode),
        };
        ImportRow {
            update: self
                .opts
                .on_conflict
                .updates()
                .then(|| validate(input.clone(), Mode::Update)),
            create: validate(input, Mode::Create),
            origin: format!("line {line}"),
        }
    }

    /// Counts what the database did with a batch's rows.
    fn tally(&mut self, outcomes: &[RowOutcome], lines: &[usize]) {
        tally(&mut self.summary, outcomes, lines);
        self.progress
            .advance(self.bytes_read.load(Ordering::Relaxed), &mut self.summary);
    }

    /// Stops reading (if the import stopped early) and says whether the
    /// file was read without error. Later calls answer Ok.
    fn finish_reading(&mut self) -> anyhow::Result<()> {
        // Dropping the receiver first unblocks a reader waiting on a full
        // channel; otherwise the join below would hang.
        self.rx = None;
        match self.reader.take() {
            Some(reader) => reader
                .join()
                .map_err(|_| anyhow::anyhow!("the file reader panicked"))?,
            None => Ok(()),
        }
    }
}

fn tally(summary: &mut Summary, outcomes: &[RowOutcome], lines: &[usize]) {
    for (outcome, line) in outcomes.iter().zip(lines) {
        match outcome {
            RowOutcome::Created(_) => summary.created += 1,
            RowOutcome::Updated(_) => summary.updated += 1,
            RowOutcome::Skipped(_) => summary.skipped += 1,
            RowOutcome::NotWritten => {}
            RowOutcome::Failed(e) => summary.failed.push(Rejected {
                line: *line,
                code: e.code().to_owned(),
                field: e.field().map(str::to_owned),
                message: e.to_string(),
                reason: e.reason().map(str::to_owned),
            }),
        }
    }
}

struct Batcher {
    batch: Vec<Parsed>,
    size: usize,
    tx: mpsc::Sender<Vec<Parsed>>,
}

impl Batcher {
    fn push(&mut self, parsed: Parsed) -> anyhow::Result<()> {
        self.batch.push(parsed);
        if self.batch.len() >= self.size {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.size));
            // The importer stopped (it failed): stop reading.
            self.tx
                .blocking_send(batch)
                .map_err(|_| anyhow::anyhow!("import stopped"))?;
        }
        Ok(())
    }
}

fn read_file(
    file: File,
    opts: &ReadOptions,
    batch_size: usize,
    bytes: Arc<AtomicU64>,
    tx: mpsc::Sender<Vec<Parsed>>,
    detected: std::sync::mpsc::Sender<Detected>,
) -> anyhow::Result<()> {
    let mut out = Batcher {
        batch: Vec::with_capacity(batch_size),
        size: batch_size,
        tx,
    };
    formats::read(
        file,
        opts,
        bytes,
        &mut |d| {
            let _ = detected.send(d.clone());
        },
        &mut |parsed| out.push(parsed),
    )?;
    out.flush()
}

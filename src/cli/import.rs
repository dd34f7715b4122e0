//! `contacts-api import FILE`: streams a JSON array, NDJSON or CSV file through
//! the import service in batches. A reader thread parses while the database
//! writes; the channel between them holds two batches, so memory stays flat
//! whatever the file's size.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use sea_orm::DatabaseConnection;
use serde::de::{Error as _, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::domain::{numbers, ContactInput, Mode, Rules, TEXT_FIELDS};
use crate::graphql::input::CreateContactInput;
use crate::service::changes;
use crate::service::events::EventBus;
use crate::service::import::{self, ImportRow, OnConflictMode, ReadBack, RowOutcome};
use crate::service::tx::{self, Decision};

/// File formats `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    /// One JSON array of CreateContactInput objects.
    Json,
    /// One CreateContactInput object per line.
    Ndjson,
    /// A header row of input field names (via.SOURCE, metadata.KEY, address.FIELD;
    /// groupNames and links separated by ';').
    Csv,
}

impl FileFormat {
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "ndjson" | "jsonl" => Some(Self::Ndjson),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub file: PathBuf,
    pub format: FileFormat,
    pub on_conflict: OnConflictMode,
    /// All or nothing over the whole file, in one transaction.
    pub atomic: bool,
    pub batch_size: usize,
    /// The CSV field delimiter; None: detected from the header line.
    pub delimiter: Option<u8>,
}

/// A row that was not written.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rejected {
    pub line: usize,
    pub code: String,
    pub field: Option<String>,
    pub message: String,
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
pub trait Progress {
    fn advance(&self, bytes_read: u64, summary: &Summary);
}

struct Parsed {
    line: usize,
    row: Result<ContactInput, String>,
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
    let mut batches = Batches::open(opts, rules, progress)?;
    let outcome = if opts.atomic {
        import_atomically(db, events, &mut batches).await
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
        let imported = import::import(db, events, &rows, mode, false, ReadBack::Nothing).await?;
        batches.tally(&imported.rows, &lines);
    }
    Ok(())
}

/// The whole file in one write: all or nothing. The write holds the
/// database's write lock (SQLite) until the file is read to its end.
async fn import_atomically(
    db: &DatabaseConnection,
    events: &EventBus,
    batches: &mut Batches<'_>,
) -> anyhow::Result<()> {
    let read = tx::write_once(db, events, async |txn| {
        while let Some((rows, lines)) = batches.next().await {
            let mode = batches.opts.on_conflict;
            let imported = import::import_in(txn, &rows, mode, true, ReadBack::Nothing).await?;
            // Logged batch by batch, so that memory stays flat.
            changes::flush(txn).await?;
            batches.tally(&imported.rows, &lines);
        }
        // The file must have been read to its end before anything commits.
        let read = batches.finish_reading();
        Ok(if read.is_ok() && batches.summary.failed.is_empty() {
            Decision::Commit(read)
        } else {
            Decision::RollBack(read)
        })
    })
    .await?;
    if !batches.summary.failed.is_empty() || read.is_err() {
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
    reader: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    bytes_read: Arc<AtomicU64>,
    summary: Summary,
}

impl<'a> Batches<'a> {
    fn open(
        opts: &'a ImportOptions,
        rules: &'a Rules,
        progress: &'a dyn Progress,
    ) -> anyhow::Result<Self> {
        let file = File::open(&opts.file)
            .with_context(|| format!("cannot open {}", opts.file.display()))?;
        let bytes_read = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel::<Vec<Parsed>>(2);
        let reader = {
            let (format, delimiter, batch_size, bytes_read) = (
                opts.format,
                opts.delimiter,
                opts.batch_size.max(1),
                bytes_read.clone(),
            );
            std::thread::spawn(move || {
                read_file(file, format, delimiter, batch_size, bytes_read, tx)
            })
        };
        Ok(Self {
            opts,
            rules,
            progress,
            rx: Some(rx),
            reader: Some(reader),
            bytes_read,
            summary: Summary::default(),
        })
    }

    /// The next batch's valid rows and their lines; rows that did not parse
    /// go straight to the summary. None once the file is read.
    async fn next(&mut self) -> Option<(Vec<ImportRow>, Vec<usize>)> {
        let batch = self.rx.as_mut()?.recv().await?;
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
                }),
            }
        }
        Some((rows, lines))
    }

    fn validated(&self, input: ContactInput, line: usize) -> ImportRow {
        let rules = self.rules;
        ImportRow {
            update: (self.opts.on_conflict == OnConflictMode::Update)
                .then(|| input.clone().validate(rules, "row", Mode::Update)),
            create: input.validate(rules, "row", Mode::Create),
            origin: format!("line {line}"),
        }
    }

    /// Counts what the database did with a batch's rows.
    fn tally(&mut self, outcomes: &[RowOutcome], lines: &[usize]) {
        tally(&mut self.summary, outcomes, lines);
        self.progress
            .advance(self.bytes_read.load(Ordering::Relaxed), &self.summary);
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
            RowOutcome::Skipped => summary.skipped += 1,
            RowOutcome::NotWritten => {}
            RowOutcome::Failed(e) => summary.failed.push(Rejected {
                line: *line,
                code: e.code().to_owned(),
                field: e.field().map(str::to_owned),
                message: e.to_string(),
            }),
        }
    }
}

/// Counts bytes and newlines as the parser pulls them. It sits above the
/// buffer: serde_json pulls one byte at a time, so the newline count is the
/// line it has reached. Bytes are published to the progress counter in steps.
struct Counting<R> {
    inner: R,
    unpublished: u64,
    bytes: Arc<AtomicU64>,
    newlines: Rc<Cell<usize>>,
    /// Where the newlines the parser has not yet passed are (see Lines).
    lines: Rc<RefCell<Lines>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.unpublished += n as u64;
        if self.unpublished >= 64 * 1024 || n == 0 {
            self.bytes
                .fetch_add(std::mem::take(&mut self.unpublished), Ordering::Relaxed);
        }
        let lines = buf[..n].iter().filter(|b| **b == b'\n').count();
        self.newlines.set(self.newlines.get() + lines);
        self.lines.borrow_mut().saw(&buf[..n]);
        Ok(n)
    }
}

/// The line a record starting at a byte offset of the stream is on, for
/// parsers that report offsets (the csv crate's own line count is off for
/// CRLF files). A record's offset may point before blank lines that precede
/// it (the csv crate skips them): its line is that of the first line with
/// content at or after the offset. Holds only the line starts between the
/// parser's position and what it has read ahead: bounded by its buffer, not
/// by the file.
struct Lines {
    /// Bytes seen so far.
    read: u64,
    /// The 1-based line the next byte is on.
    line: usize,
    /// Where the current line starts, and whether it has content yet (a
    /// byte other than CR and LF).
    line_start: u64,
    has_content: bool,
    /// (offset, line) of lines with content not yet passed.
    starts: VecDeque<(u64, usize)>,
}

impl Default for Lines {
    fn default() -> Self {
        Self {
            read: 0,
            line: 1,
            line_start: 0,
            has_content: false,
            starts: VecDeque::new(),
        }
    }
}

impl Lines {
    fn saw(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let offset = self.read + i as u64;
            match *b {
                b'\n' => {
                    self.line += 1;
                    self.line_start = offset + 1;
                    self.has_content = false;
                }
                b'\r' => {}
                _ if !self.has_content => {
                    self.has_content = true;
                    self.starts.push_back((self.line_start, self.line));
                }
                _ => {}
            }
        }
        self.read += bytes.len() as u64;
    }

    /// The 1-based line of a record starting at `offset`; offsets must not
    /// go backwards.
    fn line_of(&mut self, offset: u64) -> usize {
        while self
            .starts
            .front()
            .is_some_and(|(start, _)| *start < offset)
        {
            self.starts.pop_front();
        }
        self.starts.front().map_or(self.line, |(_, line)| *line)
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
    format: FileFormat,
    delimiter: Option<u8>,
    batch_size: usize,
    bytes: Arc<AtomicU64>,
    tx: mpsc::Sender<Vec<Parsed>>,
) -> anyhow::Result<()> {
    let newlines = Rc::new(Cell::new(0));
    let mut buffered = BufReader::with_capacity(256 * 1024, file);
    skip_byte_order_mark(&mut buffered)?;
    let csv_dialect = match format {
        FileFormat::Csv => Some(csv_dialect(&mut buffered, delimiter)?),
        _ => None,
    };
    let lines = Rc::new(RefCell::new(Lines::default()));
    let reader = Counting {
        inner: buffered,
        unpublished: 0,
        bytes,
        newlines: newlines.clone(),
        lines: lines.clone(),
    };
    let mut out = Batcher {
        batch: Vec::with_capacity(batch_size),
        size: batch_size,
        tx,
    };
    match format {
        FileFormat::Ndjson => {
            for (i, line) in BufReader::new(reader).lines().enumerate() {
                let line = line.context("reading the file")?;
                if line.trim().is_empty() {
                    continue;
                }
                let row = parse_row(&line)
                    .map_err(|e| format!("not JSON: {e}"))
                    .and_then(row_from_json);
                out.push(Parsed { line: i + 1, row })?;
            }
        }
        FileFormat::Json => {
            // serde_json pulls bytes one at a time from the BufReader, so the
            // newline count tells the line each element ends on.
            let mut de = serde_json::Deserializer::from_reader(reader);
            let mut failure = None;
            let mut each = |raw: &RawValue| -> Result<(), String> {
                let line = newlines.get() + 1;
                let row = parse_row(raw.get())
                    .map_err(|e| format!("not JSON: {e}"))
                    .and_then(row_from_json);
                out.push(Parsed { line, row }).map_err(|e| {
                    let message = e.to_string();
                    failure = Some(e);
                    message
                })
            };
            let parsed = serde::Deserializer::deserialize_seq(&mut de, Elements(&mut each));
            if let Some(e) = failure {
                return Err(e);
            }
            parsed.map_err(|e| anyhow::anyhow!("the file is not a JSON array of objects: {e}"))?;
            // Only whitespace may follow the array: a second array or stray
            // text means the file is not what it seems, and nothing commits.
            de.end().map_err(|e| {
                anyhow::anyhow!(
                    "the file goes on after its JSON array (line {}): {e}",
                    newlines.get() + 1
                )
            })?;
        }
        FileFormat::Csv => {
            let dialect = csv_dialect.unwrap_or_default();
            let mut csv = csv::ReaderBuilder::new()
                .flexible(false)
                .delimiter(dialect.delimiter)
                .from_reader(reader);
            let headers = csv.headers().context("reading the CSV header")?.clone();
            let columns: Vec<Column> = headers
                .iter()
                .map(Column::parse)
                .collect::<Result<_, _>>()?;
            for record in csv.records() {
                let (at, row) = match record {
                    Ok(r) => (
                        r.position().cloned(),
                        row_from_json(csv_object(&columns, &r)),
                    ),
                    Err(e) => (e.position().cloned(), Err(format!("bad CSV record: {e}"))),
                };
                let line = at.map_or(0, |p| lines.borrow_mut().line_of(p.byte()));
                // Lines of the file: a `sep=` line before the header counts.
                let line = line + dialect.lines_before;
                out.push(Parsed { line, row })?;
            }
        }
    }
    out.flush()
}

/// Skips a UTF-8 byte-order mark (PowerShell and Notepad write one) at the
/// start of the file, whatever its format.
fn skip_byte_order_mark(reader: &mut BufReader<File>) -> anyhow::Result<()> {
    let start = reader.fill_buf().context("reading the file")?;
    if start.starts_with(&[0xEF, 0xBB, 0xBF]) {
        reader.consume(3);
    }
    Ok(())
}

/// How a CSV file separates its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CsvDialect {
    delimiter: u8,
    /// Lines consumed before the header (Excel's `sep=;` line).
    lines_before: usize,
}

impl Default for CsvDialect {
    fn default() -> Self {
        Self {
            delimiter: b',',
            lines_before: 0,
        }
    }
}

/// The delimiter: `forced` (--delimiter) if given; else Excel's `sep=X`
/// first line (consumed); else whichever of `,` `;` and tab the header
/// line holds most of outside quotes (Excel writes `;` in most of Europe).
fn csv_dialect(reader: &mut BufReader<File>, forced: Option<u8>) -> anyhow::Result<CsvDialect> {
    let start = reader.fill_buf().context("reading the file")?;
    let first_line = start.split(|b| *b == b'\n').next().unwrap_or_default();
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    if let Some(sep) = excel_separator(first_line) {
        let consumed = (first_line.len() + 1).min(start.len());
        let consumed = if start.get(first_line.len()) == Some(&b'\r') {
            (consumed + 1).min(start.len())
        } else {
            consumed
        };
        reader.consume(consumed);
        return Ok(CsvDialect {
            delimiter: forced.unwrap_or(sep),
            lines_before: 1,
        });
    }
    Ok(CsvDialect {
        delimiter: forced.unwrap_or_else(|| likely_delimiter(first_line)),
        lines_before: 0,
    })
}

/// `sep=;` (any one character), as Excel writes and reads it.
fn excel_separator(line: &[u8]) -> Option<u8> {
    match line {
        [s, e, p, b'=', sep] if [s, e, p].map(u8::to_ascii_lowercase) == *b"sep" => Some(*sep),
        _ => None,
    }
}

/// The most frequent of `,` `;` and tab outside double quotes; `,` on a tie.
fn likely_delimiter(header: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for b in header {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

/// Calls the function on each element of a JSON array as it is parsed.
/// One row's JSON, with numbers that parsing would round marked so that
/// validation refuses them by field (domain::numbers), as the API does.
fn parse_row(text: &str) -> serde_json::Result<Value> {
    match numbers::mark_inexact_json(text) {
        Some(marked) => serde_json::from_str(&marked),
        None => serde_json::from_str(text),
    }
}

struct Elements<'a, F>(&'a mut F);

impl<'de, F: FnMut(&RawValue) -> Result<(), String>> Visitor<'de> for Elements<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of contacts")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            (self.0)(&raw).map_err(A::Error::custom)?;
        }
        Ok(())
    }
}

/// A CSV column: where its cells go in the row object.
enum Column {
    Field(String),
    List(String),
    Bool(String),
    Via(String),
    Metadata(Vec<String>),
    Address(String),
}

impl Column {
    fn parse(name: &str) -> anyhow::Result<Self> {
        let name = name.trim();
        if name == "contactType" || (TEXT_FIELDS.contains(&name) && !name.starts_with("address.")) {
            return Ok(Self::Field(name.to_owned()));
        }
        if name == "groupNames" || name == "links" {
            return Ok(Self::List(name.to_owned()));
        }
        if name == "isSpammer" {
            return Ok(Self::Bool(name.to_owned()));
        }
        if let Some(source) = name.strip_prefix("via.").filter(|s| !s.is_empty()) {
            return Ok(Self::Via(source.to_owned()));
        }
        if let Some(path) = name.strip_prefix("metadata.").filter(|s| !s.is_empty()) {
            return Ok(Self::Metadata(path.split('.').map(str::to_owned).collect()));
        }
        if let Some(field) = name
            .strip_prefix("address.")
            .filter(|_| TEXT_FIELDS.contains(&name))
        {
            return Ok(Self::Address(field.to_owned()));
        }
        anyhow::bail!(
            "CSV column {name:?} is not an input field (use e.g. displayName, via.phone, metadata.KEY, address.city, groupNames)"
        )
    }
}

/// A CSV record as the JSON object of a CreateContactInput; empty cells are absent.
fn csv_object(columns: &[Column], record: &csv::StringRecord) -> Value {
    let mut row = Map::new();
    for (column, cell) in columns.iter().zip(record.iter()) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        match column {
            Column::Field(name) => {
                row.insert(name.clone(), Value::String(cell.to_owned()));
            }
            Column::List(name) => {
                let items = cell
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect();
                row.insert(name.clone(), Value::Array(items));
            }
            Column::Bool(name) => {
                let value = match cell.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" => Value::Bool(true),
                    "false" | "no" | "0" => Value::Bool(false),
                    _ => Value::String(cell.to_owned()),
                };
                row.insert(name.clone(), value);
            }
            Column::Via(source) => {
                let via = row.entry("via").or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = via {
                    items.push(serde_json::json!({ "source": source, "handle": cell }));
                }
            }
            Column::Metadata(path) => {
                let mut slot = row
                    .entry("metadata")
                    .or_insert_with(|| Value::Object(Map::new()));
                for key in &path[..path.len() - 1] {
                    let Value::Object(map) = slot else { break };
                    slot = map
                        .entry(key.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                }
                if let (Value::Object(map), Some(last)) = (slot, path.last()) {
                    map.insert(last.clone(), Value::String(cell.to_owned()));
                }
            }
            Column::Address(field) => {
                let address = row
                    .entry("address")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = address {
                    map.insert(field.clone(), Value::String(cell.to_owned()));
                }
            }
        }
    }
    Value::Object(row)
}

/// A row object of the file, read into the API's own input type.
fn row_from_json(value: Value) -> Result<ContactInput, String> {
    serde_json::from_value::<CreateContactInput>(value)
        .map(ContactInput::from)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod dialect_tests {
    use super::*;

    #[test]
    fn delimiters_are_told_from_the_header() {
        assert_eq!(likely_delimiter(b"displayName,via.email"), b',');
        assert_eq!(likely_delimiter(b"displayName;via.email;title"), b';');
        assert_eq!(likely_delimiter(b"displayName\tvia.email"), b'\t');
        // Delimiters inside quotes do not count; a tie is a comma.
        assert_eq!(likely_delimiter(b"\"a;b;c\",d"), b',');
        assert_eq!(likely_delimiter(b"displayName"), b',');
        assert_eq!(excel_separator(b"sep=;"), Some(b';'));
        assert_eq!(excel_separator(b"SEP=|"), Some(b'|'));
        assert_eq!(excel_separator(b"sep=;;"), None);
        assert_eq!(excel_separator(b"displayName"), None);
    }

    #[test]
    fn lines_follow_offsets() {
        let mut lines = Lines::default();
        lines.saw(b"a,b\r\nc,d\r\n");
        lines.saw(b"e,f\n");
        assert_eq!(lines.line_of(0), 1);
        assert_eq!(lines.line_of(4), 2);
        assert_eq!(lines.line_of(10), 3);
        assert_eq!(lines.line_of(14), 4);
    }

    #[test]
    fn blank_lines_before_a_record_are_skipped() {
        // Found by an outside run: records after blank lines were reported
        // on the first blank line.
        let mut lines = Lines::default();
        lines.saw(b"h\n\nb1\n\n\nb2\r\n\r\nb3\n");
        assert_eq!(lines.line_of(2), 3);
        assert_eq!(lines.line_of(5), 6);
        assert_eq!(lines.line_of(10), 8);
    }
}

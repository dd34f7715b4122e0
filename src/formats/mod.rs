//! Address-book files, read row by row for import: a JSON array, NDJSON,
//! CSV (our own column names, the exports of Google Contacts, Outlook and
//! HubSpot recognised by their headers, or any CSV with a column mapping)
//! and vCard. No database here: every row becomes the JSON object of a
//! CreateContactInput, so a row from any file meets the rules of
//! importContacts. Files stream: memory holds a buffer and one row.

mod csv_file;
pub mod export;
mod json;
mod layouts;
pub mod lenient;
mod position;
mod row;
mod target;
mod vcard;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

pub use layouts::Layout;
pub use row::row_from_json;
pub use target::Target;

use crate::domain::ContactInput;

/// File formats `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    /// One JSON array of CreateContactInput objects.
    Json,
    /// One CreateContactInput object per line.
    Ndjson,
    /// A header row: our input field names (via.SOURCE, metadata.KEY,
    /// address.FIELD; groupNames and links separated by ';'), a Google
    /// Contacts, Outlook or HubSpot export's, or any names with --map.
    Csv,
    /// vCard 2.1, 3.0 or 4.0, any number of cards.
    Vcard,
}

impl FileFormat {
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "ndjson" | "jsonl" => Some(Self::Ndjson),
            "csv" | "tsv" => Some(Self::Csv),
            "vcf" | "vcard" => Some(Self::Vcard),
            _ => None,
        }
    }
}

/// `Column=target` pairs: where the columns of a CSV go (Target::parse's
/// names). They override a recognised layout's own mapping.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapping(pub Vec<(String, Target)>);

impl Mapping {
    /// Parses `Column=target` (the last `=` splits, so a column name may
    /// hold one). The error names the pair.
    pub fn parse_pair(pair: &str) -> Result<(String, Target), String> {
        let (column, target) = pair
            .rsplit_once('=')
            .ok_or_else(|| format!("{pair:?}: expected Column=field"))?;
        let target_name = target.trim();
        let target = Target::parse(target_name).ok_or_else(|| {
            format!(
                "{pair:?}: {target_name:?} is not a field (use e.g. displayName, via.phone, metadata.KEY, address.city, groupNames, name.given, or - to leave the column out)"
            )
        })?;
        Ok((column.trim().to_owned(), target))
    }

    fn get(&self, column: &str) -> Option<&Target> {
        self.0
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(column))
            .map(|(_, t)| t)
    }
}

/// A CSV delimiter as a person gives it: one ASCII character (not a quote
/// or a line break), or "tab".
pub fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text.as_bytes() {
        b"tab" | b"\\t" | b"\t" => Ok(b'\t'),
        [one] if one.is_ascii() && *one != b'"' && *one != b'\n' && *one != b'\r' => Ok(*one),
        _ => Err(format!(
            "{text:?}: give one ASCII character (not a quote or line break), or \"tab\""
        )),
    }
}

#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub format: FileFormat,
    /// The CSV field delimiter; None: detected from the header line.
    pub delimiter: Option<u8>,
    pub mapping: Mapping,
}

/// One row read: the line it starts on, and the row or why it is not one.
pub struct Parsed {
    pub line: usize,
    pub row: Result<ContactInput, String>,
}

/// What reading found out about the file, once its header is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detected {
    /// The CSV export layout recognised from the header, if any.
    pub layout: Option<Layout>,
}

impl Detected {
    /// Whether the file was written by another tool (a vCard, a known
    /// export): its refused handles are set aside (see `lenient`).
    pub fn lenient(&self, format: FileFormat) -> bool {
        format == FileFormat::Vcard || self.layout.is_some()
    }
}

/// Reads `input` to its end, handing each row to `emit` in file order; a
/// row that is not one is handed on as an error, and reading goes on. An
/// error from `emit` stops reading. Fails only when the file as a whole
/// cannot be read (a CSV header naming no field, a JSON file that is no
/// array). `bytes` counts the bytes read, for progress. UTF-8, with or
/// without a byte-order mark; UTF-16 with its byte-order mark (Google's
/// older exports) is transcoded.
pub fn read<R: Read>(
    input: R,
    opts: &ReadOptions,
    bytes: Arc<AtomicU64>,
    detected: &mut dyn FnMut(&Detected),
    emit: &mut dyn FnMut(Parsed) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let counted = position::CountingBytes {
        inner: input,
        unpublished: 0,
        bytes,
    };
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .bom_sniffing(true)
        .utf8_passthru(true)
        .strip_bom(true)
        .build(counted);
    let buffered = BufReader::with_capacity(256 * 1024, decoded);
    match opts.format {
        FileFormat::Json => json::read_array(buffered, emit),
        FileFormat::Ndjson => json::read_lines(buffered, emit),
        FileFormat::Csv => csv_file::read(buffered, opts, detected, emit),
        FileFormat::Vcard => read_vcards(buffered, emit),
    }
}

fn read_vcards(
    input: impl BufRead,
    emit: &mut dyn FnMut(Parsed) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for card in vcard::Cards::new(input) {
        let card = card.map_err(|e| anyhow::anyhow!("reading the file: {e}"))?;
        let row = card
            .bytes
            .and_then(|b| vcard::card_row(&b))
            .and_then(row_from_json);
        emit(Parsed {
            line: card.line,
            row,
        })?;
    }
    Ok(())
}

//! CSV files: the delimiter and the header are read first; the header says
//! where each column goes (`--map` first, then a recognised export layout,
//! then our own column names), and records follow one at a time.

use std::cell::RefCell;
use std::io::{BufRead, Read};
use std::rc::Rc;

use anyhow::Context as _;

use super::layouts::Layout;
use super::position::{Counting, LineGuard, Lines};
use super::row::RowBuilder;
use super::target::Target;
use super::{row_from_json, Detected, Parsed, ReadOptions};

pub fn read(
    mut input: impl BufRead,
    opts: &ReadOptions,
    detected: &mut dyn FnMut(&Detected),
    emit: &mut dyn FnMut(Parsed) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (dialect, header) = csv_dialect(&mut input, opts.delimiter)?;
    let lines = Rc::new(RefCell::new(Lines::default()));
    let guard = LineGuard::new(std::io::Cursor::new(header).chain(input));
    let overlong = guard.overlong.clone();
    let reader = Counting {
        inner: guard,
        newlines: Rc::default(),
        lines: lines.clone(),
    };
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .delimiter(dialect.delimiter)
        .from_reader(reader);
    let headers: Vec<String> = csv
        .headers()
        .context("reading the CSV header")?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let layout = Layout::recognise(&headers);
    let targets = targets(&headers, layout, opts)?;
    detected(&Detected { layout });
    for record in csv.records() {
        if let Some(line) = overlong.get() {
            return Err(super::position::too_long(line + dialect.lines_before).into());
        }
        let (at, row) = match record {
            Ok(r) => (
                r.position().cloned(),
                row_from_json(csv_row(&headers, &targets, &r)),
            ),
            Err(e) => (e.position().cloned(), Err(format!("bad CSV record: {e}"))),
        };
        let line = at.map_or(0, |p| lines.borrow_mut().line_of(p.byte()));
        // Lines of the file: a `sep=` line before the header counts.
        let line = line + dialect.lines_before;
        emit(Parsed { line, row })?;
    }
    Ok(())
}

/// Where each column goes. A column the mapping does not name goes where
/// the recognised layout puts it; without a layout it must be one of our
/// own names, or the file is refused naming the column (a typo would
/// otherwise lose a column's values).
fn targets(
    headers: &[String],
    layout: Option<Layout>,
    opts: &ReadOptions,
) -> anyhow::Result<Vec<Target>> {
    for (i, (column, _)) in opts.mapping.0.iter().enumerate() {
        if opts.mapping.0[..i]
            .iter()
            .any(|(c, _)| c.eq_ignore_ascii_case(column))
        {
            anyhow::bail!("the mapping names the column {column:?} twice");
        }
        if !headers.iter().any(|h| h.eq_ignore_ascii_case(column)) {
            anyhow::bail!(
                "the mapping names the column {column:?}, which the CSV header does not have"
            );
        }
    }
    headers
        .iter()
        .map(|header| {
            if let Some(target) = opts.mapping.get(header) {
                return Ok(target.clone());
            }
            if let Some(layout) = layout {
                return Ok(layout.target(header));
            }
            Target::parse(header).ok_or_else(|| {
                anyhow::anyhow!(
                    "CSV column {header:?} is not an input field (use e.g. displayName, via.phone, metadata.KEY, address.city, groupNames; or --map '{header}=field', '{header}=metadata.KEY', '{header}=-' to leave it out)"
                )
            })
        })
        .collect()
}

fn csv_row(
    headers: &[String],
    targets: &[Target],
    record: &csv::StringRecord,
) -> serde_json::Value {
    let mut row = RowBuilder::default();
    for ((header, target), cell) in headers.iter().zip(targets).zip(record.iter()) {
        target.apply(&mut row, header, cell);
    }
    row.finish()
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

/// Longest header line read (a file with no line break is not read whole).
const MAX_HEADER_BYTES: u64 = 1024 * 1024;

/// The delimiter: `forced` (--delimiter) if given; else Excel's `sep=X`
/// first line (consumed); else whichever of `,` `;` and tab the header
/// line holds most of outside quotes (Excel writes `;` in most of Europe).
/// Reads the first line whole; returns it unless it was Excel's `sep=`
/// line, for the CSV reader to read again.
fn csv_dialect(
    reader: &mut impl BufRead,
    forced: Option<u8>,
) -> anyhow::Result<(CsvDialect, Vec<u8>)> {
    let mut first = Vec::new();
    reader
        .take(MAX_HEADER_BYTES)
        .read_until(b'\n', &mut first)
        .context("reading the file")?;
    let line = first.strip_suffix(b"\n").unwrap_or(&first);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if let Some(sep) = excel_separator(line) {
        let dialect = CsvDialect {
            delimiter: forced.unwrap_or(sep),
            lines_before: 1,
        };
        return Ok((dialect, Vec::new()));
    }
    let dialect = CsvDialect {
        delimiter: forced.unwrap_or_else(|| likely_delimiter(line)),
        lines_before: 0,
    };
    Ok((dialect, first))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_mapped_twice_is_refused() {
        // Found by an outside run: the second entry was silently dropped.
        let headers = vec!["Name".to_owned()];
        let pair = |p: &str| super::super::Mapping::parse_pair(p).unwrap();
        let opts = ReadOptions {
            format: super::super::FileFormat::Csv,
            delimiter: None,
            mapping: super::super::Mapping(vec![pair("Name=title"), pair("NAME=description")]),
        };
        let error = targets(&headers, None, &opts).unwrap_err().to_string();
        assert!(error.contains("twice"), "{error}");
    }

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
}

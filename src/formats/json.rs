//! A JSON array of CreateContactInput objects, or one object per line
//! (NDJSON), parsed one element at a time.

use std::cell::{Cell, RefCell};
use std::io::{BufRead, Read};
use std::rc::Rc;

use serde::de::{Error as _, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::position::{Counting, LineGuard, Lines};
use super::{row_from_json, Parsed};
use crate::domain::numbers;

pub fn read_lines(
    input: impl BufRead,
    emit: &mut dyn FnMut(Parsed) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let input = std::io::BufReader::new(LineGuard::new(input));
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| anyhow::anyhow!("reading the file: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let row = parse_row(&line)
            .map_err(|e| format!("not JSON: {e}"))
            .and_then(row_from_json);
        emit(Parsed { line: i + 1, row })?;
    }
    Ok(())
}

pub fn read_array(
    input: impl Read,
    emit: &mut dyn FnMut(Parsed) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let newlines = Rc::new(Cell::new(0));
    let reader = Counting {
        inner: input,
        newlines: newlines.clone(),
        lines: Rc::new(RefCell::new(Lines::default())),
    };
    // serde_json pulls bytes one at a time from the buffer below, so the
    // newline count tells the line each element ends on.
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut failure = None;
    let mut each = |raw: &RawValue| -> Result<(), String> {
        let line = newlines.get() + 1;
        let row = parse_row(raw.get())
            .map_err(|e| format!("not JSON: {e}"))
            .and_then(row_from_json);
        emit(Parsed { line, row }).map_err(|e| {
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
    // Only whitespace may follow the array: a second array or stray text
    // means the file is not what it seems, and nothing commits.
    de.end().map_err(|e| {
        anyhow::anyhow!(
            "the file goes on after its JSON array (line {}): {e}",
            newlines.get() + 1
        )
    })
}

/// One row's JSON, with numbers that parsing would round marked so that
/// validation refuses them by field (domain::numbers), as the API does.
fn parse_row(text: &str) -> serde_json::Result<Value> {
    match numbers::mark_inexact_json(text) {
        Some(marked) => serde_json::from_str(&marked),
        None => serde_json::from_str(text),
    }
}

/// Calls the function on each element of a JSON array as it is parsed.
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

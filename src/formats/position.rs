//! Where the reader is in the file: bytes read (for progress) and the line
//! a row starts on (for messages).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::Read;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts the file's bytes as they are read, published in steps.
pub struct CountingBytes<R> {
    pub inner: R,
    pub unpublished: u64,
    pub bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingBytes<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.unpublished += n as u64;
        if self.unpublished >= 64 * 1024 || n == 0 {
            self.bytes
                .fetch_add(std::mem::take(&mut self.unpublished), Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Longest line a CSV, NDJSON or vCard file may hold. A longer one stops
/// the read (its parser would hold it whole, several times over: a 500 MB
/// line took gigabytes); no field a contact has comes near it.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// Fails the read, naming the line, once a line runs past MAX_LINE_BYTES.
pub struct LineGuard<R> {
    pub inner: R,
    since_newline: usize,
    line: usize,
    /// The line that was too long, for the reader's message.
    pub overlong: Rc<Cell<Option<usize>>>,
}

impl<R> LineGuard<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            since_newline: 0,
            line: 1,
            overlong: Rc::default(),
        }
    }
}

impl<R: Read> Read for LineGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(line) = self.overlong.get() {
            return Err(too_long(line));
        }
        let n = self.inner.read(buf)?;
        for b in &buf[..n] {
            if *b == b'\n' {
                self.line += 1;
                self.since_newline = 0;
            } else {
                self.since_newline += 1;
                if self.since_newline > MAX_LINE_BYTES {
                    self.overlong.set(Some(self.line));
                    return Err(too_long(self.line));
                }
            }
        }
        Ok(n)
    }
}

pub fn too_long(line: usize) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("line {line} is longer than {MAX_LINE_BYTES} bytes: the file cannot be read on"),
    )
}

/// Counts newlines as the parser pulls the (decoded) text. It sits above
/// the buffer: serde_json pulls one byte at a time, so the newline count is
/// the line it has reached.
pub struct Counting<R> {
    pub inner: R,
    pub newlines: Rc<Cell<usize>>,
    /// Where the newlines the parser has not yet passed are (see Lines).
    pub lines: Rc<RefCell<Lines>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
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
pub struct Lines {
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
    pub fn saw(&mut self, bytes: &[u8]) {
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
    pub fn line_of(&mut self, offset: u64) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_past_the_limit_stops_the_read_naming_it() {
        // Found by an outside run: one 500 MB CSV line took 1.7 GB.
        let mut text = b"a,b\n1,2\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 1));
        let mut guard = LineGuard::new(&text[..]);
        let mut out = Vec::new();
        let error = std::io::Read::read_to_end(&mut guard, &mut out).unwrap_err();
        assert!(error.to_string().starts_with("line 3 is longer"), "{error}");
        assert_eq!(guard.overlong.get(), Some(3));
        // Long files of short lines pass.
        let many = b"0123456789\n".repeat(MAX_LINE_BYTES / 5);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut LineGuard::new(&many[..]), &mut out).unwrap();
        assert_eq!(out.len(), many.len());
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

//! The import's progress on standard error.

use std::io::IsTerminal;

use super::import::{Progress, Summary};
use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on a terminal, a plain line per batch otherwise.
pub struct Reporter {
    bar: Option<ProgressBar>,
}

impl Reporter {
    pub fn new(total_bytes: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total_bytes);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {msg} ({elapsed}, eta {eta})",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Self { bar }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

impl Progress for Reporter {
    fn detected(&self, detected: &crate::formats::Detected) {
        if let Some(layout) = detected.layout {
            let msg = format!("reading as {}", layout.name());
            match &self.bar {
                Some(bar) => bar.println(msg),
                None => eprintln!("{msg}"),
            }
        }
    }

    fn advance(&self, bytes_read: u64, s: &mut Summary) {
        let msg = format!(
            "{} rows: {} created, {} updated, {} skipped, {} failed",
            s.rows,
            s.created,
            s.updated,
            s.skipped,
            s.failed.len()
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(bytes_read);
                bar.set_message(msg);
            }
            None => eprintln!("{msg}"),
        }
    }
}

//! `contacts-api export`: every contact, or those the filters select, to
//! standard output or a file.

use std::io::Write;

use super::args::ExportArgs;
use crate::config::Config;
use crate::service::export;

pub async fn command(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    crate::app::migrate(&config.database_url).await?;
    let db = crate::app::connect(&config.database_url, 2).await?;
    let mut sink: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<export::Chunk>(2);
    let filter = args.filter.filter();
    let exporting =
        tokio::spawn(async move { export::export(&db, &filter, args.format, tx).await });
    while let Some(chunk) = rx.recv().await {
        sink.write_all(chunk?.as_bytes())?;
    }
    let written = exporting.await??;
    sink.flush()?;
    eprintln!("{written} contacts exported");
    Ok(())
}

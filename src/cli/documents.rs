//! `contacts-api documents register|list`.

use std::io::Write;

use anyhow::Context;

use super::args::DocumentsCommand;
use crate::app;
use crate::config::Config;
use crate::domain::persisted::parse_manifest;
use crate::service::persisted;

/// Runs a documents subcommand, writing what it has to say to `out`.
pub async fn run(
    config: &Config,
    command: DocumentsCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    app::migrate(&config.database_url).await?;
    let db = app::connect(&config.database_url, 1).await?;
    match command {
        DocumentsCommand::Register { manifest } => {
            let text = std::fs::read_to_string(&manifest)
                .with_context(|| format!("cannot read {}", manifest.display()))?;
            let documents = parse_manifest(&text)
                .with_context(|| format!("{} is not a usable manifest", manifest.display()))?;
            for document in &documents {
                async_graphql::parser::parse_query(&document.body).with_context(|| {
                    format!(
                        "document {} ({}) does not parse",
                        document.hash,
                        document.name.as_deref().unwrap_or("unnamed")
                    )
                })?;
            }
            let registered = persisted::register(&db, &documents).await?;
            writeln!(
                out,
                "Registered {} new documents ({} were registered already).",
                registered.added, registered.known
            )?;
        }
        DocumentsCommand::List => {
            let all = persisted::list(&db).await?;
            if all.is_empty() {
                writeln!(out, "no documents")?;
            }
            for document in all {
                writeln!(
                    out,
                    "{}\t{}\tregistered {}",
                    document.hash,
                    document.name.as_deref().unwrap_or("-").escape_debug(),
                    document
                        .created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )?;
            }
        }
    }
    Ok(())
}

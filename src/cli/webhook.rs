//! `contacts-api webhook create|list|resume|delete|deliveries`.

use std::io::Write;

use super::args::WebhookCommand;
use crate::app;
use crate::config::Config;
use crate::service::changes::ChangeKind;
use crate::service::webhooks;

/// Runs a webhook subcommand, writing what it has to say to `out`. A new
/// endpoint's secret is the last line of the output, alone.
pub async fn run(
    config: &Config,
    command: WebhookCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    app::migrate(&config.database_url).await?;
    let db = app::connect(&config.database_url, 1).await?;
    match command {
        WebhookCommand::Create { url, events } => {
            let kinds: Vec<ChangeKind> = ChangeKind::ALL
                .into_iter()
                .filter(|k| events.is_empty() || events.contains(k))
                .collect();
            let hook = webhooks::create(&db, &url, &kinds).await?;
            writeln!(
                out,
                "Created webhook {} for {} ({}), delivering from now on.",
                hook.id, hook.url, hook.kinds
            )?;
            writeln!(
                out,
                "Its signing secret (Standard Webhooks), shown only this once:"
            )?;
            writeln!(out, "{}", hook.secret)?;
        }
        WebhookCommand::List => {
            let all = webhooks::list(&db).await?;
            if all.is_empty() {
                writeln!(out, "no webhooks")?;
            }
            for hook in all {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\tfailures {}\t{}",
                    hook.id,
                    hook.url,
                    hook.kinds,
                    if hook.paused { "paused" } else { "active" },
                    hook.failures,
                    hook.last_error.as_deref().unwrap_or("-")
                )?;
            }
        }
        WebhookCommand::Resume { id } => {
            if !webhooks::resume(&db, id).await? {
                anyhow::bail!("no webhook {id}");
            }
            writeln!(out, "Resumed webhook {id}.")?;
        }
        WebhookCommand::Delete { id } => {
            if !webhooks::delete(&db, id).await? {
                anyhow::bail!("no webhook {id}");
            }
            writeln!(out, "Deleted webhook {id}.")?;
        }
        WebhookCommand::Deliveries { id, limit } => {
            if !webhooks::list(&db).await?.iter().any(|h| h.id == id) {
                anyhow::bail!("no webhook {id}");
            }
            for d in webhooks::deliveries(&db, id, limit).await? {
                writeln!(
                    out,
                    "{}\t{}\tattempt {}\t{}\t{} ms\t{}",
                    d.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    d.entry_cursor,
                    d.attempt,
                    match (d.delivered, d.status_code) {
                        (true, Some(code)) => format!("delivered (HTTP {code})"),
                        (_, Some(code)) => format!("failed (HTTP {code})"),
                        _ => "failed".to_owned(),
                    },
                    d.duration_ms,
                    d.error.as_deref().unwrap_or("")
                )?;
            }
        }
    }
    Ok(())
}

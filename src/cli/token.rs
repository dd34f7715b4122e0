//! `contacts-api token create|list|revoke`.

use std::io::Write;

use super::args::TokenCommand;
use crate::app;
use crate::config::Config;
use crate::service::tokens;

/// Runs a token subcommand, writing what it has to say to `out`. A new
/// token is the last line of the output, alone, so scripts can take it with
/// `tail -n 1`.
pub async fn run(
    config: &Config,
    command: TokenCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    app::migrate(&config.database_url).await?;
    let db = app::connect(&config.database_url, 1).await?;
    match command {
        TokenCommand::Create { name, scope } => {
            let token = tokens::create(&db, &name, scope).await?;
            writeln!(
                out,
                "Created token {:?} with scope {}. It is shown only this once:",
                name.trim(),
                scope.as_str()
            )?;
            writeln!(out, "{token}")?;
        }
        TokenCommand::List => {
            let all = tokens::list(&db).await?;
            if all.is_empty() {
                writeln!(out, "no tokens")?;
            }
            for token in all {
                writeln!(
                    out,
                    "{}\t{}\tcreated {}",
                    token.name,
                    token.scope,
                    token
                        .created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )?;
            }
        }
        TokenCommand::Revoke { name } => {
            if !tokens::revoke(&db, &name).await? {
                anyhow::bail!("no token named {name:?}");
            }
            writeln!(out, "Revoked token {:?}.", name.trim())?;
        }
    }
    Ok(())
}

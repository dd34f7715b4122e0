#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

use clap::Parser;
use contacts_api::app;
use contacts_api::cli::args::{Cli, Command};
use contacts_api::config::LogFormat;
use tracing_subscriber::EnvFilter;

// mimalloc: a page of contacts allocates thousands of small values (rows,
// GraphQL values, JSON); glibc's malloc took a fifth of the server's CPU
// under load and kept more memory per thread.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn")),
        )
        .with_writer(std::io::stderr);
    match cli.config.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => app::serve(cli.config).await,
        Command::Migrate => {
            app::migrate(&cli.config.database_url).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Import(args) => {
            contacts_api::cli::import_command::command(&cli.config, args).await
        }
        Command::Export(args) => {
            contacts_api::cli::export_command::command(&cli.config, args).await
        }
        Command::Token(command) => {
            contacts_api::cli::token::run(&cli.config, command, &mut std::io::stdout()).await
        }
        Command::Documents(command) => {
            contacts_api::cli::documents::run(&cli.config, command, &mut std::io::stdout()).await
        }
        Command::Webhook(command) => {
            contacts_api::cli::webhook::run(&cli.config, command, &mut std::io::stdout()).await
        }
        Command::ExportSchema { output } => {
            let sdl = contacts_api::graphql::sdl();
            match output {
                Some(path) => std::fs::write(&path, sdl)?,
                None => print!("{sdl}"),
            }
            Ok(())
        }
    }
}

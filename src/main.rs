#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

use clap::Parser;
use contacts_api::app;
use contacts_api::config::{Cli, Command, ConflictArg, ImportArgs, LogFormat};
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
            let db = app::connect(&cli.config.database_url, 1).await?;
            app::migrate(&db).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Import(args) => import(&cli.config, args).await,
        Command::Token(command) => {
            contacts_api::cli::token::run(&cli.config, command, &mut std::io::stdout()).await
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

async fn import(config: &contacts_api::config::Config, args: ImportArgs) -> anyhow::Result<()> {
    use contacts_api::cli::import::{run, FileFormat, ImportOptions};
    use contacts_api::service::import::OnConflictMode;

    let format = match args.format.or_else(|| FileFormat::from_path(&args.file)) {
        Some(f) => f,
        None => anyhow::bail!(
            "cannot tell the format of {}: give --format json|ndjson|csv",
            args.file.display()
        ),
    };
    let rules = config.rules()?;
    let db = app::connect(&config.database_url, 2).await?;
    app::migrate(&db).await?;
    let opts = ImportOptions {
        file: args.file.clone(),
        format,
        on_conflict: match args.on_conflict {
            ConflictArg::Fail => OnConflictMode::Fail,
            ConflictArg::Skip => OnConflictMode::Skip,
            ConflictArg::Update => OnConflictMode::Update,
        },
        atomic: args.atomic,
        batch_size: args.batch_size,
    };
    let total = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let progress = progress::Reporter::new(total);
    let summary = run(
        &db,
        &rules,
        &contacts_api::service::events::EventBus::new(),
        &opts,
        &progress,
    )
    .await?;
    progress.finish();

    let written = if args.atomic && !summary.failed.is_empty() {
        " (atomic: nothing written)"
    } else {
        ""
    };
    println!(
        "{}: {} rows, {} created, {} updated, {} skipped, {} failed{written}",
        args.file.display(),
        summary.rows,
        summary.created,
        summary.updated,
        summary.skipped,
        summary.failed.len()
    );
    for r in &summary.failed {
        let field = r
            .field
            .as_deref()
            .map(|f| format!(" {f}"))
            .unwrap_or_default();
        println!("line {}: {}{field}: {}", r.line, r.code, r.message);
    }
    if let Some(path) = &args.rejects {
        let mut out = String::new();
        for r in &summary.failed {
            out.push_str(&serde_json::to_string(r)?);
            out.push('\n');
        }
        std::fs::write(path, out)?;
    }
    if summary.failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} rows failed", summary.failed.len())
    }
}

mod progress {
    use std::io::IsTerminal;

    use contacts_api::cli::import::{Progress, Summary};
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
        fn advance(&self, bytes_read: u64, s: &Summary) {
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
}

//! The command line's arguments: the commands and their own flags. The
//! server's settings (`Config`, flattened in) live in `crate::config`.

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

#[derive(Debug, Parser)]
#[command(name = "contacts-api", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations, then serve GraphQL (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Import contacts from a JSON array, NDJSON, CSV (ours, Google, Outlook,
    /// HubSpot, or mapped with --map) or vCard file.
    Import(ImportArgs),
    /// Write every contact (or those the filters select) as NDJSON, CSV or
    /// vCard, read in one consistent snapshot.
    Export(ExportArgs),
    /// Create, list or revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create, list, resume or delete webhooks (signed deliveries of the
    /// change log), and show their delivery log.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Register or list the GraphQL documents an app sends (persisted
    /// queries; all that runs under --trusted-documents).
    #[command(subcommand)]
    Documents(DocumentsCommand),
    /// Print the GraphQL schema (SDL, sorted) without touching a database.
    ExportSchema {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
}

/// `contacts-api token ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it once, alone on the last line. Only its hash is stored.
    Create {
        /// A unique name, to list and revoke it by.
        #[arg(long)]
        name: String,
        /// read: queries and subscriptions; write: mutations too.
        #[arg(long, value_enum)]
        scope: crate::domain::Scope,
    },
    /// List tokens (names, scopes, creation times; never the tokens).
    List,
    /// Revoke a token by name.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// `contacts-api documents ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum DocumentsCommand {
    /// Register every document of a manifest, in one transaction: Apollo's
    /// persisted query manifest, or a JSON object of SHA-256 hash to
    /// document text (graphql-codegen's persisted-documents.json). Prints
    /// how many were new.
    Register {
        /// The manifest file.
        manifest: std::path::PathBuf,
    },
    /// List registered documents: hash, name, registration time.
    List,
}

/// `contacts-api webhook ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum WebhookCommand {
    /// Create an endpoint that receives change-log entries from now on;
    /// prints its id, then its signing secret alone on the last line (shown
    /// only this once).
    Create {
        /// Where entries are POSTed: an http:// or https:// URL.
        #[arg(long)]
        url: String,
        /// The kinds delivered, comma-separated: CREATED, UPDATED, DELETED,
        /// MERGED, UNMERGED. Default: all.
        #[arg(long, value_delimiter = ',', value_parser = parse_kind)]
        events: Vec<crate::service::changes::ChangeKind>,
    },
    /// List endpoints: id, URL, kinds, state, failures in a row, last error.
    List,
    /// Start a paused endpoint again, at once.
    Resume {
        /// The endpoint's id.
        id: uuid::Uuid,
    },
    /// Delete an endpoint and its delivery log.
    Delete {
        /// The endpoint's id.
        id: uuid::Uuid,
    },
    /// Show an endpoint's latest delivery attempts, newest first.
    Deliveries {
        /// The endpoint's id.
        id: uuid::Uuid,
        /// How many attempts.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
}

fn parse_kind(value: &str) -> Result<crate::service::changes::ChangeKind, String> {
    let wanted = value.trim().to_ascii_uppercase();
    crate::service::changes::ChangeKind::ALL
        .into_iter()
        .find(|k| k.as_str() == wanted)
        .ok_or_else(|| {
            format!("{value:?} is not one of CREATED, UPDATED, DELETED, MERGED, UNMERGED")
        })
}

/// `contacts-api import FILE`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The file: .json (an array of CreateContactInput objects), .ndjson/.jsonl
    /// (one per line), .csv (a header of input field names, or a Google
    /// Contacts, Outlook or HubSpot export) or .vcf (vCard 2.1, 3.0, 4.0).
    pub file: std::path::PathBuf,
    /// The file's format, when its extension does not tell.
    #[arg(long, value_enum)]
    pub format: Option<super::import::FileFormat>,
    /// What a row whose handle or externalId is taken does.
    #[arg(long, value_enum, default_value = "fail")]
    pub on_conflict: ConflictArg,
    /// All or nothing: one failed row anywhere writes nothing.
    #[arg(long)]
    pub atomic: bool,
    /// Plan every row and write nothing: the summary and the failed rows
    /// say what the import would do (each batch planned in a transaction
    /// that is rolled back).
    #[arg(long, conflicts_with = "atomic")]
    pub dry_run: bool,
    /// The CSV field delimiter: one character, or "tab". Without it, Excel's
    /// `sep=X` first line is honoured, else the delimiter is whichever of
    /// `,` `;` and tab the header line holds most of.
    #[arg(long, value_parser = crate::formats::parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Where a CSV column goes: 'Column=field' (displayName, via.phone,
    /// metadata.KEY, address.city, groupNames, name.given, ...; '-' leaves
    /// it out). Repeatable; overrides a recognised export's own mapping.
    #[arg(long = "map", value_name = "COLUMN=FIELD", value_parser = crate::formats::Mapping::parse_pair)]
    pub map: Vec<(String, crate::formats::Target)>,
    /// Rows per batch (one multi-row write each).
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Also write every failed row (line, code, field, message) to this file, as NDJSON.
    #[arg(long)]
    pub rejects: Option<std::path::PathBuf>,
}

/// `contacts-api export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// What to write: ndjson (which `import` reads back), csv or vcard.
    #[arg(long, value_enum, default_value = "ndjson")]
    pub format: crate::service::export::ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub filter: ExportFilterArgs,
}

/// The list filters of `contacts`, as flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ExportFilterArgs {
    /// Contacts whose name, organization, e-mail or phone contains this text.
    #[arg(long)]
    pub search: Option<String>,
    /// Contacts with a handle on this channel (phone, email, ...).
    #[arg(long)]
    pub source: Option<String>,
    /// Contacts in this group.
    #[arg(long)]
    pub group: Option<String>,
    /// Contacts of this type.
    #[arg(long)]
    pub contact_type: Option<String>,
    /// Only spammers (true) or only others (false).
    #[arg(long)]
    pub is_spammer: Option<bool>,
    /// Contacts created at or after this RFC 3339 time.
    #[arg(long)]
    pub created_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Contacts created before this RFC 3339 time.
    #[arg(long)]
    pub created_before: Option<chrono::DateTime<chrono::Utc>>,
}

impl ExportFilterArgs {
    pub fn filter(&self) -> crate::service::list::ContactFilter {
        crate::service::list::ContactFilter {
            search: self.search.clone(),
            source: self.source.clone(),
            group_name: self.group.clone(),
            contact_type: self.contact_type.clone(),
            is_spammer: self.is_spammer,
            created_after: self.created_after,
            created_before: self.created_before,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConflictArg {
    Fail,
    Skip,
    Update,
    /// Fill only what the existing contact lacks.
    FillBlanks,
}

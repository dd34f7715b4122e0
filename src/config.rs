//! The service's configuration: command-line flags, each with an environment
//! fallback, parsed once into typed values.

use std::net::SocketAddr;

use clap::Args;

use crate::domain::blocked::BlockedIdentifiers;
use crate::domain::{ContactTypeDef, InputLimits, Rules};

/// How logs are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: sqlite://FILE?mode=rwc or postgres://USER@HOST/DB.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://contacts.db?mode=rwc",
        global = true
    )]
    pub database_url: crate::secret::DatabaseUrl,

    /// Address to listen on.
    #[arg(
        long,
        env = "CONTACTS_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Region (ISO 3166 code) for phone numbers written without a leading +.
    #[arg(
        long,
        env = "CONTACTS_DEFAULT_REGION",
        default_value = "US",
        global = true
    )]
    pub default_region: String,

    /// Contact types offered, as value:Display pairs separated by commas.
    #[arg(
        long,
        env = "CONTACTS_CONTACT_TYPES",
        default_value = "contact:Contact,lead:Lead",
        global = true
    )]
    pub contact_types: String,

    /// Identifier values that match nobody, comma-separated: such handles
    /// are stored as given but left out of the unique index and of every
    /// match (lookups, createOrUpdateContact, linkConversation, import,
    /// duplicate candidates). Compared with whole stored handles (e-mail
    /// addresses lower-cased, phones in E.164), case-insensitively; `*`
    /// stands for any characters. Phones whose national digits are all
    /// zeros are always blocked. An empty value blocks nothing else.
    #[arg(
        long,
        env = "CONTACTS_BLOCKED_IDENTIFIERS",
        default_value = crate::domain::blocked::DEFAULT,
        global = true
    )]
    pub blocked_identifiers: String,

    /// Most handles one input's `via` may list (LIMIT_EXCEEDED naming the
    /// field beyond it). A contact may hold more: merges unite handles.
    #[arg(long, env = "CONTACTS_MAX_VIA", default_value_t = 250, value_parser = clap::value_parser!(u32).range(1..=10_000), global = true)]
    pub max_via: u32,

    /// Most entries of one input's `groupNames`.
    #[arg(long, env = "CONTACTS_MAX_GROUP_NAMES", default_value_t = 250, value_parser = clap::value_parser!(u32).range(1..=10_000), global = true)]
    pub max_group_names: u32,

    /// Most entries of one input's `links`.
    #[arg(long, env = "CONTACTS_MAX_LINKS", default_value_t = 250, value_parser = clap::value_parser!(u32).range(1..=10_000), global = true)]
    pub max_links: u32,

    /// Most conversations one input may link.
    #[arg(long, env = "CONTACTS_MAX_CONVERSATIONS", default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=10_000), global = true)]
    pub max_conversations: u32,

    /// Most top-level keys of one input's `metadata`.
    #[arg(long, env = "CONTACTS_MAX_METADATA_KEYS", default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=10_000), global = true)]
    pub max_metadata_keys: u32,

    /// Most bytes (UTF-8) of values one input may carry, all fields together.
    #[arg(long, env = "CONTACTS_MAX_CONTACT_BYTES", default_value_t = 1 << 20, value_parser = clap::value_parser!(u32).range(1_024..=16 << 20), global = true)]
    pub max_contact_bytes: u32,

    /// Deepest query accepted (LIMIT_EXCEEDED beyond it).
    #[arg(long, env = "CONTACTS_MAX_DEPTH", default_value_t = 16, global = true)]
    pub max_depth: usize,

    /// Largest query complexity accepted (LIMIT_EXCEEDED beyond it). A field
    /// counts once, a list of contacts counts once per requested row.
    #[arg(
        long,
        env = "CONTACTS_MAX_COMPLEXITY",
        default_value_t = 20_000,
        global = true
    )]
    pub max_complexity: usize,

    /// Most rows a page of contacts may ask for with first or last (LIMIT_EXCEEDED beyond).
    #[arg(
        long,
        env = "CONTACTS_MAX_PAGE_SIZE",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32)
            .range(1..=i64::from(crate::graphql::pagination::PAGE_SIZE_CEILING)),
        global = true
    )]
    pub max_page_size: u32,

    /// Largest request body in bytes (HTTP 413 beyond). The default fits an
    /// import of --max-import-rows typical rows.
    #[arg(
        long,
        env = "CONTACTS_MAX_BODY_BYTES",
        default_value_t = 16 * 1024 * 1024,
        global = true
    )]
    pub max_body_bytes: usize,

    /// Longest a request may run, in seconds (LIMIT_EXCEEDED beyond). A
    /// mutation that runs out of time is not cut off mid-transaction.
    #[arg(
        long,
        env = "CONTACTS_REQUEST_TIMEOUT",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub request_timeout: u64,

    /// How long the change log keeps its entries, in days (1 to 36,500).
    /// Older entries are purged in the background, a batch at a time; a
    /// change-log cursor older than that answers CURSOR_EXPIRED.
    #[arg(
        long,
        env = "CONTACTS_CHANGE_RETENTION_DAYS",
        default_value_t = 90,
        value_parser = clap::value_parser!(u64).range(1..=36_500),
        global = true
    )]
    pub change_retention_days: u64,

    /// How often the server looks for change-log entries it was not told
    /// about, in milliseconds (10 to 60,000): other processes' writes on
    /// SQLite (the command line), and any NOTIFY lost on PostgreSQL.
    /// Subscribers see such changes within this time.
    #[arg(
        long,
        env = "CONTACTS_CHANGE_POLL_MS",
        default_value_t = 500,
        value_parser = clap::value_parser!(u64).range(10..=60_000),
        global = true
    )]
    pub change_poll_ms: u64,

    /// Failed deliveries in a row after which a webhook endpoint is paused
    /// (the pause between attempts doubles from 1 s to 15 minutes: the
    /// default gives up after about 6 hours).
    #[arg(
        long,
        env = "CONTACTS_WEBHOOK_MAX_FAILURES",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=1000),
        global = true
    )]
    pub webhook_max_failures: u32,

    /// How long an Idempotency-Key is remembered after its first use, in
    /// seconds: a retry within this time with the same key gets the first
    /// response instead of writing again. Default: 24 hours; at most a year.
    #[arg(
        long,
        env = "CONTACTS_IDEMPOTENCY_TTL_SECONDS",
        default_value_t = 24 * 3600,
        value_parser = clap::value_parser!(u64).range(1..=366 * 24 * 3600),
        global = true
    )]
    pub idempotency_ttl_seconds: u64,

    /// Turn off __schema and __type queries (the playground then has no docs).
    #[arg(long, env = "CONTACTS_DISABLE_INTROSPECTION", global = true)]
    pub disable_introspection: bool,

    /// Run only registered documents (`contacts-api documents register`),
    /// sent as text or by their persisted-query hash; anything else is
    /// FORBIDDEN, and clients cannot register hashes of their own. For
    /// production apps whose documents are known at build time.
    #[arg(long, env = "CONTACTS_TRUSTED_DOCUMENTS", global = true)]
    pub trusted_documents: bool,

    /// Origins browsers may call the API from (repeatable; * for any). None:
    /// same-origin only.
    #[arg(
        long = "cors-origin",
        env = "CONTACTS_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,

    /// Serve without API tokens even on a non-loopback address.
    #[arg(long, env = "CONTACTS_INSECURE_NO_AUTH", global = true)]
    pub insecure_no_auth: bool,

    /// Log format.
    #[arg(
        long,
        env = "CONTACTS_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// Most rows one importContacts call may carry (LIMIT_EXCEEDED beyond).
    #[arg(
        long,
        env = "CONTACTS_MAX_IMPORT_ROWS",
        default_value_t = 10_000,
        global = true
    )]
    pub max_import_rows: usize,

    /// Largest file importContactsFile accepts, in bytes (HTTP 413 beyond;
    /// the request's other parts may add 64 KiB).
    /// An upload (a multipart request) is bounded by this and by
    /// --upload-idle-seconds, not by --max-body-bytes or --request-timeout:
    /// it is spooled to a temporary file and imported in the background.
    #[arg(
        long,
        env = "CONTACTS_MAX_UPLOAD_BYTES",
        default_value_t = 1024 * 1024 * 1024,
        global = true
    )]
    pub max_upload_bytes: u64,

    /// An upload that sends no byte for this many seconds is cut off (408).
    #[arg(
        long,
        env = "CONTACTS_UPLOAD_IDLE_SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub upload_idle_seconds: u64,

    /// Secret for identity verification: createOrUpdateContact calls that name
    /// an externalId must carry identifierHash = hex HMAC-SHA256(secret, externalId).
    #[arg(
        long,
        env = "CONTACTS_IDENTITY_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub identity_secret: Option<crate::secret::Secret>,

    /// How long a verified token (and the answer to "does any token exist?")
    /// is remembered, in seconds, sparing a query per request. A revoked
    /// token stops working within this time; 0 checks every request.
    #[arg(
        long,
        env = "CONTACTS_TOKEN_CACHE_SECONDS",
        default_value_t = 2,
        global = true
    )]
    pub token_cache_seconds: u64,

    /// Largest GraphQL document (the query text), in bytes (LIMIT_EXCEEDED
    /// beyond). Data belongs in variables, which only --max-body-bytes bounds.
    #[arg(
        long,
        env = "CONTACTS_MAX_DOCUMENT_BYTES",
        default_value_t = 64 * 1024,
        global = true
    )]
    pub max_document_bytes: usize,

    /// Most fields a document may select once its fragments are expanded,
    /// over all its operations (LIMIT_EXCEEDED beyond).
    #[arg(
        long,
        env = "CONTACTS_MAX_FIELDS",
        default_value_t = 2_000,
        global = true
    )]
    pub max_fields: usize,

    /// Most fields at an operation's root, fragments expanded (LIMIT_EXCEEDED
    /// beyond): each root query field runs statements of its own.
    #[arg(
        long,
        env = "CONTACTS_MAX_ROOT_FIELDS",
        default_value_t = 20,
        global = true
    )]
    pub max_root_fields: usize,

    /// Most operations in one batched POST (a JSON array of requests, as
    /// Apollo's BatchHttpLink sends); 0 turns batching off. A batch runs
    /// its operations in order, each authorised and bounded on its own;
    /// it counts as that many requests against the rate limits and has one
    /// body limit and one --request-timeout.
    #[arg(
        long,
        env = "CONTACTS_MAX_BATCH_OPERATIONS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u16).range(0..=100),
        global = true
    )]
    pub max_batch_operations: u16,

    /// Most aliased fields in a document, fragments expanded (LIMIT_EXCEEDED beyond).
    #[arg(
        long,
        env = "CONTACTS_MAX_ALIASES",
        default_value_t = 100,
        global = true
    )]
    pub max_aliases: usize,

    /// Slowest a request body may arrive, in bytes per second, judged over
    /// every 5 s (HTTP 408 when a 5 s stretch brings less than 5 times it).
    #[arg(
        long,
        env = "CONTACTS_MIN_BODY_RATE",
        default_value_t = 16 * 1024,
        global = true
    )]
    pub min_body_rate: u64,

    /// Most bytes of request bodies held in memory at once, over all
    /// requests (HTTP 503 SERVER_BUSY with Retry-After beyond).
    #[arg(
        long,
        env = "CONTACTS_MAX_BUFFERED_BODY_BYTES",
        default_value_t = 128 * 1024 * 1024,
        global = true
    )]
    pub max_buffered_body_bytes: usize,

    /// Requests per second one API token may make (bursts of twice as many
    /// pass); 0: unlimited. Beyond: HTTP 429 with Retry-After.
    #[arg(
        long,
        env = "CONTACTS_RATE_LIMIT_PER_TOKEN",
        default_value_t = 500,
        global = true
    )]
    pub rate_limit_per_token: u32,

    /// Requests per second one client address may make without a token (the
    /// visitor flow; bursts of twice as many pass); 0: unlimited. Not applied
    /// while the server runs open (no token exists). Beyond: HTTP 429.
    #[arg(
        long,
        env = "CONTACTS_RATE_LIMIT_PER_ADDRESS",
        default_value_t = 10,
        global = true
    )]
    pub rate_limit_per_address: u32,

    /// Header naming the client's address when a proxy stands in front
    /// (e.g. X-Forwarded-For: its last entry, which the nearest proxy
    /// appended, is used). Unset: the peer
    /// address of the connection. Set it only behind a proxy that writes it.
    #[arg(long, env = "CONTACTS_CLIENT_IP_HEADER", global = true)]
    pub client_ip_header: Option<String>,

    /// Host header values served while the server runs without tokens
    /// (repeatable; * for any). Loopback names (localhost, 127.0.0.1, [::1])
    /// are always served; any other Host is refused in that mode, so that a
    /// web page cannot reach the server through DNS rebinding.
    #[arg(
        long = "allowed-host",
        env = "CONTACTS_ALLOWED_HOSTS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_hosts: Vec<String>,

    /// Most connections open at once; beyond, new ones are closed at once.
    #[arg(
        long,
        env = "CONTACTS_MAX_CONNECTIONS",
        default_value_t = 4096,
        global = true
    )]
    pub max_connections: usize,

    /// Most connections one client address may hold open (WebSockets included).
    #[arg(
        long,
        env = "CONTACTS_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 512,
        global = true
    )]
    pub max_connections_per_address: usize,

    /// Seconds a request's head (request line and headers) may take to
    /// arrive; an idle keep-alive connection is closed after as long.
    #[arg(
        long,
        env = "CONTACTS_HEADER_READ_TIMEOUT",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub header_read_timeout: u64,

    /// Largest database connection pool. Default: two per CPU core, plus
    /// one that PostgreSQL's event listener keeps.
    #[arg(long, env = "CONTACTS_DB_POOL_SIZE", global = true)]
    pub db_pool_size: Option<u32>,
}

impl Config {
    /// The connection bounds the flags set.
    pub fn connection_limits(&self) -> crate::http::ConnectionLimits {
        crate::http::ConnectionLimits {
            max: self.max_connections,
            per_address: self.max_connections_per_address,
            header_timeout: std::time::Duration::from_secs(self.header_read_timeout),
        }
    }

    /// The pool size to use. More connections than the machine can run at
    /// once only add context switches: on the benchmark's 2 cores, 4 request
    /// connections served 35% more pages per second than 16.
    pub fn pool_size(&self) -> u32 {
        self.db_pool_size.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            2 * cores as u32 + 1
        })
    }

    /// The validation rules the configuration implies; fails on a bad flag.
    pub fn rules(&self) -> anyhow::Result<Rules> {
        let default_region =
            crate::domain::phone::region(&self.default_region).ok_or_else(|| {
                anyhow::anyhow!(
                    "--default-region {:?} is not an ISO 3166 region code",
                    self.default_region
                )
            })?;
        let contact_types = parse_contact_types(&self.contact_types)?;
        let mut rules = Rules::new(default_region, contact_types);
        rules.limits = InputLimits {
            via: self.max_via as usize,
            group_names: self.max_group_names as usize,
            links: self.max_links as usize,
            conversations: self.max_conversations as usize,
            metadata_keys: self.max_metadata_keys as usize,
            contact_bytes: self.max_contact_bytes as usize,
        };
        rules.blocked = BlockedIdentifiers::parse(&self.blocked_identifiers);
        Ok(rules)
    }
}

fn parse_contact_types(spec: &str) -> anyhow::Result<Vec<ContactTypeDef>> {
    let mut types: Vec<ContactTypeDef> = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (value, display) = item.split_once(':').unwrap_or((item, item));
        let (value, display) = (value.trim(), display.trim());
        if value.is_empty() || display.is_empty() {
            anyhow::bail!("--contact-types: {item:?} must be value:Display");
        }
        if types.iter().any(|t| t.value == value) {
            anyhow::bail!("--contact-types: {value:?} is listed twice");
        }
        types.push(ContactTypeDef {
            value: value.to_owned(),
            display: display.to_owned(),
        });
    }
    if types.is_empty() {
        anyhow::bail!("--contact-types must list at least one type");
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_types_parse_pairs_and_reject_duplicates() {
        let types = parse_contact_types("contact:Contact, lead:Lead").unwrap();
        assert_eq!(types.len(), 2);
        assert_eq!(types[1].value, "lead");
        assert_eq!(types[1].display, "Lead");
        assert!(parse_contact_types("a:A,a:B").is_err());
        assert!(parse_contact_types(" , ").is_err());
        assert!(parse_contact_types("x:").is_err());
    }
}

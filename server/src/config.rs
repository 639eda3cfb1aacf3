//! Settings: command-line flags over `SPEAKUP_*` environment variables over an optional TOML
//! file over defaults (docs/configuration.md lists them all). Keeps secrets out of logs:
//! `Debug` shows the database URL without credentials.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use crate::clock::OrgTimeZone;
use crate::domain::officer::parse_recipient;
use crate::i18n::Lang;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite:data/speakup.db";
/// The highest rate limit (requests per minute) a setting may ask for: above what the server
/// can serve (about 15,000 receipt checks a second on two cores, 900,000 a minute), so that a
/// limit can be lifted out of the way, while a value past any use (`u32::MAX`) is refused.
pub const MAX_RATE_PER_MINUTE: u32 = 10_000_000;

/// Options every subcommand shares.
#[derive(Debug, Clone, Args, Default)]
pub struct CommonArgs {
    /// TOML configuration file (settings not given as flags or environment variables).
    #[arg(long, global = true, env = "SPEAKUP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: `sqlite:PATH` (default `sqlite:data/speakup.db`) or `postgres://…`.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// Options of `speakup serve`.
#[derive(Debug, Clone, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on. Loopback by default: put a TLS proxy or onion service in front.
    #[arg(long, env = "SPEAKUP_BIND")]
    pub bind: Option<SocketAddr>,
    /// The address reporters use (links, QR codes; `https://` turns on HSTS and Secure cookies).
    #[arg(long, env = "SPEAKUP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The same site as an onion service (`http://….onion`): shown on posters, announced to
    /// Tor Browser with `Onion-Location`.
    #[arg(long, env = "SPEAKUP_ONION_URL")]
    pub onion_url: Option<String>,
    /// The organisation's name, shown on every page.
    #[arg(long, env = "SPEAKUP_ORG_NAME")]
    pub org_name: Option<String>,
    /// An age recipient that also receives every case key, for recovery if officers lose theirs.
    #[arg(long, env = "SPEAKUP_ESCROW_RECIPIENT")]
    pub escrow_recipient: Option<String>,
    /// Largest attachment accepted, in MiB.
    #[arg(long, env = "SPEAKUP_MAX_ATTACHMENT_MIB")]
    pub max_attachment_mib: Option<u64>,
    /// Most attachments in one report or reply.
    #[arg(long, env = "SPEAKUP_MAX_ATTACHMENTS")]
    pub max_attachments: Option<usize>,
    /// Reporter submissions (reports, replies, receipt checks) per client per minute.
    #[arg(long, env = "SPEAKUP_RATE_PER_CLIENT")]
    pub rate_per_client: Option<u32>,
    /// Reporter submissions per minute across all clients (behind Tor all share one address).
    #[arg(long, env = "SPEAKUP_RATE_GLOBAL")]
    pub rate_global: Option<u32>,
    /// Reporter reads of a case (the mailbox page, each item, each download) per client per
    /// minute.
    #[arg(long, env = "SPEAKUP_RATE_READS_PER_CLIENT")]
    pub rate_reads_per_client: Option<u32>,
    /// The server key file (cookie and CSRF keys), kept outside the database. Default: beside
    /// a SQLite database; required with PostgreSQL.
    #[arg(long, env = "SPEAKUP_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// The reverse proxy's address(es), comma-separated: only for requests from one of them
    /// is the client address read from X-Forwarded-For (for the per-client rate limit).
    #[arg(long, env = "SPEAKUP_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxy: Option<Vec<IpAddr>>,
    /// Seconds a client has to send a request's headers (and the longest a kept-alive
    /// connection waits for the next request).
    #[arg(long, env = "SPEAKUP_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a connection may sit with no bytes moving while no request is being handled.
    #[arg(long, env = "SPEAKUP_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Slowest average upload accepted, in KiB per second (after a head start of the header
    /// timeout); slower request bodies are cut off.
    #[arg(long, env = "SPEAKUP_MIN_UPLOAD_KIB_PER_SEC")]
    pub min_upload_kib_per_sec: Option<u64>,
    /// Most connections open at once; further ones wait until one closes.
    #[arg(long, env = "SPEAKUP_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Most messages and attachments a reporter adds to one case in one day.
    #[arg(long, env = "SPEAKUP_MAX_REPORTER_ITEMS_PER_DAY")]
    pub max_reporter_items_per_day: Option<usize>,
    /// Days after a reporter's request within which a meeting is due (1 to 90, default 14).
    #[arg(long, env = "SPEAKUP_MEETING_DUE_DAYS")]
    pub meeting_due_days: Option<u32>,
    /// The organisation's time zone (IANA name), for the times the workspace shows.
    #[arg(long, env = "SPEAKUP_TIME_ZONE")]
    pub time_zone: Option<String>,
    /// Address of the Prometheus metrics listener, which serves `/metrics` and nothing else
    /// (`127.0.0.1:9464`). Off when unset; keep it off the public network.
    #[arg(long, env = "SPEAKUP_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    #[command(flatten)]
    pub mail: MailArgs,
}

/// The notification mail settings (`speakup serve` and `speakup notify`); all off when unset.
#[derive(Debug, Clone, Args, Default)]
pub struct MailArgs {
    /// SMTP server for officer notifications: `smtp://user:pass@host:587` (STARTTLS) or
    /// `smtps://user:pass@host:465` (implicit TLS). Off when unset.
    #[arg(long, env = "SPEAKUP_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<Redacted>,
    /// The sender of notification mails (`Speak Up <noreply@example.org>`).
    #[arg(long, env = "SPEAKUP_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Also receives a digest of overdue acknowledgements and feedback (the head of compliance).
    #[arg(long, env = "SPEAKUP_ESCALATION_EMAIL")]
    pub escalation_email: Option<String>,
    /// The language of the escalation mail: en, nl, fr or de (default en). The address
    /// belongs to no officer account, so no officer's choice applies.
    #[arg(long, env = "SPEAKUP_ESCALATION_LANG")]
    pub escalation_lang: Option<String>,
    /// A PEM file with the certificate of a private certificate authority that signed the
    /// SMTP server's certificate (trusted in addition to the public roots).
    #[arg(long, env = "SPEAKUP_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
}

/// A secret setting (the SMTP URL with its password): `Debug` and `Display` never show it,
/// and it is wiped when dropped.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Redacted(String);

impl Redacted {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Redacted {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl From<&str> for Redacted {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Redacted {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// The TOML file's shape: every setting optional, plus the category list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub bind: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub onion_url: Option<String>,
    pub org_name: Option<String>,
    pub escrow_recipient: Option<String>,
    pub max_attachment_mib: Option<u64>,
    pub max_attachments: Option<usize>,
    pub rate_per_client: Option<u32>,
    pub rate_global: Option<u32>,
    pub rate_reads_per_client: Option<u32>,
    pub key_file: Option<PathBuf>,
    pub trusted_proxy: Option<Vec<IpAddr>>,
    pub header_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub min_upload_kib_per_sec: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_reporter_items_per_day: Option<usize>,
    pub meeting_due_days: Option<u32>,
    pub time_zone: Option<String>,
    pub metrics_bind: Option<String>,
    pub smtp_url: Option<Redacted>,
    pub smtp_from: Option<String>,
    pub escalation_email: Option<String>,
    pub escalation_lang: Option<String>,
    pub smtp_ca_file: Option<PathBuf>,
    pub categories: Option<Vec<Category>>,
}

/// A report category. Built-in codes take their labels from the catalogs; an organisation's
/// own categories bring a label per language.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Category {
    pub code: String,
    pub en: Option<String>,
    pub nl: Option<String>,
    pub fr: Option<String>,
    pub de: Option<String>,
}

pub const DEFAULT_CATEGORIES: &[&str] = &[
    "fraud",
    "corruption",
    "harassment",
    "discrimination",
    "health_safety",
    "environment",
    "data_protection",
    "conflict_of_interest",
    "competition",
    "other",
];

impl Category {
    /// A code of a-z, 0-9, `_` or `-`, and an English label unless the code is built in.
    pub fn is_valid(&self) -> bool {
        let builtin = DEFAULT_CATEGORIES.contains(&self.code.as_str());
        let valid_code = !self.code.is_empty()
            && self.code.len() <= 64
            && self
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        valid_code && (builtin || self.en.is_some())
    }

    pub fn builtin(code: &str) -> Self {
        Self {
            code: code.to_owned(),
            en: None,
            nl: None,
            fr: None,
            de: None,
        }
    }

    pub fn label(&self, lang: Lang) -> String {
        let own = match lang {
            Lang::En => &self.en,
            Lang::Nl => &self.nl,
            Lang::Fr => &self.fr,
            Lang::De => &self.de,
        };
        if let Some(l) = own {
            return l.clone();
        }
        if DEFAULT_CATEGORIES.contains(&self.code.as_str()) {
            return lang.tr().fmt(&format!("category.{}", self.code), &[]);
        }
        self.en.clone().unwrap_or_else(|| self.code.clone())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid setting {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: SocketAddr,
    pub public_url: String,
    /// Whether `public_url` was configured rather than derived from the bind address: the
    /// posters' QR codes print only a configured address, never a guessed one.
    pub public_url_set: bool,
    /// The onion service address (checked: `http(s)://….onion`), without a trailing slash.
    pub onion_url: Option<String>,
    pub max_attachment_bytes: u64,
    pub max_attachments: usize,
    pub rate_per_client: u32,
    pub rate_global: u32,
    /// Reporter reads of a case per client per minute (`web::shared::ratelimit::reads`).
    pub rate_reads_per_client: u32,
    /// Where the server key file is (see crate::keyfile); `None` when the database is not a
    /// SQLite file and no path was configured, which the start refuses.
    pub key_file: Option<PathBuf>,
    /// Connection limits and the proxy whose X-Forwarded-For is believed.
    pub connections: Connections,
    /// Items (messages and attachments) a reporter may add to one case per day.
    pub max_reporter_items_per_day: usize,
    /// Days after a reporter's request within which a meeting is due (the task's due date).
    pub meeting_due_days: u32,
    /// The organisation's time zone: officer-side times are shown in it.
    pub time_zone: OrgTimeZone,
    /// Notification mail; `None` when `SPEAKUP_SMTP_URL` is unset.
    pub mail: Option<MailSettings>,
    /// Where the Prometheus metrics listener binds; `None` (the default) keeps it off.
    pub metrics_bind: Option<SocketAddr>,
    /// Only the starting values of what admins change in the workspace; pages read the
    /// current values from `app::settings::Site`, the one source of truth.
    pub site: SiteDefaults,
}

/// How long and how many connections the server holds, and which peers are proxies.
#[derive(Debug, Clone)]
pub struct Connections {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    /// Bytes per second a request body must average once the head start has passed.
    pub min_upload_bytes_per_sec: u64,
    pub max_connections: usize,
    pub trusted_proxies: Vec<IpAddr>,
}

impl Connections {
    fn resolve(serve: &ServeArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let header = ranged(
            "SPEAKUP_HEADER_TIMEOUT_SECS",
            serve.header_timeout_secs.or(file.header_timeout_secs),
            10,
            1..=600,
        )?;
        let idle = ranged(
            "SPEAKUP_IDLE_TIMEOUT_SECS",
            serve.idle_timeout_secs.or(file.idle_timeout_secs),
            60,
            1..=3600,
        )?;
        let rate = ranged(
            "SPEAKUP_MIN_UPLOAD_KIB_PER_SEC",
            serve.min_upload_kib_per_sec.or(file.min_upload_kib_per_sec),
            4,
            1..=1024 * 1024,
        )?;
        let max_connections = ranged(
            "SPEAKUP_MAX_CONNECTIONS",
            serve.max_connections.or(file.max_connections),
            512,
            1..=100_000,
        )?;
        Ok(Self {
            header_timeout: Duration::from_secs(header),
            idle_timeout: Duration::from_secs(idle),
            min_upload_bytes_per_sec: rate * 1024,
            max_connections,
            trusted_proxies: serve
                .trusted_proxy
                .clone()
                .or_else(|| file.trusted_proxy.clone())
                .unwrap_or_default(),
        })
    }
}

/// The organisation's time zone, refused with the setting's name unless the time zone
/// database knows it.
fn time_zone(serve: &ServeArgs, file: &FileConfig) -> Result<OrgTimeZone, ConfigError> {
    let name = serve.time_zone.as_deref().or(file.time_zone.as_deref());
    OrgTimeZone::parse(name.unwrap_or(OrgTimeZone::DEFAULT)).map_err(|message| {
        ConfigError::Invalid {
            name: "SPEAKUP_TIME_ZONE",
            message,
        }
    })
}

/// The metrics listener's address: off when unset or empty; refused with the setting's name
/// when it is not an address or is the reporters' own listener (the metrics must never be
/// served where reporters connect).
fn metrics_bind(
    serve: &ServeArgs,
    file: &FileConfig,
    bind: SocketAddr,
) -> Result<Option<SocketAddr>, ConfigError> {
    let given = serve
        .metrics_bind
        .as_deref()
        .or(file.metrics_bind.as_deref());
    let Some(text) = given.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let invalid = |message: String| ConfigError::Invalid {
        name: "SPEAKUP_METRICS_BIND",
        message,
    };
    let addr: SocketAddr = text.parse().map_err(|_| {
        invalid(format!(
            "'{text}' is not an address and port like 127.0.0.1:9464"
        ))
    })?;
    if addr == bind && addr.port() != 0 {
        return Err(invalid(format!(
            "{addr} is also SPEAKUP_BIND: the metrics need their own address"
        )));
    }
    Ok(Some(addr))
}

/// The given value or the default, refused with the setting's name outside `range`.
/// The rate limits, per minute: reporter submissions per client and across all clients, and
/// reporter reads of a case per client. Reads are generous: the mailbox page fetches each
/// item on its own, so a long thread costs one read per message and file name.
fn rates(serve: &ServeArgs, file: &FileConfig) -> Result<(u32, u32, u32), ConfigError> {
    let per_client = ranged(
        "SPEAKUP_RATE_PER_CLIENT",
        serve.rate_per_client.or(file.rate_per_client),
        20,
        1..=MAX_RATE_PER_MINUTE,
    )?;
    let global = ranged(
        "SPEAKUP_RATE_GLOBAL",
        serve.rate_global.or(file.rate_global),
        300,
        1..=MAX_RATE_PER_MINUTE,
    )?;
    let reads = ranged(
        "SPEAKUP_RATE_READS_PER_CLIENT",
        serve.rate_reads_per_client.or(file.rate_reads_per_client),
        DEFAULT_READS_PER_CLIENT,
        1..=MAX_RATE_PER_MINUTE,
    )?;
    Ok((per_client, global, reads))
}

/// Reporter reads per client per minute by default: a thread of several hundred items opens
/// at once, and a reader who meets the limit waits seconds, not minutes.
pub const DEFAULT_READS_PER_CLIENT: u32 = 600;

fn ranged<T>(
    name: &'static str,
    given: Option<T>,
    default: T,
    range: RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: PartialOrd + fmt::Display + Copy,
{
    let value = given.unwrap_or(default);
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            name,
            message: format!(
                "{value} is out of range: must be between {} and {}",
                range.start(),
                range.end()
            ),
        })
    }
}

/// The configuration's values for the site settings (organisation name, escrow, categories).
#[derive(Clone)]
pub struct SiteDefaults {
    pub org_name: String,
    pub escrow_recipient: Option<age::x25519::Recipient>,
    pub categories: Vec<Category>,
}

impl SiteDefaults {
    /// The organisation's name, the escrow recipient and the categories from flags, the
    /// environment or the file; each refused with its name when it makes no sense.
    fn resolve(serve: &ServeArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let escrow_recipient = serve
            .escrow_recipient
            .clone()
            .or_else(|| file.escrow_recipient.clone())
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_recipient(&s))
            .transpose()
            .map_err(|e| ConfigError::Invalid {
                name: "SPEAKUP_ESCROW_RECIPIENT",
                message: e.to_string(),
            })?;
        let categories = match file.categories.clone() {
            Some(c) if !c.is_empty() => c,
            _ => DEFAULT_CATEGORIES
                .iter()
                .map(|c| Category::builtin(c))
                .collect(),
        };
        for c in &categories {
            if !c.is_valid() {
                return Err(ConfigError::Invalid {
                    name: "categories",
                    message: format!(
                        "category '{}' needs a code of a-z, 0-9, _ or - and, unless built in, an `en` label",
                        c.code
                    ),
                });
            }
        }
        Ok(Self {
            org_name: serve
                .org_name
                .clone()
                .or_else(|| file.org_name.clone())
                .unwrap_or_else(|| "Speak Up".into()),
            escrow_recipient,
            categories,
        })
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field(
                "database_url",
                &crate::store::redact_url(&self.database_url),
            )
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("onion_url", &self.onion_url)
            .field("org_name", &self.site.org_name)
            .field(
                "escrow_recipient",
                &self.site.escrow_recipient.as_ref().map(|r| r.to_string()),
            )
            .field("max_attachment_bytes", &self.max_attachment_bytes)
            .field("max_attachments", &self.max_attachments)
            .field("rate_per_client", &self.rate_per_client)
            .field("rate_global", &self.rate_global)
            .field("rate_reads_per_client", &self.rate_reads_per_client)
            .field("key_file", &self.key_file)
            .field("connections", &self.connections)
            .field(
                "max_reporter_items_per_day",
                &self.max_reporter_items_per_day,
            )
            .field("meeting_due_days", &self.meeting_due_days)
            .field("time_zone", &self.time_zone)
            .field("metrics_bind", &self.metrics_bind)
            .field("categories", &self.site.categories.len())
            .field("mail", &self.mail)
            .finish()
    }
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.message().to_owned(),
        })
    }
}

impl Settings {
    pub fn resolve(common: &CommonArgs, serve: &ServeArgs) -> Result<Self, ConfigError> {
        let file = FileConfig::load(common.config.as_deref())?;
        Self::from_parts(common, serve, file)
    }

    pub fn from_parts(
        common: &CommonArgs,
        serve: &ServeArgs,
        file: FileConfig,
    ) -> Result<Self, ConfigError> {
        let site = SiteDefaults::resolve(serve, &file)?;
        let mail = MailSettings::resolve(&serve.mail, &file)?;
        let connections = Connections::resolve(serve, &file)?;
        let (rate_per_client, rate_global, rate_reads_per_client) = rates(serve, &file)?;
        let time_zone = time_zone(serve, &file)?;
        let bind = serve
            .bind
            .or(file.bind)
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
        let metrics_bind = metrics_bind(serve, &file, bind)?;
        let (public_url, public_url_set) =
            public_url(serve.public_url.clone().or(file.public_url), bind)?;
        let onion_url = onion_url(serve.onion_url.clone().or(file.onion_url))?;
        let max_attachment_mib = ranged(
            "SPEAKUP_MAX_ATTACHMENT_MIB",
            serve.max_attachment_mib.or(file.max_attachment_mib),
            100,
            1..=4096,
        )?;
        let max_attachments = ranged(
            "SPEAKUP_MAX_ATTACHMENTS",
            serve.max_attachments.or(file.max_attachments),
            10,
            1..=50,
        )?;
        let database_url = common
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let key_file = key_file(&database_url, serve.key_file.clone().or(file.key_file));
        let max_reporter_items_per_day = ranged(
            "SPEAKUP_MAX_REPORTER_ITEMS_PER_DAY",
            serve
                .max_reporter_items_per_day
                .or(file.max_reporter_items_per_day),
            50,
            1..=10_000,
        )?;
        let meeting_due_days = ranged(
            "SPEAKUP_MEETING_DUE_DAYS",
            serve.meeting_due_days.or(file.meeting_due_days),
            crate::domain::meeting::DEFAULT_DUE_DAYS,
            crate::domain::meeting::MIN_DUE_DAYS..=crate::domain::meeting::MAX_DUE_DAYS,
        )?;
        Ok(Self {
            max_reporter_items_per_day,
            meeting_due_days,
            metrics_bind,
            time_zone,
            mail,
            database_url,
            key_file,
            bind,
            public_url: public_url.trim_end_matches('/').to_owned(),
            public_url_set,
            onion_url,
            site,
            max_attachment_bytes: max_attachment_mib * 1024 * 1024,
            max_attachments,
            rate_per_client,
            rate_global,
            rate_reads_per_client,
            connections,
        })
    }

    /// Database-only settings for subcommands other than `serve`.
    pub fn database_url(common: &CommonArgs) -> Result<String, ConfigError> {
        let file = FileConfig::load(common.config.as_deref())?;
        Ok(common
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()))
    }

    pub fn uses_tls(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// Every setting that differs from its default, as (setting, value) for the start-up
    /// log; the database URL without its credentials (the key file is named, never read).
    pub fn non_default(&self) -> Vec<(&'static str, String)> {
        let Ok(d) = Settings::from_parts(
            &CommonArgs::default(),
            &ServeArgs::default(),
            FileConfig::default(),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut note = |name: &'static str, differs: bool, value: String| {
            if differs {
                out.push((name, value));
            }
        };
        note(
            "DATABASE_URL",
            self.database_url != d.database_url,
            crate::store::redact_url(&self.database_url),
        );
        note("SPEAKUP_BIND", self.bind != d.bind, self.bind.to_string());
        note(
            "SPEAKUP_PUBLIC_URL",
            self.public_url != format!("http://{}", self.bind),
            self.public_url.clone(),
        );
        let (s, ds) = (&self.site, &d.site);
        note(
            "SPEAKUP_ORG_NAME",
            s.org_name != ds.org_name,
            s.org_name.clone(),
        );
        note(
            "SPEAKUP_ESCROW_RECIPIENT",
            s.escrow_recipient.is_some(),
            s.escrow_recipient
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_default(),
        );
        note(
            "categories",
            s.categories != ds.categories,
            s.categories
                .iter()
                .map(|c| c.code.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        self.non_default_limits(&d, &mut note);
        self.non_default_extras(&d, &mut note);
        out
    }

    /// The time zone, the onion address and mail: the SMTP server by host and port only
    /// (its URL may carry a password).
    fn non_default_extras(&self, d: &Settings, note: &mut impl FnMut(&'static str, bool, String)) {
        note(
            "SPEAKUP_TIME_ZONE",
            self.time_zone.name() != d.time_zone.name(),
            self.time_zone.name().to_owned(),
        );
        note(
            "SPEAKUP_METRICS_BIND",
            self.metrics_bind.is_some(),
            self.metrics_bind.map(|a| a.to_string()).unwrap_or_default(),
        );
        note(
            "SPEAKUP_ONION_URL",
            self.onion_url.is_some(),
            self.onion_url.clone().unwrap_or_default(),
        );
        if let Some(m) = &self.mail {
            note(
                "SPEAKUP_SMTP_URL",
                true,
                format!("{}:{} ({:?})", m.smtp.host, m.smtp.port, m.smtp.tls),
            );
            note("SPEAKUP_SMTP_FROM", true, m.from.clone());
            note(
                "SPEAKUP_ESCALATION_EMAIL",
                m.escalation.is_some(),
                m.escalation.clone().unwrap_or_default(),
            );
        }
    }

    fn non_default_limits(&self, d: &Settings, note: &mut impl FnMut(&'static str, bool, String)) {
        let mib = |b: u64| (b / (1024 * 1024)).to_string();
        let (c, dc) = (&self.connections, &d.connections);
        let rows: [(&'static str, bool, String); 13] = [
            (
                "SPEAKUP_MAX_ATTACHMENT_MIB",
                self.max_attachment_bytes != d.max_attachment_bytes,
                mib(self.max_attachment_bytes),
            ),
            (
                "SPEAKUP_MAX_ATTACHMENTS",
                self.max_attachments != d.max_attachments,
                self.max_attachments.to_string(),
            ),
            (
                "SPEAKUP_RATE_PER_CLIENT",
                self.rate_per_client != d.rate_per_client,
                self.rate_per_client.to_string(),
            ),
            (
                "SPEAKUP_RATE_GLOBAL",
                self.rate_global != d.rate_global,
                self.rate_global.to_string(),
            ),
            (
                "SPEAKUP_RATE_READS_PER_CLIENT",
                self.rate_reads_per_client != d.rate_reads_per_client,
                self.rate_reads_per_client.to_string(),
            ),
            (
                "SPEAKUP_KEY_FILE",
                self.key_file != d.key_file,
                self.key_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            (
                "SPEAKUP_TRUSTED_PROXY",
                !c.trusted_proxies.is_empty(),
                c.trusted_proxies
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            (
                "SPEAKUP_HEADER_TIMEOUT_SECS",
                c.header_timeout != dc.header_timeout,
                c.header_timeout.as_secs().to_string(),
            ),
            (
                "SPEAKUP_IDLE_TIMEOUT_SECS",
                c.idle_timeout != dc.idle_timeout,
                c.idle_timeout.as_secs().to_string(),
            ),
            (
                "SPEAKUP_MIN_UPLOAD_KIB_PER_SEC",
                c.min_upload_bytes_per_sec != dc.min_upload_bytes_per_sec,
                (c.min_upload_bytes_per_sec / 1024).to_string(),
            ),
            (
                "SPEAKUP_MAX_CONNECTIONS",
                c.max_connections != dc.max_connections,
                c.max_connections.to_string(),
            ),
            (
                "SPEAKUP_MAX_REPORTER_ITEMS_PER_DAY",
                self.max_reporter_items_per_day != d.max_reporter_items_per_day,
                self.max_reporter_items_per_day.to_string(),
            ),
            (
                "SPEAKUP_MEETING_DUE_DAYS",
                self.meeting_due_days != d.meeting_due_days,
                self.meeting_due_days.to_string(),
            ),
        ];
        rows.into_iter()
            .for_each(|(name, differs, value)| note(name, differs, value));
    }

    /// Settings that put reporters at risk, each as a sentence naming the setting. `escrow`
    /// says whether an escrow key is in force (configured here or saved by an admin).
    pub fn dangers(&self, escrow: bool) -> Vec<String> {
        let mut out = Vec::new();
        if !self.bind.ip().is_loopback() && !self.uses_tls() {
            out.push(format!(
                "SPEAKUP_BIND {} is reachable from other machines but SPEAKUP_PUBLIC_URL is not \
                 https://: reports could travel unencrypted; put a TLS proxy in front and set \
                 SPEAKUP_PUBLIC_URL=https://…",
                self.bind
            ));
        }
        if !escrow {
            out.push(
                "no escrow key (SPEAKUP_ESCROW_RECIPIENT or the admin Settings page): if every \
                 officer loses their key, the cases cannot be opened by anyone"
                    .to_owned(),
            );
        }
        if self.mail.is_none() {
            out.push(
                "no SPEAKUP_SMTP_URL: officers get no mail about new cases, replies or deadlines, \
                 so the 7-day acknowledgement depends on someone signing in"
                    .to_owned(),
            );
        }
        if let Some(m) = self.metrics_bind.filter(|m| m.ip().is_unspecified()) {
            out.push(format!(
                "SPEAKUP_METRICS_BIND {m} listens on every interface: the metrics show when \
                 reports arrive; bind it to loopback or a private monitoring address"
            ));
        }
        out.extend(unverified_database(&self.database_url));
        out
    }
}

/// A PostgreSQL URL to another machine whose certificate is not checked (`sslmode` other than
/// `verify-full` or `verify-ca`): the server secret, lookup values and ciphertext could be
/// read or changed on the way.
fn unverified_database(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return None;
    }
    let host = parsed.host_str().unwrap_or_default();
    let local = host.is_empty()
        || host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let mode = parsed
        .query_pairs()
        .find(|(k, _)| k == "sslmode")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| "prefer".into());
    let verified = mode == "verify-full" || mode == "verify-ca";
    (!local && !verified).then(|| {
        format!(
            "DATABASE_URL connects to {host} with sslmode={mode}: the database's certificate \
             is not checked; use sslmode=verify-full and sslrootcert=CA.pem"
        )
    })
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtp://`: STARTTLS, required (the mail is not sent without it).
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://…?tls=none`: no TLS, for a relay on the same host or network only.
    None,
}

/// The SMTP server, parsed from `SPEAKUP_SMTP_URL`; the password stays [`Redacted`].
#[derive(Debug, Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub password: Option<Redacted>,
}

/// Notification mail: the server, the sender and the escalation address.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub smtp: SmtpServer,
    pub from: String,
    pub escalation: Option<String>,
    /// The escalation mail's language (`SPEAKUP_ESCALATION_LANG`).
    pub escalation_lang: crate::i18n::Lang,
    /// A private certificate authority for the SMTP server (`SPEAKUP_SMTP_CA_FILE`), PEM.
    pub ca_pem: Option<Vec<u8>>,
}

fn invalid(name: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        message: message.to_owned(),
    }
}

/// A mailbox (`name <address>` or `address`) or a refusal naming the setting.
fn mailbox(name: &'static str, value: &str) -> Result<String, ConfigError> {
    value
        .trim()
        .parse::<lettre::message::Mailbox>()
        .map(|m| m.to_string())
        .map_err(|_| invalid(name, "is not an e-mail address"))
}

impl MailSettings {
    fn resolve(args: &MailArgs, file: &FileConfig) -> Result<Option<Self>, ConfigError> {
        let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
        let url = args
            .smtp_url
            .clone()
            .or_else(|| file.smtp_url.clone())
            .filter(|u| !u.expose().trim().is_empty());
        let from = nonempty(&args.smtp_from).or_else(|| nonempty(&file.smtp_from));
        let escalation =
            nonempty(&args.escalation_email).or_else(|| nonempty(&file.escalation_email));
        let Some(url) = url else {
            if from.is_some() {
                return Err(invalid("SPEAKUP_SMTP_FROM", "needs SPEAKUP_SMTP_URL"));
            }
            if escalation.is_some() {
                return Err(invalid(
                    "SPEAKUP_ESCALATION_EMAIL",
                    "needs SPEAKUP_SMTP_URL",
                ));
            }
            return Ok(None);
        };
        let escalation_lang = match nonempty(&args.escalation_lang)
            .or_else(|| nonempty(&file.escalation_lang))
        {
            None => crate::i18n::Lang::En,
            Some(code) => crate::i18n::Lang::ALL
                .into_iter()
                .find(|l| l.code() == code.trim())
                .ok_or_else(|| invalid("SPEAKUP_ESCALATION_LANG", "must be en, nl, fr or de"))?,
        };
        let ca_pem = args
            .smtp_ca_file
            .clone()
            .or_else(|| file.smtp_ca_file.clone())
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| ca_file(&p))
            .transpose()?;
        let smtp = SmtpServer::parse(url.expose())?;
        let from =
            from.ok_or_else(|| invalid("SPEAKUP_SMTP_FROM", "is required with SPEAKUP_SMTP_URL"))?;
        Ok(Some(Self {
            smtp,
            from: mailbox("SPEAKUP_SMTP_FROM", &from)?,
            escalation: escalation
                .map(|e| mailbox("SPEAKUP_ESCALATION_EMAIL", &e))
                .transpose()?,
            escalation_lang,
            ca_pem,
        }))
    }
}

/// Reads `SPEAKUP_SMTP_CA_FILE`: it must hold a PEM certificate.
fn ca_file(path: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    const NAME: &str = "SPEAKUP_SMTP_CA_FILE";
    let pem = std::fs::read(path)
        .map_err(|e| invalid(NAME, &format!("{} cannot be read: {e}", path.display())))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(invalid(
            NAME,
            &format!("{} holds no PEM certificate", path.display()),
        ));
    }
    Ok(pem)
}

impl SmtpServer {
    /// Parses `smtp://[user[:pass]@]host[:port][?tls=none]` or `smtps://…`. Messages never
    /// repeat the URL (it may hold the password).
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        const NAME: &str = "SPEAKUP_SMTP_URL";
        let url = url::Url::parse(raw.trim()).map_err(|_| {
            invalid(
                NAME,
                "is not a URL (smtp://user:pass@host:587 or smtps://…)",
            )
        })?;
        let mut tls = match url.scheme() {
            "smtp" => SmtpTls::StartTls,
            "smtps" => SmtpTls::Implicit,
            _ => return Err(invalid(NAME, "must start with smtp:// or smtps://")),
        };
        for (k, v) in url.query_pairs() {
            match (k.as_ref(), v.as_ref(), tls) {
                ("tls", "none", SmtpTls::StartTls) => tls = SmtpTls::None,
                ("tls", "required", SmtpTls::StartTls) => {}
                _ => return Err(invalid(NAME, "the only option is ?tls=none (smtp:// only)")),
            }
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid(NAME, "names no host"))?
            .trim_matches(['[', ']'])
            .to_owned();
        let decode = |s: &str| percent_decode(s);
        let user = Some(decode(url.username())).filter(|u| !u.is_empty());
        let password = url.password().map(|p| Redacted(decode(p)));
        if password.is_some() && user.is_none() {
            return Err(invalid(NAME, "has a password but no user name"));
        }
        let port = url.port().unwrap_or(match tls {
            SmtpTls::Implicit => 465,
            SmtpTls::StartTls => 587,
            SmtpTls::None => 25,
        });
        Ok(Self {
            host,
            port,
            tls,
            user,
            password,
        })
    }
}

/// `%XX` escapes of a URL's user name or password, decoded (`+` stays a plus).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Settings {
    /// The address posters and their QR codes carry: the configured public URL, exactly,
    /// or none when it was not configured (a QR code of a guessed address would send
    /// people nowhere, or somewhere else).
    pub fn intake_address(&self) -> Option<&str> {
        self.public_url_set.then_some(self.public_url.as_str())
    }
}

/// `SPEAKUP_PUBLIC_URL` and whether it was configured: empty is unset, and then the address
/// follows the listen address.
fn public_url(given: Option<String>, bind: SocketAddr) -> Result<(String, bool), ConfigError> {
    let configured = given.filter(|u| !u.trim().is_empty());
    let set = configured.is_some();
    let url = configured.unwrap_or_else(|| format!("http://{bind}"));
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError::Invalid {
            name: "SPEAKUP_PUBLIC_URL",
            message: "must start with http:// or https://".into(),
        });
    }
    Ok((url, set))
}

/// `SPEAKUP_ONION_URL`: empty is unset; anything else must be an onion service's address.
fn onion_url(given: Option<String>) -> Result<Option<String>, ConfigError> {
    given
        .filter(|u| !u.trim().is_empty())
        .map(|u| {
            crate::domain::poster::parse_onion_url(&u).map_err(|e| ConfigError::Invalid {
                name: "SPEAKUP_ONION_URL",
                message: format!("{u:?} {e}"),
            })
        })
        .transpose()
}

/// The key file: as configured, else `speakup.key` beside a SQLite database file; `None`
/// for any other database, which must configure it (checked at start, see crate::keyfile).
fn key_file(database_url: &str, configured: Option<PathBuf>) -> Option<PathBuf> {
    if let Some(path) = configured.filter(|p| !p.as_os_str().is_empty()) {
        return Some(path);
    }
    database_url
        .strip_prefix("sqlite:")
        .map(|rest| {
            rest.trim_start_matches("//")
                .split('?')
                .next()
                .unwrap_or("")
        })
        .filter(|p| !p.is_empty() && *p != ":memory:")
        .map(|db| Path::new(db).with_file_name("speakup.key"))
}

/// For a `sqlite:` URL, the database file's folder must exist before SQLite can create it.
pub fn ensure_sqlite_dir(url: &str) -> std::io::Result<()> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest
            .trim_start_matches("//")
            .split('?')
            .next()
            .unwrap_or("");
        if !path.is_empty()
            && path != ":memory:"
            && let Some(parent) = Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_over_defaults() {
        let file: FileConfig = toml::from_str(
            "bind = \"127.0.0.1:9000\"\norg_name = \"ACME\"\nmax_attachment_mib = 5\n\
             [[categories]]\ncode = \"fraud\"\n[[categories]]\ncode = \"safety-rail\"\nen = \"Rail safety\"\nnl = \"Spoorveiligheid\"\n",
        )
        .unwrap();
        let serve = ServeArgs {
            org_name: Some("Flag Org".into()),
            ..Default::default()
        };
        let s = Settings::from_parts(&CommonArgs::default(), &serve, file).unwrap();
        assert_eq!(s.bind.port(), 9000);
        assert_eq!(s.site.org_name, "Flag Org");
        assert_eq!(s.max_attachment_bytes, 5 * 1024 * 1024);
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(s.site.categories.len(), 2);
        assert_eq!(
            s.site.category("safety-rail").unwrap().label(Lang::Nl),
            "Spoorveiligheid"
        );
        assert_eq!(
            s.site.category("safety-rail").unwrap().label(Lang::De),
            "Rail safety"
        );
        assert_eq!(s.public_url, "http://127.0.0.1:9000");
    }

    #[test]
    fn bad_settings_are_refused_with_their_name() {
        let serve = ServeArgs {
            escrow_recipient: Some("age1bogus".into()),
            ..Default::default()
        };
        let err = Settings::from_parts(&CommonArgs::default(), &serve, FileConfig::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("SPEAKUP_ESCROW_RECIPIENT"), "{err}");
        assert!(toml::from_str::<FileConfig>("nope = 1").is_err());
    }

    #[test]
    fn the_onion_address_is_checked_and_the_public_url_marked_as_set() {
        let s = Settings::from_parts(
            &CommonArgs::default(),
            &ServeArgs::default(),
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(s.intake_address(), None);
        assert_eq!(s.onion_url, None);
        let serve = ServeArgs {
            public_url: Some("https://speak.example.org/".into()),
            onion_url: Some("http://abcdefghij234567.onion/".into()),
            ..Default::default()
        };
        let s =
            Settings::from_parts(&CommonArgs::default(), &serve, FileConfig::default()).unwrap();
        assert_eq!(s.intake_address(), Some("https://speak.example.org"));
        assert_eq!(
            s.onion_url.as_deref(),
            Some("http://abcdefghij234567.onion")
        );
        let err = refusal(
            ServeArgs::default(),
            "onion_url = \"https://speak.example.org\"\n",
        );
        assert!(err.contains("SPEAKUP_ONION_URL"), "{err}");
    }

    #[test]
    fn debug_hides_database_credentials() {
        let common = CommonArgs {
            database_url: Some("postgres://u:hunter2@db/x".into()),
            ..Default::default()
        };
        let s =
            Settings::from_parts(&common, &ServeArgs::default(), FileConfig::default()).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    fn refusal(serve: ServeArgs, file: &str) -> String {
        let file: FileConfig = toml::from_str(file).unwrap();
        Settings::from_parts(&CommonArgs::default(), &serve, file)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn out_of_range_limits_are_refused_with_their_name() {
        let cases: Vec<(ServeArgs, &str)> = vec![
            (
                ServeArgs {
                    rate_per_client: Some(1_000_000_000),
                    ..Default::default()
                },
                "SPEAKUP_RATE_PER_CLIENT",
            ),
            (
                ServeArgs {
                    rate_per_client: Some(0),
                    ..Default::default()
                },
                "SPEAKUP_RATE_PER_CLIENT",
            ),
            (
                ServeArgs {
                    rate_global: Some(u32::MAX),
                    ..Default::default()
                },
                "SPEAKUP_RATE_GLOBAL",
            ),
            (
                ServeArgs {
                    rate_reads_per_client: Some(0),
                    ..Default::default()
                },
                "SPEAKUP_RATE_READS_PER_CLIENT",
            ),
            (
                ServeArgs {
                    rate_reads_per_client: Some(u32::MAX),
                    ..Default::default()
                },
                "SPEAKUP_RATE_READS_PER_CLIENT",
            ),
            (
                ServeArgs {
                    max_attachments: Some(51),
                    ..Default::default()
                },
                "SPEAKUP_MAX_ATTACHMENTS",
            ),
            (
                ServeArgs {
                    max_attachments: Some(0),
                    ..Default::default()
                },
                "SPEAKUP_MAX_ATTACHMENTS",
            ),
            (
                ServeArgs {
                    max_attachment_mib: Some(u64::MAX),
                    ..Default::default()
                },
                "SPEAKUP_MAX_ATTACHMENT_MIB",
            ),
        ];
        for (serve, name) in cases {
            let err = refusal(serve, "");
            assert!(err.contains(name), "{err}");
            assert!(err.contains("between"), "{err}");
        }
    }

    #[test]
    fn out_of_range_connection_limits_are_refused_with_their_name() {
        let cases: Vec<(ServeArgs, &str)> = vec![
            (
                ServeArgs {
                    header_timeout_secs: Some(0),
                    ..Default::default()
                },
                "SPEAKUP_HEADER_TIMEOUT_SECS",
            ),
            (
                ServeArgs {
                    idle_timeout_secs: Some(u64::MAX),
                    ..Default::default()
                },
                "SPEAKUP_IDLE_TIMEOUT_SECS",
            ),
            (
                ServeArgs {
                    min_upload_kib_per_sec: Some(0),
                    ..Default::default()
                },
                "SPEAKUP_MIN_UPLOAD_KIB_PER_SEC",
            ),
            (
                ServeArgs {
                    max_connections: Some(0),
                    ..Default::default()
                },
                "SPEAKUP_MAX_CONNECTIONS",
            ),
        ];
        for (serve, name) in cases {
            let err = refusal(serve, "");
            assert!(err.contains(name), "{err}");
            assert!(err.contains("between"), "{err}");
        }
        // The file's values are checked the same way.
        let err = refusal(ServeArgs::default(), "rate_global = 0\n");
        assert!(err.contains("SPEAKUP_RATE_GLOBAL"), "{err}");
        let err = refusal(ServeArgs::default(), "max_connections = 1000000\n");
        assert!(err.contains("SPEAKUP_MAX_CONNECTIONS"), "{err}");
    }

    #[test]
    fn defaults_are_kept_and_boundaries_accepted() {
        let s = Settings::from_parts(
            &CommonArgs::default(),
            &ServeArgs::default(),
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(s.max_attachments, 10);
        assert_eq!(s.rate_per_client, 20);
        assert_eq!(s.rate_global, 300);
        assert_eq!(s.rate_reads_per_client, DEFAULT_READS_PER_CLIENT);
        assert_eq!(s.max_attachment_bytes, 100 * 1024 * 1024);
        assert_eq!(s.connections.header_timeout, Duration::from_secs(10));
        assert_eq!(s.connections.idle_timeout, Duration::from_secs(60));
        assert_eq!(s.connections.min_upload_bytes_per_sec, 4 * 1024);
        assert_eq!(s.connections.max_connections, 512);
        assert!(s.connections.trusted_proxies.is_empty());
        let serve = ServeArgs {
            rate_per_client: Some(MAX_RATE_PER_MINUTE),
            rate_global: Some(1),
            max_attachments: Some(50),
            trusted_proxy: Some(vec!["10.0.0.1".parse().unwrap(), "::1".parse().unwrap()]),
            ..Default::default()
        };
        let s =
            Settings::from_parts(&CommonArgs::default(), &serve, FileConfig::default()).unwrap();
        assert_eq!(s.rate_per_client, MAX_RATE_PER_MINUTE);
        assert_eq!(s.max_attachments, 50);
        assert_eq!(s.connections.trusted_proxies.len(), 2);
        let file: FileConfig = toml::from_str("trusted_proxy = [\"127.0.0.1\"]\n").unwrap();
        let s = Settings::from_parts(&CommonArgs::default(), &ServeArgs::default(), file).unwrap();
        assert_eq!(
            s.connections.trusted_proxies,
            vec![IpAddr::from([127, 0, 0, 1])]
        );
    }

    #[test]
    fn mail_settings_are_parsed_checked_and_redacted() {
        let mail = |url: &str, from: Option<&str>, esc: Option<&str>| ServeArgs {
            mail: MailArgs {
                smtp_url: Some(url.into()),
                smtp_from: from.map(Into::into),
                escalation_email: esc.map(Into::into),
                escalation_lang: None,
                smtp_ca_file: None,
            },
            ..Default::default()
        };
        let s = Settings::from_parts(
            &CommonArgs::default(),
            &mail(
                "smtp://mailer:s3cr%2Bt+x@mail.example.org",
                Some("Speak Up <noreply@example.org>"),
                Some("head@example.org"),
            ),
            FileConfig::default(),
        )
        .unwrap();
        let m = s.mail.clone().unwrap();
        assert_eq!(
            (m.smtp.host.as_str(), m.smtp.port),
            ("mail.example.org", 587)
        );
        assert_eq!(m.smtp.tls, SmtpTls::StartTls);
        assert_eq!(m.smtp.user.as_deref(), Some("mailer"));
        assert_eq!(m.smtp.password.as_ref().unwrap().expose(), "s3cr+t+x");
        assert_eq!(m.escalation.as_deref(), Some("head@example.org"));
        let shown = format!("{s:?} {:?}", mail("smtp://u:s3cr%2Bt+x@h", None, None));
        assert!(!shown.contains("s3cr"), "{shown}");
        let p = SmtpServer::parse("smtps://h").unwrap();
        assert_eq!((p.tls, p.port), (SmtpTls::Implicit, 465));
        assert_eq!(
            SmtpServer::parse("smtp://h:2525?tls=none").unwrap().tls,
            SmtpTls::None
        );
        let refused = [
            (
                mail("http://u:pw@h", Some("a@b.c"), None),
                "SPEAKUP_SMTP_URL",
            ),
            (
                mail("smtp://u:pw@h?tls=maybe", Some("a@b.c"), None),
                "SPEAKUP_SMTP_URL",
            ),
            (mail("smtps://u:pw@h", None, None), "SPEAKUP_SMTP_FROM"),
            (
                mail("smtps://u:pw@h", Some("not an address"), None),
                "SPEAKUP_SMTP_FROM",
            ),
            (
                mail("smtps://u:pw@h", Some("a@b.c"), Some("x@")),
                "SPEAKUP_ESCALATION_EMAIL",
            ),
        ];
        for (serve, name) in refused {
            let err = refusal(serve, "");
            assert!(err.contains(name), "{err}");
            assert!(!err.contains("pw"), "{err}");
        }
        let err = refusal(ServeArgs::default(), "escalation_email = \"a@b.c\"\n");
        assert!(err.contains("SPEAKUP_ESCALATION_EMAIL"), "{err}");
        let file: FileConfig =
            toml::from_str("smtp_url = \"smtps://h\"\nsmtp_from = \"a@b.c\"\n").unwrap();
        let s = Settings::from_parts(&CommonArgs::default(), &ServeArgs::default(), file).unwrap();
        assert!(s.mail.is_some());
    }

    #[test]
    fn the_key_file_sits_beside_a_sqlite_database_or_is_configured() {
        let s = Settings::from_parts(
            &CommonArgs::default(),
            &ServeArgs::default(),
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(s.key_file, Some(PathBuf::from("data/speakup.key")));
        let pg = CommonArgs {
            database_url: Some("postgres://db/x".into()),
            ..Default::default()
        };
        let s = Settings::from_parts(&pg, &ServeArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(s.key_file, None);
        let file: FileConfig = toml::from_str("key_file = \"/etc/speakup/k\"").unwrap();
        let s = Settings::from_parts(&pg, &ServeArgs::default(), file).unwrap();
        assert_eq!(s.key_file, Some(PathBuf::from("/etc/speakup/k")));
    }

    #[test]
    fn start_up_lists_non_defaults_without_secrets_and_warns_of_dangers() {
        let d = Settings::from_parts(
            &CommonArgs::default(),
            &ServeArgs::default(),
            FileConfig::default(),
        )
        .unwrap();
        assert!(d.non_default().is_empty(), "{:?}", d.non_default());
        // The defaults send no mail: the only danger with an escrow key.
        assert_eq!(d.dangers(true).len(), 1);
        assert!(d.dangers(true)[0].contains("SPEAKUP_SMTP_URL"));
        assert_eq!(d.dangers(false).len(), 2);
        assert!(d.dangers(false)[0].contains("escrow"));
        let common = CommonArgs {
            database_url: Some("postgres://u:hunter2@db/x".into()),
            ..Default::default()
        };
        let serve = ServeArgs {
            bind: Some("0.0.0.0:8080".parse().unwrap()),
            max_attachments: Some(3),
            key_file: Some("/etc/speakup/k".into()),
            ..Default::default()
        };
        let s = Settings::from_parts(&common, &serve, FileConfig::default()).unwrap();
        let shown = format!("{:?}", s.non_default());
        assert!(!shown.contains("hunter2"), "{shown}");
        for name in [
            "DATABASE_URL",
            "SPEAKUP_BIND",
            "SPEAKUP_MAX_ATTACHMENTS",
            "SPEAKUP_KEY_FILE",
        ] {
            assert!(shown.contains(name), "{name}: {shown}");
        }
        // The public URL follows the bind: not a setting of its own here.
        assert!(!shown.contains("SPEAKUP_PUBLIC_URL"), "{shown}");
        assert!(s.dangers(true)[0].contains("SPEAKUP_PUBLIC_URL"));
        let https = ServeArgs {
            public_url: Some("https://speakup.example.org".into()),
            mail: MailArgs {
                smtp_url: Some("smtps://mail.example.org".into()),
                smtp_from: Some("noreply@example.org".into()),
                escalation_email: None,
                escalation_lang: Some("nl".into()),
                smtp_ca_file: None,
            },
            ..serve
        };
        let s = Settings::from_parts(&common, &https, FileConfig::default()).unwrap();
        // The database on another machine ("db") without a checked certificate.
        assert_eq!(s.dangers(true).len(), 1, "{:?}", s.dangers(true));
        assert!(s.dangers(true)[0].contains("sslmode=prefer"));
        assert_eq!(
            s.mail.as_ref().map(|m| m.escalation_lang),
            Some(crate::i18n::Lang::Nl)
        );
        let mut klingon = https.clone();
        klingon.mail.escalation_lang = Some("tlh".into());
        let err = Settings::from_parts(&common, &klingon, FileConfig::default()).unwrap_err();
        assert!(err.to_string().contains("SPEAKUP_ESCALATION_LANG"), "{err}");
        assert!(format!("{:?}", s.non_default()).contains("https://speakup.example.org"));
    }

    #[test]
    fn a_remote_database_unchecked_and_metrics_everywhere_are_dangers() {
        let https = ServeArgs {
            public_url: Some("https://speakup.example.org".into()),
            mail: MailArgs {
                smtp_url: Some("smtps://mail.example.org".into()),
                smtp_from: Some("noreply@example.org".into()),
                ..Default::default()
            },
            key_file: Some("/etc/speakup/k".into()),
            ..Default::default()
        };
        let verified = CommonArgs {
            database_url: Some(
                "postgres://u:pw@db/x?sslmode=verify-full&sslrootcert=/ca.pem".into(),
            ),
            ..Default::default()
        };
        let s = Settings::from_parts(&verified, &https, FileConfig::default()).unwrap();
        assert!(s.dangers(true).is_empty(), "{:?}", s.dangers(true));
        for local in [
            "postgres://u@localhost/x",
            "postgres://u@127.0.0.1:5432/x",
            "postgres://u@[::1]/x",
        ] {
            assert_eq!(unverified_database(local), None, "{local}");
        }
        let required = unverified_database("postgres://u@db.example.org/x?sslmode=require");
        assert!(required.is_some_and(|d| d.contains("db.example.org with sslmode=require")));
        let open = ServeArgs {
            metrics_bind: Some("0.0.0.0:9464".into()),
            ..https
        };
        let s = Settings::from_parts(&verified, &open, FileConfig::default()).unwrap();
        assert!(
            s.dangers(true)[0].contains("SPEAKUP_METRICS_BIND"),
            "{:?}",
            s.dangers(true)
        );
    }
}

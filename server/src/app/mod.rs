//! The use cases: one place per rule, called by the web handlers and the command line alike
//! and testable without HTTP. Each takes parsed input, checks permissions and workflow rules,
//! encrypts where the server encrypts, and writes through the store with its audit row in the
//! same transaction. Nothing here knows about requests, cookies or HTML.

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod case_file;
pub mod case_move;
pub mod casework;
pub mod entities;
pub mod export;
pub mod holder_cache;
pub mod holds;
pub mod intake;
pub mod items;
pub mod logos;
pub mod mailbox;
pub mod meetings;
pub mod notify;
pub mod officer_key;
pub mod owners;
pub mod posters;
pub mod readiness;
pub mod retention;
pub mod routing;
pub mod settings;
pub mod stats;
pub mod uploads;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::store::{SharedStore, StoreError};

/// What every use case needs: the store, the clock, the process settings (limits, the public
/// address) and the site settings admins change at run time.
pub struct App {
    pub store: SharedStore,
    pub settings: Settings,
    pub clock: SharedClock,
    pub site: settings::SiteHolder,
    /// How far the audit chain is known to be intact (see `audit::check`).
    pub audit_checkpoint: audit::Checkpoints,
    /// The notification mail transport; `None` when `SPEAKUP_SMTP_URL` is unset.
    pub mailer: Option<crate::mail::Mailer>,
    /// This server's Prometheus metrics (served only when `SPEAKUP_METRICS_BIND` is set).
    pub metrics: crate::metrics::Metrics,
    /// This process's name in the job leases it holds (random, new at each start).
    pub instance: String,
    /// The intake's holders for the pages that show them (`holder_cache`).
    pub intake_holders: holder_cache::HolderCache,
}

impl App {
    pub async fn new(
        store: SharedStore,
        settings: Settings,
        clock: SharedClock,
    ) -> Result<Self, Error> {
        let site = settings::SiteHolder::load(store.as_ref(), &settings).await?;
        let mailer = settings
            .mail
            .as_ref()
            .map(crate::mail::Mailer::new)
            .transpose()
            .map_err(Error::internal)?;
        Ok(Self {
            mailer,
            metrics: crate::metrics::Metrics::new().map_err(Error::internal)?,
            instance: new_id(),
            store,
            settings,
            clock,
            site,
            audit_checkpoint: audit::Checkpoints::default(),
            intake_holders: holder_cache::HolderCache::default(),
        })
    }

    pub fn store(&self) -> &dyn crate::store::Store {
        self.store.as_ref()
    }
}

/// Why a use case refused or failed. The web layer turns each into a page, the CLI into a
/// message; `Internal` causes are logged and never shown.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The person lacks the permission, is excluded, or holds no copy of the case key.
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// Input that parses but breaks a rule (a forged form, a transition not allowed).
    #[error("not acceptable")]
    Invalid,
    /// The intake is closed: no officer key exists yet.
    #[error("no officer key is registered yet")]
    NotConfigured,
    /// An enrollment link that was used or has expired.
    #[error("the link was used or has expired")]
    LinkExpired,
    /// A reporter added as many items to one case today as a day allows.
    #[error("the daily limit of reporter items for this case is reached")]
    DailyLimit,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl Error {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Error::Internal(e.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A fresh random id for an item or a blob.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

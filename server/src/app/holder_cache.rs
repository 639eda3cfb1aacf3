//! The intake's directory (the officer list, the entities' triage groups and the routing
//! groups: who a new case's key can be sealed to) kept in memory for the pages that show it:
//! the intake forms (which hand the holders' keys to the reporter's browser) and the landing
//! pages (whether the intake is open, who reads). Reading it from the database on every view
//! made those pages several database round trips each.
//!
//! How stale it may be: an account, entity-membership or triage-group change made in this
//! process (the web or a CLI command run in it) is seen at once (`store::accounts_changes`);
//! one made by another instance or process on the same database within `FRESH_FOR`, the same
//! bound as the site settings. A directory with no holder is never cached, so the first
//! officer key opens the intake at once.
//!
//! Filing a report may not use a stale directory: it asks [`HolderCache::current`], which
//! reads the directory's version from the database (`directory_version`, moved in the same
//! transaction as every change to it, by any process) and uses the copy in memory only when
//! it was read at that version: one small read per report instead of the whole directory.
//! The browser road refuses a report sealed to a list older than that, so a page's
//! staleness can cost a reporter a retry, never a case that a current holder cannot open.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use age::x25519::Recipient;

use crate::domain::entity::Membership;
use crate::domain::holder::Holder;
use crate::store::{GroupRecord, OfficerRecord, Store, StoreResult, accounts_changes};

/// How long a directory read from the database is used.
pub const FRESH_FOR: Duration = super::settings::REFRESH_EVERY;

/// What routing needs to know about officers, read together.
pub struct Directory {
    pub officers: Vec<OfficerRecord>,
    pub membership: Membership,
    pub groups: Vec<GroupRecord>,
    /// Every triage officer whose key works, with the key parsed (`intake::recipients_of`):
    /// once per read, not on every page view.
    pub holders: Vec<(Holder, Recipient)>,
}

impl Directory {
    /// Read from the store now.
    pub async fn read(store: &dyn Store) -> StoreResult<Self> {
        let officers = store.officers().await?;
        Ok(Self {
            holders: super::intake::recipients_of(&officers),
            officers,
            membership: store.membership().await?,
            groups: store.triage_groups().await?,
        })
    }
}

struct Cached {
    read_at: Instant,
    /// The database's `directory_version` read before the directory was.
    version: i64,
    /// `accounts_changes()` before the directory was read.
    changes: u64,
    directory: Arc<Directory>,
}

/// The last directory read, if it still counts.
#[derive(Default)]
pub struct HolderCache(RwLock<Option<Cached>>);

impl HolderCache {
    /// The directory, from memory while fresh, otherwise from the store.
    pub async fn get(&self, store: &dyn Store) -> StoreResult<Arc<Directory>> {
        // Taken before the read: a change that commits during it makes the next call read again.
        let changes = accounts_changes();
        if let Some(c) = &*self.0.read().unwrap_or_else(PoisonError::into_inner)
            && c.changes == changes
            && c.read_at.elapsed() < FRESH_FOR
        {
            return Ok(c.directory.clone());
        }
        self.read(store, changes).await
    }

    /// The directory as the database holds it now: from memory when nothing changed it
    /// since it was read (one read of its version), otherwise from the store. For filing.
    pub async fn current(&self, store: &dyn Store) -> StoreResult<Arc<Directory>> {
        let changes = accounts_changes();
        let version = store.directory_version().await?;
        if let Some(c) = &*self.0.read().unwrap_or_else(PoisonError::into_inner)
            && c.version == version
        {
            return Ok(c.directory.clone());
        }
        Ok(self.keep(changes, version, Directory::read(store).await?))
    }

    /// Reads the directory and keeps it (with the version read first: a change committed
    /// during the read makes the next `current` read again).
    async fn read(&self, store: &dyn Store, changes: u64) -> StoreResult<Arc<Directory>> {
        let version = store.directory_version().await?;
        Ok(self.keep(changes, version, Directory::read(store).await?))
    }

    /// Keeps a directory just read (unless it has no holder) and hands it out.
    fn keep(&self, changes: u64, version: i64, d: Directory) -> Arc<Directory> {
        let directory = Arc::new(d);
        let has_holder = !directory.holders.is_empty();
        let cached = has_holder.then(|| Cached {
            read_at: Instant::now(),
            version,
            changes,
            directory: directory.clone(),
        });
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = cached;
        directory
    }
}

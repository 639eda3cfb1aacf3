//! The intake's holders (who a new case's key is sealed to, `intake::recipients`) kept in
//! memory for the pages that show them: the intake form (which hands their keys to the
//! reporter's browser) and the landing page (whether the intake is open). Reading the officer
//! list from the database on every view made those pages a database round trip each.
//!
//! How stale it may be: an account change made in this process (the web or a CLI command
//! run in it) is seen at once (`store::accounts_changes`); one made by another instance or
//! process on the same database within `FRESH_FOR`, the same bound as the site settings. A
//! closed intake (no holder) is never cached, so the first officer key opens it at once.
//! Filing a report does not use this list: both intake roads read the holders afresh, and the
//! browser road refuses a report sealed to a stale list, so staleness can cost a reporter a
//! retry, never a case that a current holder cannot open.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use age::x25519::Recipient;

use super::intake;
use crate::domain::holder::Holder;
use crate::store::{Store, StoreResult, accounts_changes};

/// How long a holder list read from the database is used.
pub const FRESH_FOR: Duration = super::settings::REFRESH_EVERY;

/// The holders, shared with the pages that render them.
pub type Holders = Arc<Vec<(Holder, Recipient)>>;

struct Cached {
    read_at: Instant,
    /// `accounts_changes()` before the list was read.
    changes: u64,
    holders: Holders,
}

/// The last holder list read, if it still counts.
#[derive(Default)]
pub struct HolderCache(RwLock<Option<Cached>>);

impl HolderCache {
    /// The intake's holders, from memory while fresh, otherwise from the store.
    pub async fn get(&self, store: &dyn Store) -> StoreResult<Holders> {
        // Taken before the read: a change that commits during it makes the next call read again.
        let changes = accounts_changes();
        if let Some(c) = &*self.0.read().unwrap_or_else(PoisonError::into_inner)
            && c.changes == changes
            && c.read_at.elapsed() < FRESH_FOR
        {
            return Ok(c.holders.clone());
        }
        let holders: Holders = Arc::new(intake::recipients(store).await?);
        let cached = (!holders.is_empty()).then(|| Cached {
            read_at: Instant::now(),
            changes,
            holders: holders.clone(),
        });
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = cached;
        Ok(holders)
    }

    /// Whether the intake accepts reports (some holder exists), as the pages show it.
    pub async fn is_open(&self, store: &dyn Store) -> StoreResult<bool> {
        Ok(!self.get(store).await?.is_empty())
    }
}

//! The injected clock. Owns "what day is it": reporter actions are only ever stamped with a
//! day (never a time of day), so the clock hands out `Date`s for them and full instants only
//! for officer-side and housekeeping uses.

use std::sync::Arc;
use time::{Date, OffsetDateTime};

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;

    /// The current UTC day: the only timestamp a reporter action may carry.
    fn today(&self) -> Date {
        self.now().date()
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stays where a test puts it, so deadline tests need no sleeping.
#[derive(Debug, Clone)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// Real time plus an offset a test can move forward: TOTP steps, session timeouts and
/// deadlines can be crossed without sleeping, while everything else runs normally.
#[derive(Debug, Default)]
pub struct OffsetClock(std::sync::atomic::AtomicI64);

impl OffsetClock {
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> OffsetDateTime {
        let offset = self.0.load(std::sync::atomic::Ordering::SeqCst);
        OffsetDateTime::now_utc() + time::Duration::seconds(offset)
    }
}

pub type SharedClock = Arc<dyn Clock>;

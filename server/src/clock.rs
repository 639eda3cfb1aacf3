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

/// The organisation's time zone (`SPEAKUP_TIME_ZONE`, default Europe/Brussels): officer-side
/// instants (the audit page, case history) are shown in it. Stored times stay UTC instants;
/// reporter actions stay days. The zone rules come from the IANA database bundled with `jiff`
/// (see docs/dependencies.md), so the host needs no zoneinfo files.
#[derive(Clone)]
pub struct OrgTimeZone {
    name: String,
    zone: jiff::tz::TimeZone,
}

impl OrgTimeZone {
    pub const DEFAULT: &'static str = "Europe/Brussels";

    /// An IANA zone name such as `Europe/Brussels`; anything else is refused with a reason.
    pub fn parse(name: &str) -> Result<Self, String> {
        let name = name.trim();
        jiff::tz::TimeZone::get(name)
            .map(|zone| Self {
                name: name.to_owned(),
                zone,
            })
            .map_err(|_| {
                format!("'{name}' is not a time zone name of the IANA database (for example Europe/Brussels)")
            })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The instant as the organisation's wall-clock time, with that moment's offset.
    pub fn local(&self, unix: i64) -> Option<OffsetDateTime> {
        let ts = jiff::Timestamp::from_second(unix).ok()?;
        let offset = self.zone.to_offset(ts).seconds();
        let utc = OffsetDateTime::from_unix_timestamp(unix).ok()?;
        Some(utc.to_offset(time::UtcOffset::from_whole_seconds(offset).ok()?))
    }
}

impl Default for OrgTimeZone {
    fn default() -> Self {
        Self::parse(Self::DEFAULT).unwrap_or_else(|_| Self {
            name: "UTC".into(),
            zone: jiff::tz::TimeZone::UTC,
        })
    }
}

impl std::fmt::Debug for OrgTimeZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// The offset as people read it beside a time: `UTC`, `UTC+1`, `UTC+5:30`, `UTC-3`.
pub fn offset_label(offset: time::UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    match (h, m) {
        (0, 0) => "UTC".into(),
        (h, 0) => format!("UTC{sign}{}", h.unsigned_abs()),
        (h, m) => format!("UTC{sign}{}:{:02}", h.unsigned_abs(), m.unsigned_abs()),
    }
}

#[cfg(test)]
mod zone_tests {
    use super::*;

    #[test]
    fn the_organisations_zone_follows_daylight_saving_time() {
        let z = OrgTimeZone::parse("Europe/Brussels").unwrap();
        // 2026-01-15 12:00 UTC is 13:00 in Brussels (winter), 2026-07-15 12:00 UTC is 14:00.
        let winter = z.local(1_768_478_400).unwrap();
        assert_eq!(
            (winter.hour(), offset_label(winter.offset())),
            (13, "UTC+1".into())
        );
        let summer = z.local(1_784_116_800).unwrap();
        assert_eq!(
            (summer.hour(), offset_label(summer.offset())),
            (14, "UTC+2".into())
        );
        let kolkata = OrgTimeZone::parse("Asia/Kolkata")
            .unwrap()
            .local(0)
            .unwrap();
        assert_eq!(offset_label(kolkata.offset()), "UTC+5:30");
        assert!(OrgTimeZone::parse("Mars/Olympus_Mons").is_err());
        assert!(OrgTimeZone::parse("").is_err());
    }
}

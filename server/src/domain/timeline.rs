//! The order of a case's history on the case page: when each entry happened as far as the
//! case knows (items carry their day only, so nothing reveals when a reporter acted; status
//! and access changes carry the exact time) and the access changes the history shows.

use time::{Date, OffsetDateTime};

/// Where an entry sits in the history. Entries are ordered by day; within a day, those with a
/// day only (items, in their stored order) come before those with an exact time (in time
/// order): the derived order of the fields, in this order, is the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment {
    pub day: Date,
    /// Unix seconds, for entries that have an exact time.
    pub at: Option<i64>,
    /// The stored order among entries of one kind.
    pub seq: i64,
}

impl Moment {
    /// An item: its day and its place among the case's items.
    pub fn dated(day: Date, seq: i64) -> Self {
        Self { day, at: None, seq }
    }

    /// An officer action at an exact time (UTC day).
    pub fn timed(at: i64, seq: i64) -> Self {
        let day = OffsetDateTime::from_unix_timestamp(at)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .date();
        Self {
            day,
            at: Some(at),
            seq,
        }
    }
}

string_enum!(
    /// A change of who may open the case, as the audit log names it; the history shows
    /// these (the audit log is their only record once a grant is revoked or an exclusion
    /// lifted).
    AccessChange {
        Granted => "access_granted",
        Revoked => "access_revoked",
        Excluded => "excluded",
        ExclusionProposed => "exclusion_proposed",
        ExclusionConfirmed => "exclusion_confirmed",
        ExclusionLifted => "exclusion_lifted",
    }
);

impl AccessChange {
    /// The catalog key of the history's sentence ("{by} gave {whom} access", …).
    pub fn key(self) -> &'static str {
        match self {
            AccessChange::Granted => "timeline.access.granted",
            AccessChange::Revoked => "timeline.access.revoked",
            AccessChange::Excluded => "timeline.access.excluded",
            AccessChange::ExclusionProposed => "timeline.access.exclusion_proposed",
            AccessChange::ExclusionConfirmed => "timeline.access.exclusion_confirmed",
            AccessChange::ExclusionLifted => "timeline.access.exclusion_lifted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn days_first_then_dated_entries_then_times() {
        let noon = date!(2026 - 11 - 27)
            .midnight()
            .assume_utc()
            .unix_timestamp()
            + 12 * 3600;
        let mut all = vec![
            Moment::timed(noon + 60, 2),
            Moment::dated(date!(2026 - 11 - 28), 3),
            Moment::timed(noon, 1),
            Moment::dated(date!(2026 - 11 - 27), 2),
            Moment::dated(date!(2026 - 11 - 26), 1),
        ];
        all.sort();
        assert_eq!(
            all,
            vec![
                Moment::dated(date!(2026 - 11 - 26), 1),
                Moment::dated(date!(2026 - 11 - 27), 2),
                Moment::timed(noon, 1),
                Moment::timed(noon + 60, 2),
                Moment::dated(date!(2026 - 11 - 28), 3),
            ]
        );
        assert_eq!(Moment::timed(noon, 1).day, date!(2026 - 11 - 27));
        assert_eq!(
            "exclusion_lifted".parse::<AccessChange>(),
            Ok(AccessChange::ExclusionLifted)
        );
        assert!("case_opened".parse::<AccessChange>().is_err());
    }
}

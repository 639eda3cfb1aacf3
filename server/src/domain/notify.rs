//! Notification rules (issue 10): which mail is due when (the daily digest at a set hour, at
//! most one "new activity" mail an hour at a keyed random moment within it, the escalation
//! digest), what a digest counts, and its constant shape (capped, padded reference list and
//! fixed-width counts), so that neither the timing nor the size of a mail tells when a report
//! was filed or what it is about. Pure: the clock's reading and the key are passed in.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::{Date, OffsetDateTime};

use super::case::CaseStatus;
use super::deadlines::{CaseDates, DeadlineState, Deadlines};

string_enum!(
    /// What an officer chose on My account (stored word; catalog key `notify.mode.*`).
    NotifyMode {
        All => "all",
        DigestOnly => "digest",
        Off => "off",
    }
);

/// The daily digest goes out from this hour on, in the organisation's time zone.
pub const DIGEST_HOUR: u8 = 7;
/// At most this many case references are listed; the rest are counted in "and N more".
pub const MAX_REFERENCES: usize = 12;
/// Counts are written this wide; larger ones are shown as the largest that fits.
pub const COUNT_WIDTH: usize = 4;
const COUNT_MAX: usize = 9999;
/// A case reference (`SU-XXXX-XXXX`) and the filler line that takes an unused place.
pub const REFERENCE_WIDTH: usize = 12;
pub const FILLER: &str = "------------";

/// A digest's period: the mails already claimed are recorded per recipient and period.
pub fn day_period(kind: &str, day: Date) -> String {
    format!("{kind}:{day}")
}

/// The hourly period, `hour:YYYY-MM-DDTHH` (sorts by day, so a day's rows can be purged).
pub fn hour_period(now: OffsetDateTime) -> String {
    format!("hour:{}T{:02}", now.date(), now.hour())
}

/// The prefix of every hourly period of a day, for purging the days that are over.
pub fn hour_period_floor(day: Date) -> String {
    format!("hour:{day}")
}

/// The daily digest of `now`'s day is due once its hour has come (or at once on demand).
pub fn digest_due(now: OffsetDateTime, hour: u8, at_once: bool) -> bool {
    at_once || now.hour() >= hour
}

/// Seconds into the hour at which `officer`'s hourly mail may go: fixed for an officer and an
/// hour, unpredictable without `key` (the server's secret), the same on every instance.
pub fn hourly_slot(key: &[u8], officer: &str, now: OffsetDateTime) -> u32 {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return 0;
    };
    mac.update(officer.as_bytes());
    mac.update(hour_period(now).as_bytes());
    let out = mac.finalize().into_bytes();
    let n = u32::from_be_bytes([out[0], out[1], out[2], out[3]]);
    n % 3600
}

/// Whether the hourly mail may go now: its random moment in this hour has passed.
pub fn hourly_due(key: &[u8], officer: &str, now: OffsetDateTime, at_once: bool) -> bool {
    let into_hour = u32::from(now.minute()) * 60 + u32::from(now.second());
    at_once || into_hour >= hourly_slot(key, officer, now)
}

/// One case as an officer's digest sees it: its dates and what the officer was told already.
#[derive(Debug, Clone)]
pub struct Holding {
    pub reference: String,
    pub dates: CaseDates,
    /// The highest reporter item of the case (0: none).
    pub reporter_seq: i64,
    /// The highest reporter item the officer was told of; `None`: never told of the case.
    pub told_seq: Option<i64>,
}

/// The counts of a digest and the references it lists (all of them; the shape caps them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digest {
    pub new_cases: usize,
    pub replies: usize,
    pub ack_due_soon: usize,
    pub feedback_due_soon: usize,
    pub overdue: usize,
    pub references: Vec<String>,
}

impl Digest {
    /// What an officer's holdings add up to on `today`. Closed cases count for nothing.
    pub fn of(holdings: &[Holding], today: Date) -> Self {
        let mut d = Digest::default();
        for h in holdings {
            if h.dates.status == CaseStatus::Closed {
                continue;
            }
            let dl = Deadlines::on(&h.dates, today);
            let flags = [
                (h.told_seq.is_none(), &mut d.new_cases),
                (
                    h.told_seq.is_some_and(|t| h.reporter_seq > t),
                    &mut d.replies,
                ),
                (dl.ack == DeadlineState::DueSoon, &mut d.ack_due_soon),
                (
                    dl.feedback == DeadlineState::DueSoon,
                    &mut d.feedback_due_soon,
                ),
                (dl.overdue(), &mut d.overdue),
            ];
            let mut listed = false;
            for (on, count) in flags {
                if on {
                    *count += 1;
                    listed = true;
                }
            }
            if listed {
                d.references.push(h.reference.clone());
            }
        }
        d.references.sort();
        d
    }

    /// Something new (a case or a reporter's reply) the officer was not told of.
    pub fn has_news(&self) -> bool {
        self.new_cases + self.replies > 0
    }

    /// The escalation digest: overdue cases only (counted as "overdue"), for the escalation
    /// address. `None` when nothing is overdue.
    pub fn escalation(cases: &[(String, CaseDates)], today: Date) -> Option<Self> {
        let mut d = Digest::default();
        for (reference, dates) in cases {
            if Deadlines::on(dates, today).overdue() {
                d.overdue += 1;
                d.references.push(reference.clone());
            }
        }
        d.references.sort();
        (d.overdue > 0).then_some(d)
    }

    /// The listed references, always exactly [`MAX_REFERENCES`] lines of
    /// [`REFERENCE_WIDTH`] characters (fillers in unused places), and how many were left out.
    pub fn reference_lines(&self) -> (Vec<String>, usize) {
        let mut lines: Vec<String> = self
            .references
            .iter()
            .take(MAX_REFERENCES)
            .map(|r| format!("{r:<REFERENCE_WIDTH$.REFERENCE_WIDTH$}"))
            .collect();
        lines.resize(MAX_REFERENCES, FILLER.to_owned());
        (lines, self.references.len().saturating_sub(MAX_REFERENCES))
    }
}

/// A count written [`COUNT_WIDTH`] wide (capped), so every digest has the same length.
pub fn fixed_count(n: usize) -> String {
    format!("{:>COUNT_WIDTH$}", n.min(COUNT_MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn holding(reference: &str, received: Date, told: Option<i64>, seq: i64) -> Holding {
        Holding {
            reference: reference.into(),
            dates: CaseDates {
                status: CaseStatus::Received,
                received_on: received,
                acknowledged_on: None,
                feedback_on: None,
            },
            reporter_seq: seq,
            told_seq: told,
        }
    }

    #[test]
    fn the_digest_is_due_from_its_hour() {
        assert!(!digest_due(datetime!(2026-11-28 06:59 UTC), 7, false));
        assert!(digest_due(datetime!(2026-11-28 07:00 UTC), 7, false));
        assert!(digest_due(datetime!(2026-11-28 23:59 UTC), 7, false));
        assert!(digest_due(datetime!(2026-11-28 00:10 UTC), 7, true));
        assert_eq!(
            day_period("day", date!(2026 - 11 - 28)),
            "day:2026-11-28".to_owned()
        );
        assert_eq!(
            hour_period(datetime!(2026-11-28 07:05 UTC)),
            "hour:2026-11-28T07"
        );
        assert!(
            hour_period(datetime!(2026-11-27 23:05 UTC)) < hour_period_floor(date!(2026 - 11 - 28))
        );
    }

    #[test]
    fn the_hourly_moment_is_keyed_random_and_stable() {
        let key = [7u8; 32];
        let h = datetime!(2026-11-28 14:00 UTC);
        let a = hourly_slot(&key, "officer-a", h);
        // Stable within the hour, on every instance.
        assert_eq!(
            a,
            hourly_slot(&key, "officer-a", h + time::Duration::minutes(59))
        );
        assert!(a < 3600);
        // Spread over the hour across officers and hours, and different under another key.
        let slots: Vec<u32> = (0..200)
            .map(|i| hourly_slot(&key, &format!("o{i}"), h))
            .collect();
        assert!(slots.iter().any(|&s| s < 900) && slots.iter().any(|&s| s > 2700));
        let other = (0..20).filter(|i| {
            hourly_slot(&key, &format!("o{i}"), h) != hourly_slot(&[8u8; 32], &format!("o{i}"), h)
        });
        assert!(other.count() > 15);
        // Not due before the moment, due after it, and at once on demand.
        let at = h + time::Duration::seconds(i64::from(a));
        assert!(hourly_due(&key, "officer-a", at, false));
        if a > 0 {
            assert!(!hourly_due(
                &key,
                "officer-a",
                at - time::Duration::seconds(1),
                false
            ));
            assert!(hourly_due(&key, "officer-a", h, true));
        }
    }

    #[test]
    fn digests_count_news_deadlines_and_overdue() {
        let today = date!(2026 - 11 - 28);
        let hs = vec![
            holding("SU-AAAA-AAAA", today, None, 1),
            holding("SU-BBBB-BBBB", date!(2026 - 11 - 20), Some(1), 3),
            holding("SU-CCCC-CCCC", date!(2026 - 11 - 23), Some(1), 1),
            holding("SU-DDDD-DDDD", date!(2026 - 11 - 27), Some(1), 1),
        ];
        let d = Digest::of(&hs, today);
        assert_eq!(d.new_cases, 1);
        assert_eq!(d.replies, 1);
        assert_eq!(d.ack_due_soon, 1);
        assert_eq!(d.overdue, 1);
        assert!(d.has_news());
        assert_eq!(
            d.references,
            vec!["SU-AAAA-AAAA", "SU-BBBB-BBBB", "SU-CCCC-CCCC"]
        );
        let esc = Digest::escalation(
            &hs.iter()
                .map(|h| (h.reference.clone(), h.dates))
                .collect::<Vec<_>>(),
            today,
        )
        .unwrap();
        assert_eq!((esc.overdue, esc.references.len()), (1, 1));
        assert!(Digest::escalation(&[], today).is_none());
    }

    #[test]
    fn the_shape_is_constant() {
        let empty = Digest::default();
        let full = Digest {
            references: (0..40).map(|i| format!("SU-AAAA-{i:04}")).collect(),
            ..Default::default()
        };
        let (a, more_a) = empty.reference_lines();
        let (b, more_b) = full.reference_lines();
        assert_eq!(a.len(), MAX_REFERENCES);
        assert_eq!(b.len(), MAX_REFERENCES);
        assert!(a.iter().chain(&b).all(|l| l.len() == REFERENCE_WIDTH));
        assert_eq!((more_a, more_b), (0, 40 - MAX_REFERENCES));
        assert_eq!(fixed_count(3).len(), fixed_count(123_456).len());
    }
}

//! When a case may be deleted (GDPR storage limitation; Directive art. 18 asks that records be
//! kept no longer than necessary), decided in this one place: a closed case after the period
//! set for its outcome, or else the organisation's period, counted from closing; never a case
//! under a legal hold; never a case that was not closed, which is flagged to officers instead
//! once it is older than the organisation's period (nothing is deleted silently).

use time::Date;

use super::case::{CaseStatus, Outcome};
use super::deadlines::add_months;

/// The longest period that can be set, in months (10 years).
pub const MAX_MONTHS: u8 = 120;

/// The periods an admin set. A period of 0 months means "never deleted automatically".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The organisation's period, for every outcome without its own.
    pub months: u8,
    /// Periods for particular outcomes (for example two months for "not admissible").
    pub by_outcome: Vec<(Outcome, u8)>,
}

impl Policy {
    /// The period that applies to a case concluded with `outcome` (`None`: closed without one).
    pub fn months_for(&self, outcome: Option<Outcome>) -> u8 {
        outcome
            .and_then(|o| self.by_outcome.iter().find(|(k, _)| *k == o))
            .map_or(self.months, |(_, m)| *m)
    }

    /// Whether any period is set at all (otherwise retention does nothing).
    pub fn is_on(&self) -> bool {
        self.months > 0 || self.by_outcome.iter().any(|(_, m)| *m > 0)
    }
}

/// What retention does with one case today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing yet (or never: no period applies).
    Keep,
    /// Delete it: closed on that day, kept for that many months.
    Delete { closed: Date, months: u8 },
    /// It would be deleted, but a legal hold stops it.
    Held,
    /// Not closed, and older than the organisation's period: flag it to officers.
    OpenTooLong,
}

/// The case as retention sees it.
#[derive(Debug, Clone, Copy)]
pub struct CaseState {
    pub status: CaseStatus,
    pub outcome: Option<Outcome>,
    pub received: Date,
    pub closed: Option<Date>,
    pub held: bool,
}

pub fn judge(policy: &Policy, case: &CaseState, today: Date) -> Verdict {
    match (case.status, case.closed) {
        (CaseStatus::Closed, Some(closed)) => {
            let months = policy.months_for(case.outcome);
            if months == 0 || add_months(closed, months) > today {
                Verdict::Keep
            } else if case.held {
                Verdict::Held
            } else {
                Verdict::Delete { closed, months }
            }
        }
        _ if policy.months > 0 && add_months(case.received, policy.months) <= today => {
            Verdict::OpenTooLong
        }
        _ => Verdict::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn closed(outcome: Option<Outcome>, held: bool) -> CaseState {
        CaseState {
            status: CaseStatus::Closed,
            outcome,
            received: date!(2025 - 01 - 01),
            closed: Some(date!(2025 - 03 - 01)),
            held,
        }
    }

    #[test]
    fn the_outcome_period_wins_over_the_organisation_one() {
        let p = Policy {
            months: 24,
            by_outcome: vec![(Outcome::NotAdmissible, 2)],
        };
        let today = date!(2025 - 05 - 01);
        assert_eq!(
            judge(&p, &closed(Some(Outcome::NotAdmissible), false), today),
            Verdict::Delete {
                closed: date!(2025 - 03 - 01),
                months: 2
            }
        );
        assert_eq!(
            judge(&p, &closed(Some(Outcome::Substantiated), false), today),
            Verdict::Keep
        );
        assert_eq!(judge(&p, &closed(None, false), today), Verdict::Keep);
        assert_eq!(
            judge(
                &p,
                &closed(Some(Outcome::NotAdmissible), false),
                date!(2025 - 04 - 30)
            ),
            Verdict::Keep,
            "one day early"
        );
    }

    #[test]
    fn holds_stop_deletion_and_open_cases_are_only_flagged() {
        let p = Policy {
            months: 1,
            by_outcome: vec![(Outcome::Substantiated, 0)],
        };
        let today = date!(2026 - 01 - 01);
        assert_eq!(judge(&p, &closed(None, true), today), Verdict::Held);
        assert_eq!(
            judge(&p, &closed(Some(Outcome::Substantiated), false), today),
            Verdict::Keep
        );
        let open = CaseState {
            status: CaseStatus::Investigating,
            closed: None,
            ..closed(None, false)
        };
        assert_eq!(judge(&p, &open, today), Verdict::OpenTooLong);
        assert_eq!(judge(&Policy::default(), &open, today), Verdict::Keep);
        assert!(!Policy::default().is_on());
        assert!(
            Policy {
                months: 0,
                by_outcome: vec![(Outcome::OutOfScope, 3)]
            }
            .is_on()
        );
    }
}

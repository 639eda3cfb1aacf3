//! The EU Directive 2019/1937 deadlines and where a case stands against them: the dates
//! (art. 9(1)(b) and (f)), the state of each deadline (met, open, due soon, overdue, or moot
//! for a closed case), the thresholds that make a deadline "due soon", and the case list's
//! counters (new, due soon, overdue). The case list, the case page, the mailbox, the audit
//! statistics and the CLI all read them from here.

use time::{Date, Duration, Month};

use super::case::CaseStatus;

/// Art. 9(1)(b): acknowledge within seven days of receipt.
pub const ACK_DAYS: i64 = 7;
/// Art. 9(1)(f): feedback within three months.
pub const FEEDBACK_MONTHS: u8 = 3;
/// An unmet acknowledgement is "due soon" this many days before its date.
pub const ACK_DUE_SOON_DAYS: i64 = 2;
/// Unmet feedback is "due soon" this many days before its date.
pub const FEEDBACK_DUE_SOON_DAYS: i64 = 14;

/// Acknowledge within seven days of receipt.
pub fn acknowledgement_due(received: Date) -> Date {
    received.saturating_add(Duration::days(ACK_DAYS))
}

/// Feedback within three months of the acknowledgement, or of the end of the seven-day
/// period when no acknowledgement was sent.
pub fn feedback_due(received: Date, acknowledged: Option<Date>) -> Date {
    add_months(
        acknowledged.unwrap_or_else(|| acknowledgement_due(received)),
        FEEDBACK_MONTHS,
    )
}

/// Calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb).
pub fn add_months(d: Date, months: u8) -> Date {
    let total = d.month() as u8 - 1 + months;
    let year = d.year() + i32::from(total / 12);
    let month = Month::try_from(total % 12 + 1).unwrap_or(Month::December);
    let day = d.day().min(time::util::days_in_month(month, year));
    Date::from_calendar_date(year, month, day).unwrap_or(d)
}

string_enum!(
    /// Where one deadline stands (also the CSS class and the catalog key `deadline.*`).
    DeadlineState {
        Met => "met",
        Open => "open",
        DueSoon => "due_soon",
        Overdue => "overdue",
        Closed => "closed",
    }
);

impl DeadlineState {
    pub fn key(self) -> &'static str {
        match self {
            DeadlineState::Met => "deadline.met",
            DeadlineState::Open => "deadline.open",
            DeadlineState::DueSoon => "deadline.due_soon",
            DeadlineState::Overdue => "deadline.overdue",
            DeadlineState::Closed => "deadline.closed",
        }
    }

    fn of(done: Option<Date>, closed: bool, due: Date, today: Date, soon: i64) -> Self {
        if done.is_some() {
            DeadlineState::Met
        } else if closed {
            DeadlineState::Closed
        } else if today > due {
            DeadlineState::Overdue
        } else if due - today <= Duration::days(soon) {
            DeadlineState::DueSoon
        } else {
            DeadlineState::Open
        }
    }
}

/// What the deadlines depend on: the case's status and three dates.
#[derive(Debug, Clone, Copy)]
pub struct CaseDates {
    pub status: CaseStatus,
    pub received_on: Date,
    pub acknowledged_on: Option<Date>,
    pub feedback_on: Option<Date>,
}

/// A case's deadlines on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub ack_due: Date,
    pub ack: DeadlineState,
    pub feedback_due: Date,
    pub feedback: DeadlineState,
}

impl Deadlines {
    pub fn on(c: &CaseDates, today: Date) -> Self {
        let closed = c.status == CaseStatus::Closed;
        let ack_due = acknowledgement_due(c.received_on);
        let feedback_due = feedback_due(c.received_on, c.acknowledged_on);
        Self {
            ack_due,
            ack: DeadlineState::of(c.acknowledged_on, closed, ack_due, today, ACK_DUE_SOON_DAYS),
            feedback_due,
            feedback: DeadlineState::of(
                c.feedback_on,
                closed,
                feedback_due,
                today,
                FEEDBACK_DUE_SOON_DAYS,
            ),
        }
    }

    pub fn overdue(&self) -> bool {
        self.ack == DeadlineState::Overdue || self.feedback == DeadlineState::Overdue
    }

    /// The next deadline still to meet, for sorting; `Date::MAX` when none is left.
    pub fn next(c: &CaseDates) -> Date {
        if c.status == CaseStatus::Closed {
            Date::MAX
        } else if c.acknowledged_on.is_none() {
            acknowledgement_due(c.received_on)
        } else if c.feedback_on.is_none() {
            feedback_due(c.received_on, c.acknowledged_on)
        } else {
            Date::MAX
        }
    }

    /// The feedback date an acknowledgement sent `today` would promise (the text of the
    /// acknowledgement template quotes it).
    pub fn feedback_promised(c: &CaseDates, today: Date) -> Date {
        feedback_due(c.received_on, c.acknowledged_on.or(Some(today)))
    }
}

string_enum!(
    /// A deadline the case list can show only the cases of which are "due soon" (within
    /// [`ACK_DUE_SOON_DAYS`] or [`FEEDBACK_DUE_SOON_DAYS`]).
    DueSoon {
        Ack => "ack",
        Feedback => "feedback",
    }
);

impl Deadlines {
    /// Whether that deadline is unmet and falls within its "due soon" threshold.
    pub fn due_soon(&self, which: DueSoon) -> bool {
        match which {
            DueSoon::Ack => self.ack == DeadlineState::DueSoon,
            DueSoon::Feedback => self.feedback == DeadlineState::DueSoon,
        }
    }
}

/// The case list's counters over the cases a person may see: new (nobody has acknowledged
/// them yet), acknowledgement due soon, feedback due soon, and overdue. A case can count in
/// several (a new case whose acknowledgement is due tomorrow is both new and due soon).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub new: usize,
    pub ack_soon: usize,
    pub feedback_soon: usize,
    pub overdue: usize,
}

impl Counts {
    /// A case is "new" while its status is `received`: the list's "new" link is the status
    /// filter `received`, so the counter and the filter always agree.
    pub const NEW_STATUS: CaseStatus = CaseStatus::Received;

    pub fn add(&mut self, status: CaseStatus, d: &Deadlines) {
        self.new += usize::from(status == Self::NEW_STATUS);
        self.ack_soon += usize::from(d.due_soon(DueSoon::Ack));
        self.feedback_soon += usize::from(d.due_soon(DueSoon::Feedback));
        self.overdue += usize::from(d.overdue());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn deadlines_follow_the_directive() {
        let r = date!(2026 - 11 - 23);
        assert_eq!(acknowledgement_due(r), date!(2026 - 11 - 30));
        assert_eq!(feedback_due(r, None), date!(2027 - 02 - 28));
        assert_eq!(
            feedback_due(r, Some(date!(2026 - 11 - 25))),
            date!(2027 - 02 - 25)
        );
        assert_eq!(add_months(date!(2027 - 01 - 31), 1), date!(2027 - 02 - 28));
        assert_eq!(add_months(date!(2028 - 11 - 30), 3), date!(2029 - 02 - 28));
    }

    fn case(status: CaseStatus, ack: Option<Date>) -> CaseDates {
        CaseDates {
            status,
            received_on: date!(2026 - 11 - 23),
            acknowledged_on: ack,
            feedback_on: None,
        }
    }

    #[test]
    fn states_cross_their_thresholds() {
        let c = case(CaseStatus::Received, None);
        let on = |d| Deadlines::on(&c, d).ack;
        assert_eq!(on(date!(2026 - 11 - 27)), DeadlineState::Open);
        assert_eq!(on(date!(2026 - 11 - 28)), DeadlineState::DueSoon);
        assert_eq!(on(date!(2026 - 11 - 30)), DeadlineState::DueSoon);
        assert_eq!(on(date!(2026 - 12 - 01)), DeadlineState::Overdue);
        let acked = case(CaseStatus::Acknowledged, Some(date!(2026 - 11 - 24)));
        let d = Deadlines::on(&acked, date!(2027 - 02 - 10));
        assert_eq!(d.ack, DeadlineState::Met);
        assert_eq!(d.feedback, DeadlineState::DueSoon);
        assert!(!d.overdue());
        assert_eq!(d.feedback_due, date!(2027 - 02 - 24));
        let due_day = Deadlines::on(&acked, date!(2027 - 02 - 24));
        assert_eq!(due_day.feedback, DeadlineState::DueSoon);
        assert!(Deadlines::on(&acked, date!(2027 - 02 - 25)).overdue());
        let closed = case(CaseStatus::Closed, None);
        assert_eq!(
            Deadlines::on(&closed, date!(2027 - 06 - 01)).ack,
            DeadlineState::Closed
        );
        assert_eq!(Deadlines::next(&closed), Date::MAX);
        assert_eq!(Deadlines::next(&c), date!(2026 - 11 - 30));
    }

    #[test]
    fn counters_follow_the_thresholds() {
        let today = date!(2026 - 11 - 28);
        let mut n = Counts::default();
        // Received today: new, acknowledgement open.
        let fresh = case(CaseStatus::Received, None);
        let fresh = CaseDates {
            received_on: today,
            ..fresh
        };
        n.add(fresh.status, &Deadlines::on(&fresh, today));
        // Received 5 days ago: new, acknowledgement due in 2 days.
        let soon = CaseDates {
            received_on: today - Duration::days(5),
            ..fresh
        };
        n.add(soon.status, &Deadlines::on(&soon, today));
        // Acknowledged, feedback due in 10 days.
        let fb = CaseDates {
            status: CaseStatus::Investigating,
            received_on: date!(2026 - 09 - 01),
            acknowledged_on: Some(date!(2026 - 09 - 07)),
            feedback_on: None,
        };
        n.add(fb.status, &Deadlines::on(&fb, today));
        // Received 8 days ago, never acknowledged: new and overdue.
        let late = CaseDates {
            received_on: today - Duration::days(8),
            ..fresh
        };
        n.add(late.status, &Deadlines::on(&late, today));
        assert_eq!(
            n,
            Counts {
                new: 3,
                ack_soon: 1,
                feedback_soon: 1,
                overdue: 1
            }
        );
        assert_eq!("ack".parse::<DueSoon>(), Ok(DueSoon::Ack));
    }
}

//! Meetings and minutes (Directive art. 9(2) and 18): the kind of meeting a reporter may ask
//! for, when the task it makes is due, and the reporter's answer to minutes. Keeps the rule
//! that reporter actions carry days only: a request is dated by the day it was made.

use time::{Date, Duration};

string_enum!(
    /// How the reporter asked to meet. Stored in clear as case metadata: it tells officers
    /// what to arrange, and says nothing of what the reporter wrote (an encrypted item).
    MeetingKind { InPerson => "in_person", Phone => "phone" }
);

string_enum!(
    /// The reporter's answer to minutes: confirmed as written, or corrected by a reply.
    MinutesAnswer { Confirmed => "confirmed", Corrected => "corrected" }
);

/// The default number of days after the request within which a meeting is due (a
/// "reasonable time", art. 9(2)); `SPEAKUP_MEETING_DUE_DAYS` changes it.
pub const DEFAULT_DUE_DAYS: u32 = 14;
/// The bounds the setting accepts.
pub const MIN_DUE_DAYS: u32 = 1;
pub const MAX_DUE_DAYS: u32 = 90;

/// Where a meeting task stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Open,
    Overdue,
    Done,
}

/// The day a meeting asked for on `requested` is due.
pub fn due(requested: Date, days: u32) -> Date {
    requested
        .checked_add(Duration::days(i64::from(days)))
        .unwrap_or(Date::MAX)
}

/// The task's state: done once an officer marked it so; otherwise overdue after its due day.
pub fn state(requested: Date, days: u32, done: bool, today: Date) -> TaskState {
    if done {
        TaskState::Done
    } else if today > due(requested, days) {
        TaskState::Overdue
    } else {
        TaskState::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_meeting_is_due_days_after_the_request() {
        assert_eq!(due(date!(2026 - 11 - 28), 14), date!(2026 - 12 - 12));
        assert_eq!(due(date!(2026 - 12 - 31), 1), date!(2027 - 01 - 01));
    }

    #[test]
    fn overdue_only_after_the_due_day_and_never_once_done() {
        let asked = date!(2026 - 11 - 01);
        assert_eq!(
            state(asked, 14, false, date!(2026 - 11 - 15)),
            TaskState::Open
        );
        assert_eq!(
            state(asked, 14, false, date!(2026 - 11 - 16)),
            TaskState::Overdue
        );
        assert_eq!(
            state(asked, 14, true, date!(2027 - 01 - 01)),
            TaskState::Done
        );
    }

    #[test]
    fn kinds_and_answers_round_trip() {
        for k in MeetingKind::ALL {
            assert_eq!(k.as_str().parse::<MeetingKind>().unwrap(), *k);
        }
        assert!("video".parse::<MeetingKind>().is_err());
        assert_eq!(
            "corrected".parse::<MinutesAnswer>(),
            Ok(MinutesAnswer::Corrected)
        );
    }
}

//! Case workflow vocabulary and the EU Directive 2019/1937 deadlines. Only metadata the
//! workflow needs lives here; everything a reporter wrote is an encrypted item elsewhere.

use std::fmt;
use std::str::FromStr;

use time::{Date, Duration, Month};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($s => Ok($name::$variant),)+ _ => Err(UnknownValue) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown value")]
pub struct UnknownValue;

string_enum!(
    /// Anonymous: no identity item exists. Confidential: an encrypted identity item exists,
    /// readable only by those holding the case key.
    ReportMode { Anonymous => "anonymous", Confidential => "confidential" }
);

string_enum!(
    /// ISO 37002 stages.
    CaseStatus {
        Received => "received",
        Acknowledged => "acknowledged",
        Investigating => "investigating",
        Concluded => "concluded",
        Closed => "closed",
    }
);

string_enum!(
    /// How a concluded case ended (ISO 37002 follow-up).
    Outcome {
        Substantiated => "substantiated",
        PartlySubstantiated => "partly_substantiated",
        Unsubstantiated => "unsubstantiated",
        NotAdmissible => "not_admissible",
        OutOfScope => "out_of_scope",
    }
);

impl CaseStatus {
    /// Where a case may go from here through the status form. `acknowledged` is reached
    /// only by sending the acknowledgement message; concluded and closed cases can be
    /// reopened for investigation when new facts arrive.
    pub fn next(self) -> &'static [CaseStatus] {
        use CaseStatus::*;
        match self {
            Received => &[Investigating, Concluded],
            Acknowledged => &[Investigating, Concluded],
            Investigating => &[Concluded],
            Concluded => &[Closed, Investigating],
            Closed => &[Investigating],
        }
    }
}

string_enum!(
    ItemKind {
        Report => "report",
        Identity => "identity",
        Message => "message",
        Attachment => "attachment",
        Note => "note",
    }
);

/// Who wrote an item. Reporter items never carry more than this word and a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    Reporter,
    Officer(String),
}

impl Author {
    pub fn to_db(&self) -> String {
        match self {
            Author::Reporter => "reporter".to_owned(),
            Author::Officer(id) => format!("officer:{id}"),
        }
    }

    pub fn from_db(s: &str) -> Self {
        match s.strip_prefix("officer:") {
            Some(id) => Author::Officer(id.to_owned()),
            None => Author::Reporter,
        }
    }
}

/// Directive art. 9(1)(b): acknowledge within seven days of receipt.
pub fn acknowledgement_due(received: Date) -> Date {
    received.saturating_add(Duration::days(7))
}

/// Directive art. 9(1)(f): feedback within three months of the acknowledgement, or of the
/// end of the seven-day period when no acknowledgement was sent.
pub fn feedback_due(received: Date, acknowledged: Option<Date>) -> Date {
    add_months(
        acknowledged.unwrap_or_else(|| acknowledgement_due(received)),
        3,
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

    #[test]
    fn enums_round_trip() {
        for s in CaseStatus::ALL {
            assert_eq!(s.as_str().parse::<CaseStatus>().unwrap(), *s);
        }
        assert!("nope".parse::<ItemKind>().is_err());
        assert_eq!(
            Author::from_db(&Author::Officer("x".into()).to_db()),
            Author::Officer("x".into())
        );
    }
}

//! The yearly figures (issue 11), for auditors on the statistics page and in its CSV file, and
//! for operators with `speakup stats`: one place builds them, from metadata only (live cases
//! and what deleted ones left), with the small-cell rule of `domain::stats` applied before any
//! figure leaves it. Downloads and command-line exports are audited; viewing the page is not,
//! like the audit page itself.

use time::{Date, Duration};

use super::audit::{action, entry};
use super::{App, Error, Result};
use crate::domain::audit::CLI_ACTOR;
use crate::domain::entity::Scope;
use crate::domain::permission::Permission;
use crate::domain::stats::{CaseFacts, Figures, YearMonth, months};
use crate::store::OfficerRecord;

/// The months a request covers: `from` and `to` as `YYYY-MM` or `YYYY-MM-DD` (the month of
/// the day); an empty `from` is January of this year, an empty `to` this month. Refused when
/// either does not parse, `to` is before `from`, or the range exceeds ten years.
pub fn range(from: &str, to: &str, today: Date) -> Result<Vec<YearMonth>> {
    let this_month = YearMonth::of(today);
    let pick = |s: &str, empty: YearMonth| match s.trim() {
        "" => Some(empty),
        s => YearMonth::parse(s),
    };
    let from = pick(
        from,
        YearMonth {
            month: 1,
            ..this_month
        },
    )
    .ok_or(Error::Invalid)?;
    let to = pick(to, this_month).ok_or(Error::Invalid)?;
    months(from, to).ok_or(Error::Invalid)
}

/// The last day of a month.
fn last_day(m: YearMonth) -> Option<Date> {
    m.next().first_day().map(|d| d - Duration::days(1))
}

/// The figures of `range` over the cases of `scope`, for whoever the caller already checked.
async fn build(app: &App, range: &[YearMonth], scope: &Scope) -> Result<Figures> {
    let (Some(first), Some(last)) = (range.first().copied(), range.last().copied()) else {
        return Err(Error::Invalid);
    };
    let (Some(from), Some(to)) = (first.first_day(), last_day(last)) else {
        return Err(Error::Invalid);
    };
    let today = app.clock.today();
    let mut facts: Vec<CaseFacts> = app
        .store
        .stats_cases(from, to)
        .await?
        .into_iter()
        .filter(|c| scope.matches(c.entity.as_ref()))
        .map(|c| {
            c.days
                .facts(&c.category, c.mode, c.status, c.outcome, today)
                .via(c.channel)
        })
        .collect();
    let left = app.store.stats_left(first, last).await?.into_iter();
    facts.extend(
        left.filter(|(_, e)| scope.matches(e.as_ref()))
            .map(|(f, _)| f),
    );
    let categories: Vec<String> = app
        .site
        .get()
        .categories
        .iter()
        .map(|c| c.code.clone())
        .collect();
    Ok(Figures::build(range, &categories, &facts))
}

/// The statistics page: auditors only.
pub async fn figures(
    app: &App,
    who: &OfficerRecord,
    range: &[YearMonth],
    scope: &Scope,
) -> Result<Figures> {
    super::accounts::require(who, Permission::ReadAudit)?;
    build(app, range, scope).await
}

/// How the figures leave the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

/// Who takes a copy of the figures: an auditor (the CSV download) or the machine's operator.
pub enum Taker<'a> {
    Auditor(&'a OfficerRecord),
    Cli,
}

/// The figures as a file, with an audit row saying who took which range (before anything
/// is handed out: a copy that cannot be recorded is not made).
pub async fn export(
    app: &App,
    taker: Taker<'_>,
    range: &[YearMonth],
    scope: &Scope,
    format: Format,
) -> Result<String> {
    let actor = match taker {
        Taker::Auditor(who) => {
            super::accounts::require(who, Permission::ReadAudit)?;
            who.email.clone()
        }
        Taker::Cli => CLI_ACTOR.to_owned(),
    };
    let f = build(app, range, scope).await?;
    let detail = match scope {
        Scope::All => format!("{}..{} {}", f.from, f.to, format.word()),
        s => format!("{}..{} {} entity {}", f.from, f.to, format.word(), s.word()),
    };
    let row = entry(app.clock.now(), &actor, action::STATS_EXPORTED, "", &detail);
    super::audit::record(app.store(), &row).await?;
    match format {
        Format::Csv => Ok(f.csv()),
        Format::Json => serde_json::to_string_pretty(&f).map_err(Error::internal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn ranges_default_to_this_year_and_refuse_nonsense() {
        let today = date!(2026 - 11 - 28);
        let r = range("", "", today).expect("default");
        assert_eq!((r[0].to_string(), r.len()), ("2026-01".to_owned(), 11));
        assert_eq!(
            range("2025-01-15", "2025-12-31", today)
                .map(|r| r.len())
                .ok(),
            Some(12)
        );
        assert!(range("2026-05", "2026-04", today).is_err());
        assert!(range("soon", "", today).is_err());
        assert!(range("2001-01", "2026-01", today).is_err());
        assert_eq!(
            last_day(YearMonth {
                year: 2024,
                month: 2
            }),
            Some(date!(2024 - 02 - 29))
        );
    }
}

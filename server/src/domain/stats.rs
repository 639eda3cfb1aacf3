//! Figures for the annual report (Directive art. 27 asks member states for them; organisations
//! publish their own): what one case contributes (metadata already stored in clear, never
//! content), the tables and durations built from it over whole months, and the small-cell rule
//! that keeps a small team from being re-identified: any count under five, and any share,
//! median or maximum drawn from fewer than five cases, is withheld ("<5"), and where a single
//! withheld cell could be recomputed from its table's total a second one is withheld with it.

use serde::Serialize;
use time::{Date, Month};

use super::case::{CaseStatus, Channel, Outcome, ReportMode};
use super::deadlines::{acknowledgement_due, feedback_due};

/// The smallest count shown as a number.
pub const MIN_CELL: u64 = 5;

/// A calendar month: the finest period the figures use, and all a deleted case leaves of its
/// date of receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: i32,
    pub month: u8,
}

impl YearMonth {
    pub fn of(d: Date) -> Self {
        YearMonth {
            year: d.year(),
            month: d.month() as u8,
        }
    }

    /// `2026-03` or a whole date `2026-03-15` (its month); years 2000 to 9999.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let ym = match s.len() {
            7 => s,
            10 if s.as_bytes()[7] == b'-' => {
                let d = Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"));
                d.ok()?;
                &s[..7]
            }
            _ => return None,
        };
        let (y, m) = ym.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let (year, month) = (y.parse::<i32>().ok()?, m.parse::<u8>().ok()?);
        ((2000..=9999).contains(&year) && (1..=12).contains(&month))
            .then_some(YearMonth { year, month })
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            YearMonth {
                year: self.year + 1,
                month: 1,
            }
        } else {
            YearMonth {
                month: self.month + 1,
                ..self
            }
        }
    }

    /// The first day of the month.
    pub fn first_day(self) -> Option<Date> {
        Date::from_calendar_date(self.year, Month::try_from(self.month).ok()?, 1).ok()
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The longest range one request may cover, in months (ten years: statistics, not a scan).
pub const MAX_RANGE_MONTHS: usize = 120;

/// Whole months from `from` to `to`, both included; `None` when `to` is before `from` or the
/// range is longer than [`MAX_RANGE_MONTHS`].
pub fn months(from: YearMonth, to: YearMonth) -> Option<Vec<YearMonth>> {
    let mut out = Vec::new();
    let mut m = from;
    while m <= to {
        out.push(m);
        if out.len() > MAX_RANGE_MONTHS {
            return None;
        }
        m = m.next();
    }
    (!out.is_empty()).then_some(out)
}

/// What one case contributes to the figures. A live case gives it from its row; a case deleted
/// by retention left exactly this behind (with its month of receipt, never the day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    pub month: YearMonth,
    pub category: String,
    pub mode: ReportMode,
    /// The web, or an officer on the reporter's behalf.
    pub channel: Channel,
    pub status: CaseStatus,
    pub outcome: Option<Outcome>,
    pub days_to_ack: Option<i64>,
    pub days_to_feedback: Option<i64>,
    pub days_to_close: Option<i64>,
    /// Acknowledged within the seven days; `None` while the period still runs.
    pub ack_in_time: Option<bool>,
    /// Feedback within the three months; `None` while the period still runs.
    pub feedback_in_time: Option<bool>,
}

/// The dates of a case the figures are drawn from.
#[derive(Debug, Clone, Copy)]
pub struct CaseDays {
    pub received: Date,
    pub acknowledged: Option<Date>,
    pub feedback: Option<Date>,
    pub closed: Option<Date>,
}

/// Met by `done` on or before `due`; missed once `today` is past `due` without it; otherwise
/// still open (counted in neither).
fn in_time(done: Option<Date>, due: Date, today: Date) -> Option<bool> {
    match done {
        Some(d) => Some(d <= due),
        None if today > due => Some(false),
        None => None,
    }
}

impl CaseDays {
    pub fn facts(
        &self,
        category: &str,
        mode: ReportMode,
        status: CaseStatus,
        outcome: Option<Outcome>,
        today: Date,
    ) -> CaseFacts {
        let days = |d: Option<Date>| d.map(|d| (d - self.received).whole_days());
        CaseFacts {
            month: YearMonth::of(self.received),
            category: category.to_owned(),
            mode,
            channel: Channel::Web,
            status,
            outcome,
            days_to_ack: days(self.acknowledged),
            days_to_feedback: days(self.feedback),
            days_to_close: days(self.closed),
            ack_in_time: in_time(self.acknowledged, acknowledgement_due(self.received), today),
            feedback_in_time: in_time(
                self.feedback,
                feedback_due(self.received, self.acknowledged),
                today,
            ),
        }
    }
}

impl CaseFacts {
    /// The same facts for a case that came through `channel`.
    pub fn via(self, channel: Channel) -> Self {
        Self { channel, ..self }
    }
}

/// One figure as published: a number, or withheld.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Shown(f64),
    Withheld,
}

impl Cell {
    fn count(n: u64) -> Cell {
        if n < MIN_CELL {
            Cell::Withheld
        } else {
            Cell::Shown(n as f64)
        }
    }

    /// The number when shown (for a chart's bar).
    pub fn value(self) -> Option<f64> {
        match self {
            Cell::Shown(v) => Some(v),
            Cell::Withheld => None,
        }
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Withheld => f.write_str("<5"),
            Cell::Shown(v) if v.fract() == 0.0 => write!(f, "{v:.0}"),
            Cell::Shown(v) => write!(f, "{v:.1}"),
        }
    }
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Withheld => s.serialize_str("<5"),
            Cell::Shown(v) if v.fract() == 0.0 => s.serialize_u64(*v as u64),
            Cell::Shown(v) => s.serialize_f64((v * 10.0).round() / 10.0),
        }
    }
}

/// Counts by one dimension (a month, a category, …) with their total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub rows: Vec<(String, Cell)>,
    pub total: Cell,
}

impl Table {
    /// Applies the small-cell rule to raw counts, keeping their order.
    pub fn of(counts: Vec<(String, u64)>) -> Table {
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        let mut rows: Vec<(String, Cell)> = counts
            .iter()
            .map(|(k, n)| (k.clone(), Cell::count(*n)))
            .collect();
        let mut total = Cell::count(total);
        // One withheld cell beside a shown total is its difference from the others: withhold
        // the smallest shown cell too (or the total, when no other is shown).
        let withheld = rows.iter().filter(|(_, c)| *c == Cell::Withheld).count();
        if withheld == 1 && total != Cell::Withheld {
            let smallest = counts
                .iter()
                .enumerate()
                .filter(|(i, _)| rows[*i].1 != Cell::Withheld)
                .min_by_key(|(_, (_, n))| *n)
                .map(|(i, _)| i);
            match smallest {
                Some(i) => rows[i].1 = Cell::Withheld,
                None => total = Cell::Withheld,
            }
        }
        Table { rows, total }
    }
}

/// The share of cases that met a deadline, in percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    /// Cases whose deadline has passed or was met.
    pub cases: Cell,
    pub percent: Cell,
}

impl Share {
    /// Withheld when fewer than five cases count, or when the cases that met it, or those
    /// that missed it, number one to four (their count would follow from the percentage).
    fn of(flags: impl Iterator<Item = Option<bool>>) -> Share {
        let (mut met, mut all) = (0u64, 0u64);
        for f in flags.flatten() {
            all += 1;
            met += u64::from(f);
        }
        let few = |n: u64| (1..MIN_CELL).contains(&n);
        let percent = if all < MIN_CELL || few(met) || few(all - met) {
            Cell::Withheld
        } else {
            Cell::Shown((met as f64 * 1000.0 / all as f64).round() / 10.0)
        };
        Share {
            cases: Cell::count(all),
            percent,
        }
    }
}

/// Days from receipt to an event, over the cases where it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Durations {
    pub cases: Cell,
    pub median: Cell,
    pub max: Cell,
}

impl Durations {
    fn of(days: impl Iterator<Item = Option<i64>>) -> Durations {
        let mut d: Vec<i64> = days.flatten().collect();
        d.sort_unstable();
        let n = d.len();
        if (n as u64) < MIN_CELL {
            return Durations {
                cases: Cell::Withheld,
                median: Cell::Withheld,
                max: Cell::Withheld,
            };
        }
        let median = if n % 2 == 1 {
            d[n / 2] as f64
        } else {
            (d[n / 2 - 1] + d[n / 2]) as f64 / 2.0
        };
        Durations {
            cases: Cell::Shown(n as f64),
            median: Cell::Shown(median),
            max: Cell::Shown(d[n - 1] as f64),
        }
    }
}

/// The published figures of a range of months.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub from: String,
    pub to: String,
    pub by_month: Table,
    pub by_category: Table,
    pub by_mode: Table,
    pub by_channel: Table,
    pub by_status: Table,
    pub by_outcome: Table,
    pub acknowledged_within_7_days: Share,
    pub feedback_within_3_months: Share,
    pub days_to_acknowledge: Durations,
    pub days_to_feedback: Durations,
    pub days_to_close: Durations,
}

/// The key of a case without an outcome in the outcome table.
pub const NO_OUTCOME: &str = "none";

fn counted<K: Clone + PartialEq>(keys: &[K], of: impl Fn(&K) -> u64) -> Vec<(K, u64)> {
    keys.iter().map(|k| (k.clone(), of(k))).collect()
}

impl Figures {
    /// The figures of the cases received in `range` (whole months, in order). `categories`
    /// are the configured ones, listed even when empty; a category no longer configured but
    /// present in the cases is listed after them.
    pub fn build(range: &[YearMonth], categories: &[String], all: &[CaseFacts]) -> Figures {
        let (Some(first), Some(last)) = (range.first(), range.last()) else {
            return Figures::build(
                &[YearMonth {
                    year: 2000,
                    month: 1,
                }],
                categories,
                &[],
            );
        };
        let cases: Vec<&CaseFacts> = all
            .iter()
            .filter(|c| c.month >= *first && c.month <= *last)
            .collect();
        let strings = |v: Vec<(String, u64)>| Table::of(v);
        let mut cats: Vec<String> = categories.to_vec();
        for c in &cases {
            if !cats.contains(&c.category) {
                cats.push(c.category.clone());
            }
        }
        let count = |f: &dyn Fn(&CaseFacts) -> bool| cases.iter().filter(|c| f(c)).count() as u64;
        let words = |v: Vec<(&'static str, u64)>| {
            Table::of(v.into_iter().map(|(k, n)| (k.to_owned(), n)).collect())
        };
        let mut outcomes: Vec<(&'static str, u64)> =
            counted(Outcome::ALL, |o| count(&|c| c.outcome == Some(*o)))
                .into_iter()
                .map(|(o, n)| (o.as_str(), n))
                .collect();
        outcomes.push((NO_OUTCOME, count(&|c| c.outcome.is_none())));
        Figures {
            from: first.to_string(),
            to: last.to_string(),
            by_month: strings(
                range
                    .iter()
                    .map(|m| (m.to_string(), count(&|c| c.month == *m)))
                    .collect(),
            ),
            by_category: strings(
                cats.iter()
                    .map(|k| (k.clone(), count(&|c| c.category == *k)))
                    .collect(),
            ),
            by_mode: words(
                counted(ReportMode::ALL, |m| count(&|c| c.mode == *m))
                    .into_iter()
                    .map(|(m, n)| (m.as_str(), n))
                    .collect(),
            ),
            by_channel: words(
                counted(Channel::ALL, |ch| count(&|c| c.channel == *ch))
                    .into_iter()
                    .map(|(ch, n)| (ch.as_str(), n))
                    .collect(),
            ),
            by_status: words(
                counted(CaseStatus::ALL, |s| count(&|c| c.status == *s))
                    .into_iter()
                    .map(|(s, n)| (s.as_str(), n))
                    .collect(),
            ),
            by_outcome: words(outcomes),
            acknowledged_within_7_days: Share::of(cases.iter().map(|c| c.ack_in_time)),
            feedback_within_3_months: Share::of(cases.iter().map(|c| c.feedback_in_time)),
            days_to_acknowledge: Durations::of(cases.iter().map(|c| c.days_to_ack)),
            days_to_feedback: Durations::of(cases.iter().map(|c| c.days_to_feedback)),
            days_to_close: Durations::of(cases.iter().map(|c| c.days_to_close)),
        }
    }

    /// The tables by name, in the order the page, the CSV file and the JSON show them.
    pub fn tables(&self) -> [(&'static str, &Table); 6] {
        [
            ("month", &self.by_month),
            ("category", &self.by_category),
            ("mode", &self.by_mode),
            ("channel", &self.by_channel),
            ("status", &self.by_status),
            ("outcome", &self.by_outcome),
        ]
    }

    pub fn shares(&self) -> [(&'static str, &Share); 2] {
        [
            (
                "acknowledged_within_7_days",
                &self.acknowledged_within_7_days,
            ),
            ("feedback_within_3_months", &self.feedback_within_3_months),
        ]
    }

    pub fn durations(&self) -> [(&'static str, &Durations); 3] {
        [
            ("days_to_acknowledge", &self.days_to_acknowledge),
            ("days_to_feedback", &self.days_to_feedback),
            ("days_to_close", &self.days_to_close),
        ]
    }

    /// `section,key,value` lines with a header, every withheld cell as `<5`. Keys are the
    /// stored words (category slugs, statuses, outcomes), which contain no comma or quote.
    pub fn csv(&self) -> String {
        let mut out = format!(
            "section,key,value\nrange,from,{}\nrange,to,{}\n",
            self.from, self.to
        );
        let field = |s: &str| {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        for (name, t) in self.tables() {
            for (k, c) in &t.rows {
                out.push_str(&format!("{name},{},{c}\n", field(k)));
            }
            out.push_str(&format!("{name},total,{}\n", t.total));
        }
        for (name, s) in self.shares() {
            out.push_str(&format!(
                "{name},cases,{}\n{name},percent,{}\n",
                s.cases, s.percent
            ));
        }
        for (name, d) in self.durations() {
            out.push_str(&format!(
                "{name},cases,{}\n{name},median,{}\n{name},max,{}\n",
                d.cases, d.median, d.max
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn ym(s: &str) -> YearMonth {
        YearMonth::parse(s).expect("month")
    }

    fn case(month: &str, category: &str, ack: Option<i64>) -> CaseFacts {
        let received = ym(month).first_day().expect("day");
        CaseDays {
            received,
            acknowledged: ack.map(|d| received + time::Duration::days(d)),
            feedback: None,
            closed: None,
        }
        .facts(
            category,
            ReportMode::Anonymous,
            CaseStatus::Received,
            None,
            date!(2030 - 01 - 01),
        )
    }

    #[test]
    fn months_parse_and_count() {
        assert_eq!(ym("2026-03").to_string(), "2026-03");
        assert_eq!(ym("2026-03-31").to_string(), "2026-03");
        for bad in [
            "2026-3",
            "2026-13",
            "1999-12",
            "2026-02-30",
            "26-03",
            "2026/03",
            "",
            "2026-03-1x",
        ] {
            assert_eq!(YearMonth::parse(bad), None, "{bad}");
        }
        assert_eq!(
            months(ym("2025-11"), ym("2026-02")).map(|v| v.len()),
            Some(4)
        );
        assert_eq!(months(ym("2026-02"), ym("2026-01")), None);
        assert_eq!(months(ym("2000-01"), ym("2026-01")), None);
    }

    #[test]
    fn counts_under_five_are_withheld_with_a_second_cell() {
        let t = Table::of(vec![("a".into(), 7), ("b".into(), 3), ("c".into(), 6)]);
        // b alone withheld would be 16 - 7 - 6: the smallest shown cell goes too.
        assert_eq!(t.total, Cell::Shown(16.0));
        assert_eq!(t.rows[1].1, Cell::Withheld);
        assert_eq!(t.rows[2].1, Cell::Withheld);
        assert_eq!(t.rows[0].1, Cell::Shown(7.0));
        let t = Table::of(vec![("a".into(), 2), ("b".into(), 2), ("c".into(), 9)]);
        assert_eq!(t.rows[2].1, Cell::Shown(9.0));
        let t = Table::of(vec![("a".into(), 1), ("b".into(), 6)]);
        assert_eq!(t.rows[1].1, Cell::Withheld);
        let t = Table::of(vec![("a".into(), 4)]);
        assert_eq!((t.rows[0].1, t.total), (Cell::Withheld, Cell::Withheld));
        let t = Table::of(vec![("a".into(), 0), ("b".into(), 5)]);
        // Even an empty cell: whether a second one is withheld must not depend on the value.
        assert_eq!((t.rows[0].1, t.rows[1].1), (Cell::Withheld, Cell::Withheld));
        assert_eq!(t.total, Cell::Shown(5.0));
    }

    #[test]
    fn shares_and_durations_need_five_on_each_side() {
        let mut all: Vec<CaseFacts> = (0..6).map(|_| case("2026-01", "x", Some(2))).collect();
        let f = Figures::build(&[ym("2026-01")], &[], &all);
        assert_eq!(f.acknowledged_within_7_days.percent, Cell::Shown(100.0));
        assert_eq!(f.days_to_acknowledge.median, Cell::Shown(2.0));
        all.push(case("2026-01", "x", Some(9)));
        let f = Figures::build(&[ym("2026-01")], &[], &all);
        // One late case among seven: 85.7 % would say one was late.
        assert_eq!(f.acknowledged_within_7_days.percent, Cell::Withheld);
        assert_eq!(f.days_to_acknowledge.max, Cell::Shown(9.0));
        assert_eq!(f.days_to_acknowledge.median, Cell::Shown(2.0));
        let f = Figures::build(&[ym("2026-01")], &[], &all[..4]);
        assert_eq!(f.days_to_acknowledge.median, Cell::Withheld);
        assert_eq!(f.days_to_acknowledge.max, Cell::Withheld);
    }

    #[test]
    fn range_bounds_and_every_output_shows_withheld_cells() {
        let all = vec![
            case("2025-12", "fraud", None),
            case("2026-01", "fraud", None),
            case("2026-02", "safety", None),
        ];
        let f = Figures::build(
            &months(ym("2026-01"), ym("2026-02")).expect("range"),
            &["fraud".into()],
            &all,
        );
        assert_eq!(f.by_month.rows.len(), 2);
        let keys: Vec<&str> = f.by_category.rows.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["fraud", "safety"]);
        let csv = f.csv();
        assert!(csv.starts_with("section,key,value\n"));
        assert!(csv.contains("category,fraud,<5\n"));
        assert!(
            !csv.lines()
                .skip(3)
                .any(|l| l.ends_with(",1") || l.ends_with(",2"))
        );
        let json = serde_json::to_string(&f).expect("json");
        assert!(json.contains("\"<5\""));
        assert!(!json.contains(":1,") && !json.contains(":2,"));
    }

    #[test]
    fn deadlines_count_once_passed_or_met() {
        let d = CaseDays {
            received: date!(2026 - 01 - 01),
            acknowledged: None,
            feedback: None,
            closed: None,
        };
        let open = d.facts(
            "x",
            ReportMode::Anonymous,
            CaseStatus::Received,
            None,
            date!(2026 - 01 - 05),
        );
        assert_eq!(open.ack_in_time, None);
        let late = d.facts(
            "x",
            ReportMode::Anonymous,
            CaseStatus::Received,
            None,
            date!(2026 - 01 - 09),
        );
        assert_eq!(late.ack_in_time, Some(false));
    }

    #[test]
    fn cases_are_counted_by_channel() {
        let mut all: Vec<CaseFacts> = (0..6).map(|_| case("2026-03", "fraud", None)).collect();
        all.extend((0..5).map(|_| case("2026-04", "fraud", None).via(Channel::OfficerEntered)));
        let f = Figures::build(&[ym("2026-03"), ym("2026-04")], &[], &all);
        assert_eq!(
            f.by_channel.rows,
            vec![
                ("web".to_owned(), Cell::Shown(6.0)),
                ("officer_entered".to_owned(), Cell::Shown(5.0)),
            ]
        );
        assert!(f.tables().iter().any(|(name, _)| *name == "channel"));
        // Two officer-entered cases among many: withheld, with the smallest other cell.
        let few: Vec<CaseFacts> = all.drain(..8).collect();
        let f = Figures::build(&[ym("2026-03"), ym("2026-04")], &[], &few);
        assert_eq!(f.by_channel.rows[1].1, Cell::Withheld);
        assert!(f.csv().contains("channel,officer_entered,<5"));
    }
}

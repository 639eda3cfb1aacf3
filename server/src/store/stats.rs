//! The rows the yearly figures are drawn from: each live case's metadata (no content, no
//! reference) and what a case deleted by retention left behind (`case_stats`, written in the
//! deletion's own transaction by [`super::Cases::delete_case`], so no deleted case is ever
//! missing from the figures or counted twice).

use sqlx::Row;
use time::Date;

use super::backends::{PostgresStore, SqliteStore, day_from_db, day_to_db, opt_day};
use super::{StoreResult, parsed};
use crate::domain::case::{CaseStatus, Channel, Outcome, ReportMode};
use crate::domain::entity::EntitySlug;
use crate::domain::holder::CaseId;
use crate::domain::stats::{CaseDays, CaseFacts, YearMonth};

/// A live case as the figures see it.
#[derive(Debug, Clone)]
pub struct StatsCase {
    pub category: String,
    pub mode: ReportMode,
    pub channel: Channel,
    pub status: CaseStatus,
    pub outcome: Option<Outcome>,
    pub days: CaseDays,
    /// The case's entity; `None` for the instance's own.
    pub entity: Option<EntitySlug>,
}

#[async_trait::async_trait]
pub trait Statistics: Send + Sync {
    /// Live cases received from `from` to `to` (days, both included).
    async fn stats_cases(&self, from: Date, to: Date) -> StoreResult<Vec<StatsCase>>;

    /// What deleted cases received from `from` to `to` (months, both included) left behind,
    /// each with its entity (`None`: the instance's own).
    async fn stats_left(
        &self,
        from: YearMonth,
        to: YearMonth,
    ) -> StoreResult<Vec<(CaseFacts, Option<EntitySlug>)>>;

    /// A case's outcome, once it was concluded.
    async fn case_outcome(&self, case_id: &CaseId) -> StoreResult<Option<Outcome>>;
}

fn entity_of(v: Option<String>) -> StoreResult<Option<EntitySlug>> {
    parsed("entity_slug", v.map(|s| EntitySlug::parse(&s)).transpose())
}

fn opt_parsed<T: std::str::FromStr>(column: &str, v: Option<String>) -> StoreResult<Option<T>> {
    parsed(column, v.map(|s| s.parse::<T>()).transpose())
}

macro_rules! stats_sql {
    ($store:ident, $row:ty, $tx:ty) => {
        impl $store {
            /// Inside a case's deletion: what it leaves for the figures.
            pub(super) async fn leave_stats_in(
                tx: &mut $tx,
                f: &CaseFacts,
                entity: Option<&str>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO case_stats (month, category, mode, status, outcome, days_to_ack, \
                     days_to_feedback, days_to_close, ack_in_time, feedback_in_time, channel, \
                     entity_slug) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(f.month.to_string())
                .bind(&f.category)
                .bind(f.mode.as_str())
                .bind(f.status.as_str())
                .bind(f.outcome.map(|o| o.as_str()))
                .bind(f.days_to_ack)
                .bind(f.days_to_feedback)
                .bind(f.days_to_close)
                .bind(f.ack_in_time)
                .bind(f.feedback_in_time)
                .bind(f.channel.as_str())
                .bind(entity)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            fn left_from_row(r: &$row) -> StoreResult<CaseFacts> {
                let month: String = r.try_get("month")?;
                Ok(CaseFacts {
                    month: parsed("case_stats.month", YearMonth::parse(&month).ok_or(()))?,
                    category: r.try_get("category")?,
                    mode: parsed("case_stats.mode", r.try_get::<String, _>("mode")?.parse())?,
                    channel: parsed("case_stats.channel", r.try_get::<String, _>("channel")?.parse())?,
                    status: parsed("case_stats.status", r.try_get::<String, _>("status")?.parse())?,
                    outcome: opt_parsed("case_stats.outcome", r.try_get("outcome")?)?,
                    days_to_ack: r.try_get("days_to_ack")?,
                    days_to_feedback: r.try_get("days_to_feedback")?,
                    days_to_close: r.try_get("days_to_close")?,
                    ack_in_time: r.try_get("ack_in_time")?,
                    feedback_in_time: r.try_get("feedback_in_time")?,
                })
            }
        }

        #[async_trait::async_trait]
        impl Statistics for $store {
            async fn stats_cases(&self, from: Date, to: Date) -> StoreResult<Vec<StatsCase>> {
                let rows = sqlx::query(
                    "SELECT category, mode, status, outcome, received_on, acknowledged_on, \
                     feedback_on, closed_on, channel, entity_slug FROM cases \
                     WHERE received_on >= $1 AND received_on <= $2 \
                     ORDER BY received_on, category",
                )
                .bind(day_to_db(from))
                .bind(day_to_db(to))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(StatsCase {
                            category: r.try_get("category")?,
                            mode: parsed("cases.mode", r.try_get::<String, _>("mode")?.parse())?,
                            channel: parsed("cases.channel", r.try_get::<String, _>("channel")?.parse())?,
                            status: parsed("cases.status", r.try_get::<String, _>("status")?.parse())?,
                            outcome: opt_parsed("cases.outcome", r.try_get("outcome")?)?,
                            days: CaseDays {
                                received: day_from_db(&r.try_get::<String, _>("received_on")?)?,
                                acknowledged: opt_day(r.try_get("acknowledged_on")?)?,
                                feedback: opt_day(r.try_get("feedback_on")?)?,
                                closed: opt_day(r.try_get("closed_on")?)?,
                            },
                            entity: entity_of(r.try_get("entity_slug")?)?,
                        })
                    })
                    .collect()
            }

            async fn stats_left(&self, from: YearMonth, to: YearMonth) -> StoreResult<Vec<(CaseFacts, Option<EntitySlug>)>> {
                // Months as `YYYY-MM` compare as text; sorted, never in storage order.
                let rows = sqlx::query(
                    "SELECT month, category, mode, status, outcome, days_to_ack, days_to_feedback, \
                     days_to_close, ack_in_time, feedback_in_time, channel, entity_slug \
                     FROM case_stats \
                     WHERE month >= $1 AND month <= $2 ORDER BY month, category",
                )
                .bind(from.to_string())
                .bind(to.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((Self::left_from_row(r)?, entity_of(r.try_get("entity_slug")?)?)))
                    .collect()
            }

            async fn case_outcome(&self, case_id: &CaseId) -> StoreResult<Option<Outcome>> {
                let v: Option<Option<String>> =
                    sqlx::query_scalar("SELECT outcome FROM cases WHERE id = $1")
                        .bind(case_id.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                opt_parsed("cases.outcome", v.flatten())
            }
        }
    };
}

stats_sql!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    super::backends::SqliteWrite
);
stats_sql!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);

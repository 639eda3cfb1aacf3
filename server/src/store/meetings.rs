//! Meeting requests and minutes (issue 11): a reporter's request for a meeting (filed with the
//! report or a reply, in the same transaction as its items), an officer marking it done with
//! its audit row, the officers' messages marked as minutes, and the reporter's answer to them
//! (a confirmation, or a correction filed with the reply that carries it), each reporter write
//! with its queued audit actions in its own transaction. Reporter rows hold days only; what
//! the reporter wrote is an encrypted item, never a column here.

use sqlx::Row;
use time::Date;

use super::backends::{PostgresStore, SqliteStore, day_from_db, day_to_db, opt_day};
use super::{AuditEntry, NewItem, ReporterAction, StoreError, StoreResult, parsed};
use crate::domain::holder::{CaseId, OfficerId};
use crate::domain::meeting::{MeetingKind, MinutesAnswer};

/// A meeting the reporter asked for, stored with the case or reply that asked.
#[derive(Debug, Clone)]
pub struct NewMeeting {
    pub id: String,
    pub kind: MeetingKind,
    pub requested_on: Date,
    /// The encrypted item holding what the reporter wrote about it (availability), if any.
    pub item_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MeetingRecord {
    pub id: String,
    pub kind: MeetingKind,
    pub requested_on: Date,
    pub item_id: Option<String>,
    /// When an officer marked it done (Unix seconds), and who.
    pub done_at: Option<i64>,
    pub done_by: Option<OfficerId>,
}

#[derive(Debug, Clone)]
pub struct MinutesRecord {
    /// The officer's message that holds the minutes.
    pub item_id: String,
    pub answer: Option<MinutesAnswer>,
    pub answered_on: Option<Date>,
    /// The reporter's reply that corrects them.
    pub correction_id: Option<String>,
}

/// What a reporter's reply carries besides its items.
#[derive(Debug, Clone, Default)]
pub struct ReplyLinks {
    pub meeting: Option<NewMeeting>,
    /// The minutes this reply corrects, and the reply's message item.
    pub corrects: Option<(String, String)>,
}

#[async_trait::async_trait]
pub trait Meetings: Send + Sync {
    async fn meetings(&self, case_id: &CaseId) -> StoreResult<Vec<MeetingRecord>>;

    /// Every request not yet done, as (case, day asked), for the case list.
    async fn open_meetings(&self) -> StoreResult<Vec<(CaseId, Date)>>;

    /// Marks a request of the case done, with its audit row; false (nothing written) when
    /// there is no such open request.
    async fn mark_meeting_done(
        &self,
        case_id: &CaseId,
        id: &str,
        at: i64,
        by: &OfficerId,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    async fn minutes(&self, case_id: &CaseId) -> StoreResult<Vec<MinutesRecord>>;

    /// A reporter's reply with what it links to and its reporter actions (`reporter_replied`,
    /// `meeting_requested`, `minutes_corrected`; queued by day under the case's reference, no
    /// chain row), in one transaction: on SQLite one grouped write (`group.rs`), committed
    /// with whatever other reporter writes are queued. False (nothing written) when it
    /// corrects minutes that are not this case's or were already answered.
    async fn add_reporter_reply(
        &self,
        case_id: &CaseId,
        items: &[NewItem],
        links: &ReplyLinks,
        queued: &[ReporterAction],
    ) -> StoreResult<bool>;

    /// The reporter confirms minutes of the case, with its queued reporter actions
    /// (`minutes_confirmed`) in the same transaction; false (nothing written) when there are
    /// none such unanswered.
    async fn confirm_minutes(
        &self,
        case_id: &CaseId,
        item_id: &str,
        day: Date,
        queued: &[ReporterAction],
    ) -> StoreResult<bool>;
}

/// A meeting the reporter asked for, in the script of the write that carries the request.
pub(super) fn meeting_script(s: &mut super::script::Script, case_id: &CaseId, m: &NewMeeting) {
    s.push(
        "INSERT INTO meeting_requests (id, case_id, kind, requested_on, item_id) \
         VALUES ($1, $2, $3, $4, $5)",
        vec![
            (&m.id).into(),
            case_id.as_str().into(),
            m.kind.as_str().into(),
            day_to_db(m.requested_on).into(),
            m.item_id.as_deref().into(),
        ],
    );
}

macro_rules! meetings_sql {
    ($store:ident, $tx:ty) => {
        impl $store {
            pub(super) async fn insert_meeting(
                tx: &mut $tx,
                case_id: &CaseId,
                m: &NewMeeting,
            ) -> StoreResult<()> {
                let mut s = super::script::Script::default();
                meeting_script(&mut s, case_id, m);
                Self::run_script(tx, s).await
            }

            pub(super) async fn insert_minutes(
                tx: &mut $tx,
                case_id: &CaseId,
                item_id: &str,
            ) -> StoreResult<()> {
                sqlx::query("INSERT INTO minutes (item_id, case_id) VALUES ($1, $2)")
                    .bind(item_id)
                    .bind(case_id.as_str())
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            async fn answer_minutes(
                tx: &mut $tx,
                case_id: &CaseId,
                item_id: &str,
                answer: MinutesAnswer,
                day: Date,
                correction: Option<&str>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE minutes SET answer = $3, answered_on = $4, correction_id = $5 \
                     WHERE item_id = $1 AND case_id = $2 AND answer IS NULL",
                )
                .bind(item_id)
                .bind(case_id.as_str())
                .bind(answer.as_str())
                .bind(day_to_db(day))
                .bind(correction)
                .execute(&mut **tx)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            /// A reporter's reply with its links and queued actions, inside the caller's
            /// transaction (a grouped write). `MinutesNotOpen` when it corrects minutes that
            /// are not open: the error rolls the whole reply back.
            async fn reply_in(
                tx: &mut $tx,
                case_id: &CaseId,
                items: &[NewItem],
                links: &ReplyLinks,
                queued: &[ReporterAction],
            ) -> StoreResult<()> {
                // The case row's write lock first, as for any reply (sequence numbers).
                sqlx::query("UPDATE cases SET id = id WHERE id = $1")
                    .bind(case_id.as_str())
                    .execute(&mut **tx)
                    .await?;
                Self::insert_items(tx, case_id, items).await?;
                if let Some(m) = &links.meeting {
                    Self::insert_meeting(tx, case_id, m).await?;
                }
                if let Some((minutes, reply)) = &links.corrects {
                    let day = items.first().map(|i| i.created_on).unwrap_or(Date::MIN);
                    let corrected = MinutesAnswer::Corrected;
                    let answered =
                        Self::answer_minutes(tx, case_id, minutes, corrected, day, Some(reply))
                            .await?;
                    if !answered {
                        return Err(StoreError::MinutesNotOpen);
                    }
                }
                Self::queue_for_case(tx, case_id, queued).await
            }

            /// Queues a reporter write's actions under its case's reference, inside the
            /// write's transaction.
            async fn queue_for_case(
                tx: &mut $tx,
                case_id: &CaseId,
                queued: &[ReporterAction],
            ) -> StoreResult<()> {
                if queued.is_empty() {
                    return Ok(());
                }
                let reference: String =
                    sqlx::query_scalar("SELECT reference FROM cases WHERE id = $1")
                        .bind(case_id.as_str())
                        .fetch_one(&mut **tx)
                        .await?;
                Self::queue_in(tx, &reference, queued).await
            }
        }

        #[async_trait::async_trait]
        impl Meetings for $store {
            async fn meetings(&self, case_id: &CaseId) -> StoreResult<Vec<MeetingRecord>> {
                let rows = sqlx::query(
                    "SELECT id, kind, requested_on, item_id, done_at, done_by \
                     FROM meeting_requests WHERE case_id = $1 ORDER BY requested_on, id",
                )
                .bind(case_id.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(MeetingRecord {
                            id: r.try_get("id")?,
                            kind: parsed(
                                "meeting_requests.kind",
                                r.try_get::<String, _>("kind")?.parse(),
                            )?,
                            requested_on: day_from_db(&r.try_get::<String, _>("requested_on")?)?,
                            item_id: r.try_get("item_id")?,
                            done_at: r.try_get("done_at")?,
                            done_by: r
                                .try_get::<Option<String>, _>("done_by")?
                                .map(OfficerId::from),
                        })
                    })
                    .collect()
            }

            async fn open_meetings(&self) -> StoreResult<Vec<(CaseId, Date)>> {
                let rows = sqlx::query(
                    "SELECT case_id, requested_on FROM meeting_requests WHERE done_at IS NULL \
                     ORDER BY case_id, requested_on",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            CaseId::from(r.try_get::<String, _>("case_id")?),
                            day_from_db(&r.try_get::<String, _>("requested_on")?)?,
                        ))
                    })
                    .collect()
            }

            async fn mark_meeting_done(
                &self,
                case_id: &CaseId,
                id: &str,
                at: i64,
                by: &OfficerId,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let done = sqlx::query(
                    "UPDATE meeting_requests SET done_at = $3, done_by = $4 \
                     WHERE id = $1 AND case_id = $2 AND done_at IS NULL",
                )
                .bind(id)
                .bind(case_id.as_str())
                .bind(at)
                .bind(by.as_str())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn minutes(&self, case_id: &CaseId) -> StoreResult<Vec<MinutesRecord>> {
                let rows = sqlx::query(
                    "SELECT item_id, answer, answered_on, correction_id FROM minutes \
                     WHERE case_id = $1 ORDER BY item_id",
                )
                .bind(case_id.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(MinutesRecord {
                            item_id: r.try_get("item_id")?,
                            answer: parsed(
                                "minutes.answer",
                                r.try_get::<Option<String>, _>("answer")?
                                    .map(|a| a.parse())
                                    .transpose(),
                            )?,
                            answered_on: opt_day(r.try_get("answered_on")?)?,
                            correction_id: r.try_get("correction_id")?,
                        })
                    })
                    .collect()
            }

            async fn add_reporter_reply(
                &self,
                case_id: &CaseId,
                items: &[NewItem],
                links: &ReplyLinks,
                queued: &[ReporterAction],
            ) -> StoreResult<bool> {
                // Owned, so that the batch's writer can run it (again, if need be).
                let job = std::sync::Arc::new((
                    case_id.clone(),
                    items.to_vec(),
                    links.clone(),
                    queued.to_vec(),
                ));
                let stored = self
                    .grouped(move |tx| {
                        let job = job.clone();
                        Box::pin(
                            async move { Self::reply_in(tx, &job.0, &job.1, &job.2, &job.3).await },
                        )
                    })
                    .await;
                match stored {
                    Ok(()) => Ok(true),
                    Err(StoreError::MinutesNotOpen) => Ok(false),
                    Err(e) => Err(e),
                }
            }

            async fn confirm_minutes(
                &self,
                case_id: &CaseId,
                item_id: &str,
                day: Date,
                queued: &[ReporterAction],
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let answered = Self::answer_minutes(
                    &mut tx,
                    case_id,
                    item_id,
                    MinutesAnswer::Confirmed,
                    day,
                    None,
                )
                .await?;
                if answered {
                    Self::queue_for_case(&mut tx, case_id, queued).await?;
                    tx.commit().await?;
                }
                Ok(answered)
            }
        }
    };
}

meetings_sql!(SqliteStore, super::backends::SqliteWrite);
meetings_sql!(PostgresStore, sqlx::Transaction<'static, sqlx::Postgres>);

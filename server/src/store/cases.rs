//! Cases, their items, envelopes and status history: filing a case in one transaction (with
//! its audit row, or the reporter's queued actions), adding reporter and officer items, an
//! officer's update with its audit rows, the case's owner (claimed or set with its audit
//! row), and deletion with everything the case owns.
//! Writes that number rows begin by locking the case row, so concurrent writers queue
//! instead of picking the same sequence number.

use sqlx::Row;
use time::Date;

use super::backends::{PostgresStore, SqliteStore, day_from_db, day_to_db, opt_day};
use super::script::Script;
use super::{
    AuditEntry, CaseRecord, CaseUpdate, EnvelopeRecord, EventRecord, ItemRecord, NewCase, NewItem,
    OwnerClaim, StoreError, StoreResult, parsed,
};
use crate::domain::entity::EntitySlug;
use crate::domain::holder::{Author, CaseId, Holder, OfficerId};
use crate::domain::receipt::stored_lookup;
use crate::domain::stats::CaseFacts;
use crate::i18n::Lang;

#[async_trait::async_trait]
pub trait Cases: Send + Sync {
    /// Files a case in one transaction with everything it carries: keys, items, meeting
    /// request, exclusions, and its audit: the officer's `report_entered` row, or the
    /// reporter's actions queued under its reference (`NewCase::reporter_audit`).
    async fn create_case(&self, case: &NewCase) -> StoreResult<()>;

    /// A reporter's items (replies): no officer action, so no audit row here.
    async fn add_items(&self, case_id: &CaseId, items: &[NewItem]) -> StoreResult<()>;

    async fn case_by_lookup(&self, lookup: &[u8]) -> StoreResult<Option<CaseRecord>>;

    async fn case_by_reference(&self, reference: &str) -> StoreResult<Option<CaseRecord>>;

    async fn cases(&self) -> StoreResult<Vec<CaseRecord>>;

    async fn items(&self, case_id: &CaseId) -> StoreResult<Vec<ItemRecord>>;
    /// One item of a case by its id (metadata only), for fetching one item's ciphertext.
    async fn item(&self, case_id: &CaseId, id: &str) -> StoreResult<Option<ItemRecord>>;

    async fn envelopes(&self, case_id: &CaseId) -> StoreResult<Vec<EnvelopeRecord>>;

    /// How many items the reporter added to a case on one day (the daily cap counts these).
    async fn reporter_items_on(&self, case_id: &CaseId, day: Date) -> StoreResult<i64>;

    async fn update_case(
        &self,
        case_id: &CaseId,
        update: &CaseUpdate,
        audit: &[AuditEntry],
    ) -> StoreResult<()>;

    /// Makes `owner` the case's owner if they hold a copy of the case key sealed to
    /// `recipient` (their current key) and are not excluded; false (nothing written) if not.
    async fn set_owner(
        &self,
        case_id: &CaseId,
        owner: &OfficerId,
        recipient: &str,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Deletes a case with everything it owns: items, their ciphertext, envelopes, access
    /// rows and history (retention), leaving `left` for the yearly figures. The audit log
    /// keeps its entries about the case.
    async fn delete_case(
        &self,
        case_id: &CaseId,
        left: &CaseFacts,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    async fn events(&self, case_id: &CaseId) -> StoreResult<Vec<EventRecord>>;
}

macro_rules! case_columns {
    () => {
        "id, reference, case_recipient, reporter_recipient, category, mode, status, \
         received_on, acknowledged_on, feedback_on, closed_on, reporter_lang, owner_id, \
         officer_recipient, channel, entity_slug, routed_to"
    };
}

macro_rules! item_columns {
    () => {
        "i.id, i.case_id, i.seq, i.kind, i.author, i.created_on, i.reporter_visible, \
         i.parent_id, i.blob_id, b.size, i.name_blob_id"
    };
}

/// A new case's rows: the case, its holders' sealed keys, the officers the reporter left
/// out, its items, a meeting asked for and the reporter's queued actions.
fn case_script(c: &NewCase) -> Script {
    let mut s = Script::default();
    s.push(
        "INSERT INTO cases (id, reference, lookup, case_recipient, reporter_recipient, \
         category, mode, status, received_on, reporter_lang, channel, entity_slug, \
         routed_to) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', $8, $9, $10, $11, $12)",
        vec![
            c.id.as_str().into(),
            (&c.reference).into(),
            // Only the lookup value's hash is kept (database-alone-opens-nothing).
            stored_lookup(&c.lookup).as_slice().into(),
            (&c.case_recipient).into(),
            (&c.reporter_recipient).into(),
            (&c.category).into(),
            c.mode.as_str().into(),
            day_to_db(c.received_on).into(),
            c.reporter_lang.code().into(),
            c.channel.as_str().into(),
            c.entity.as_ref().map(|e| e.as_str()).into(),
            c.routed_to.as_deref().into(),
        ],
    )
    .on_unique(StoreError::DuplicateReference);
    // One statement for every holder's copy (usually four).
    if !c.envelopes.is_empty() {
        let sql = super::rows_sql(
            "INSERT INTO case_keys (case_id, holder, recipient, envelope) VALUES ",
            4,
            c.envelopes.len(),
        );
        let mut args = Vec::with_capacity(4 * c.envelopes.len());
        for e in &c.envelopes {
            args.extend([
                c.id.as_str().into(),
                e.holder.to_db().into(),
                (&e.recipient).into(),
                e.envelope.as_slice().into(),
            ]);
        }
        s.push(sql.0, args);
    }
    // Routing before sealing: the officers the reporter left out, excluded with the case, by
    // the word `reporter` and at the day's start (no exact time).
    for officer in &c.left_out {
        s.push(
            "INSERT INTO case_access (case_id, officer_id, kind, by_officer, at) \
             VALUES ($1, $2, 'exclusion', $3, $4)",
            vec![
                c.id.as_str().into(),
                officer.as_str().into(),
                crate::domain::routing::BY_REPORTER.into(),
                crate::domain::audit::day_start(c.received_on).into(),
            ],
        );
    }
    // A new case has no items yet: its first is number 1, no need to ask.
    items_script(&mut s, &c.id, 1, &c.items);
    if let Some(m) = &c.meeting {
        super::meetings::meeting_script(&mut s, &c.id, m);
    }
    // A reporter's report and its queued actions (`report_filed`, …) in one commit.
    super::audit::queue_script(&mut s, &c.reference, &c.reporter_audit);
    s
}

/// The items numbered from `next` on, each with its content claimed (and its name stored).
fn items_script(s: &mut Script, case_id: &CaseId, next: i64, items: &[NewItem]) {
    for (n, item) in items.iter().enumerate() {
        let day = day_to_db(item.created_on);
        let blob_id = super::blobs::claim_content(s, &item.id, &item.content, &day);
        let name_blob_id = item.encrypted_name.as_ref().map(|name| {
            let id = format!("{}.n", item.id);
            super::blobs::inline(s, &id, name, &day);
            id
        });
        s.push(
            "INSERT INTO items (id, case_id, seq, kind, author, created_on, \
             reporter_visible, parent_id, blob_id, name_blob_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            vec![
                (&item.id).into(),
                case_id.as_str().into(),
                (next + n as i64).into(),
                item.kind.as_str().into(),
                item.author.to_db().into(),
                day.into(),
                item.reporter_visible.into(),
                item.parent_id.as_deref().into(),
                blob_id.into(),
                name_blob_id.into(),
            ],
        );
    }
}

macro_rules! cases_sql {
    ($store:ident, $row:ty, $tx:ty) => {
        impl $store {
            fn case_from_row(r: &$row) -> StoreResult<CaseRecord> {
                Ok(CaseRecord {
                    id: CaseId::from(r.try_get::<String, _>("id")?),
                    reference: r.try_get("reference")?,
                    case_recipient: r.try_get("case_recipient")?,
                    reporter_recipient: r.try_get("reporter_recipient")?,
                    category: r.try_get("category")?,
                    mode: parsed("cases.mode", r.try_get::<String, _>("mode")?.parse())?,
                    status: parsed("cases.status", r.try_get::<String, _>("status")?.parse())?,
                    received_on: day_from_db(&r.try_get::<String, _>("received_on")?)?,
                    acknowledged_on: opt_day(r.try_get("acknowledged_on")?)?,
                    feedback_on: opt_day(r.try_get("feedback_on")?)?,
                    closed_on: opt_day(r.try_get("closed_on")?)?,
                    reporter_lang: parsed(
                        "cases.reporter_lang",
                        r.try_get::<Option<String>, _>("reporter_lang")?
                            .map(|l| Lang::from_code(&l).ok_or(()))
                            .transpose(),
                    )?,
                    owner: r.try_get::<Option<String>, _>("owner_id")?.map(OfficerId::from),
                    officer_recipient: r.try_get("officer_recipient")?,
                    channel: parsed("cases.channel", r.try_get::<String, _>("channel")?.parse())?,
                    entity: parsed(
                        "cases.entity_slug",
                        r.try_get::<Option<String>, _>("entity_slug")?
                            .map(|s| EntitySlug::parse(&s))
                            .transpose(),
                    )?,
                    routed_to: r.try_get("routed_to")?,
                })
            }

            fn item_from_row(r: &$row) -> StoreResult<ItemRecord> {
                Ok(ItemRecord {
                    id: r.try_get("id")?,
                    case_id: CaseId::from(r.try_get::<String, _>("case_id")?),
                    seq: r.try_get("seq")?,
                    kind: parsed("items.kind", r.try_get::<String, _>("kind")?.parse())?,
                    author: parsed("items.author", Author::parse(&r.try_get::<String, _>("author")?))?,
                    created_on: day_from_db(&r.try_get::<String, _>("created_on")?)?,
                    reporter_visible: r.try_get("reporter_visible")?,
                    parent_id: r.try_get("parent_id")?,
                    blob_id: r.try_get("blob_id")?,
                    size: r.try_get("size")?,
                    name_blob_id: r.try_get("name_blob_id")?,
                })
            }

            /// Replaces each lookup value still kept in the clear (cases listed in
            /// `clear_lookups` by migration 0003, which SQLite cannot hash in SQL) with its
            /// stored form, in one transaction; run at every start, so it is idempotent.
            pub(super) async fn hash_clear_lookups(&self) -> StoreResult<u64> {
                // Nearly always nothing to do: a read outside any transaction, so a start
                // beside a running server (a CLI command) takes no write lock.
                let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clear_lookups")
                    .fetch_one(&self.pool)
                    .await?;
                if pending == 0 {
                    return Ok(0);
                }
                let mut tx = self.write_tx().await?;
                let rows = sqlx::query(
                    "SELECT c.id, c.lookup FROM cases c JOIN clear_lookups p ON p.case_id = c.id",
                )
                .fetch_all(&mut *tx)
                .await?;
                for r in &rows {
                    let lookup: Vec<u8> = r.try_get("lookup")?;
                    sqlx::query("UPDATE cases SET lookup = $1 WHERE id = $2")
                        .bind(stored_lookup(&lookup).as_slice())
                        .bind(r.try_get::<String, _>("id")?)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM clear_lookups").execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(rows.len() as u64)
            }

            /// Takes an unowned case (or one whose owner no longer counts) for the claimant,
            /// only if the stored owner is still the one the caller saw; the audit row is
            /// written only when the claim took.
            async fn claim_owner(tx: &mut $tx, case_id: &CaseId, c: &OwnerClaim) -> StoreResult<()> {
                let took = sqlx::query(
                    "UPDATE cases SET owner_id = $2 WHERE id = $1 \
                     AND COALESCE(owner_id, '') = COALESCE($3, '')",
                )
                .bind(case_id.as_str())
                .bind(c.owner.as_str())
                .bind(c.replacing.as_ref().map(|o| o.as_str()))
                .execute(&mut **tx)
                .await?;
                if took.rows_affected() == 1 {
                    Self::append_in(tx, &c.audit).await?;
                }
                Ok(())
            }

            /// A new case with its keys and items, inside the caller's transaction.
            async fn insert_case(tx: &mut $tx, c: &NewCase) -> StoreResult<()> {
                // The case's rows in one script: on SQLite one hand-off to the group-commit
                // writer's connection, not one per statement (`script.rs`).
                Self::run_script(tx, case_script(c)).await?;
                // An officer-entered report and its `report_entered` row commit together (a
                // chained row reads the chain's head, so it cannot join the script).
                if let Some(audit) = &c.audit {
                    Self::append_in(tx, audit).await?;
                }
                Ok(())
            }

            /// A reporter's reply items, inside the caller's transaction.
            async fn insert_reply(tx: &mut $tx, case_id: &CaseId, items: &[NewItem]) -> StoreResult<()> {
                // Takes the case row's write lock first, so two replies to one case cannot
                // pick the same sequence number.
                sqlx::query("UPDATE cases SET id = id WHERE id = $1")
                    .bind(case_id.as_str())
                    .execute(&mut **tx)
                    .await?;
                Self::insert_items(tx, case_id, items).await
            }

            pub(super) async fn insert_items(
                tx: &mut $tx,
                case_id: &CaseId,
                items: &[NewItem],
            ) -> StoreResult<()> {
                let next: i64 = sqlx::query(
                    "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM items WHERE case_id = $1",
                )
                .bind(case_id.as_str())
                .fetch_one(&mut **tx)
                .await?
                .try_get("next")?;
                Self::insert_items_from(tx, case_id, next, items).await
            }

            /// The items numbered from `next` on.
            async fn insert_items_from(
                tx: &mut $tx,
                case_id: &CaseId,
                next: i64,
                items: &[NewItem],
            ) -> StoreResult<()> {
                let mut s = Script::default();
                items_script(&mut s, case_id, next, items);
                Self::run_script(tx, s).await
            }
        }

        #[async_trait::async_trait]
        impl Cases for $store {
            async fn create_case(&self, c: &NewCase) -> StoreResult<()> {
                // Owned, so that the batch's writer can run it (again, if need be).
                let c = std::sync::Arc::new(c.clone());
                if c.audit.is_none() {
                    // A reporter's case is statements only: one script for the writer's
                    // own connection.
                    return self.grouped_script(move || case_script(&c)).await;
                }
                self.grouped(move |tx| {
                    let c = c.clone();
                    Box::pin(async move { Self::insert_case(tx, &c).await })
                })
                .await
            }

            async fn add_items(&self, case_id: &CaseId, items: &[NewItem]) -> StoreResult<()> {
                let job = std::sync::Arc::new((case_id.clone(), items.to_vec()));
                self.grouped(move |tx| {
                    let job = job.clone();
                    Box::pin(async move { Self::insert_reply(tx, &job.0, &job.1).await })
                })
                .await
            }

            async fn case_by_lookup(&self, lookup: &[u8]) -> StoreResult<Option<CaseRecord>> {
                let row = sqlx::query(concat!("SELECT ", case_columns!(), " FROM cases WHERE lookup = $1"))
                    .bind(stored_lookup(lookup).as_slice())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::case_from_row).transpose()
            }

            async fn case_by_reference(&self, reference: &str) -> StoreResult<Option<CaseRecord>> {
                let row = sqlx::query(concat!("SELECT ", case_columns!(), " FROM cases WHERE reference = $1"))
                    .bind(reference)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::case_from_row).transpose()
            }

            async fn cases(&self) -> StoreResult<Vec<CaseRecord>> {
                let rows = sqlx::query(concat!(
                    "SELECT ", case_columns!(), " FROM cases ORDER BY received_on, reference"
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::case_from_row).collect()
            }

            async fn items(&self, case_id: &CaseId) -> StoreResult<Vec<ItemRecord>> {
                let rows = sqlx::query(concat!(
                    "SELECT ", item_columns!(), " FROM items i JOIN blobs b ON b.id = i.blob_id \
                     WHERE i.case_id = $1 ORDER BY i.seq"
                ))
                .bind(case_id.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::item_from_row).collect()
            }

            async fn item(&self, case_id: &CaseId, id: &str) -> StoreResult<Option<ItemRecord>> {
                let row = sqlx::query(concat!(
                    "SELECT ", item_columns!(), " FROM items i JOIN blobs b ON b.id = i.blob_id \
                     WHERE i.case_id = $1 AND i.id = $2"
                ))
                .bind(case_id.as_str())
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::item_from_row).transpose()
            }

            async fn reporter_items_on(&self, case_id: &CaseId, day: Date) -> StoreResult<i64> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM items WHERE case_id = $1 AND author = $2 AND created_on = $3",
                )
                .bind(case_id.as_str())
                .bind(Author::Reporter.to_db())
                .bind(day_to_db(day))
                .fetch_one(&self.pool)
                .await?;
                Ok(n)
            }

            async fn envelopes(&self, case_id: &CaseId) -> StoreResult<Vec<EnvelopeRecord>> {
                let rows = sqlx::query(
                    "SELECT holder, recipient, envelope, officer_envelope FROM case_keys \
                     WHERE case_id = $1 ORDER BY holder",
                )
                .bind(case_id.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(EnvelopeRecord {
                            holder: parsed(
                                "case_keys.holder",
                                Holder::parse(&r.try_get::<String, _>("holder")?),
                            )?,
                            recipient: r.try_get("recipient")?,
                            envelope: r.try_get("envelope")?,
                            officer_envelope: r.try_get("officer_envelope")?,
                        })
                    })
                    .collect()
            }

            async fn update_case(
                &self,
                case_id: &CaseId,
                u: &CaseUpdate,
                audit: &[AuditEntry],
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                let locked = sqlx::query("UPDATE cases SET id = id WHERE id = $1")
                    .bind(case_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                if locked.rows_affected() != 1 {
                    return Err(StoreError::Corrupt(format!("no case {case_id}")));
                }
                Self::insert_items(&mut tx, case_id, &u.items).await?;
                if let Some(item) = &u.minutes {
                    Self::insert_minutes(&mut tx, case_id, item).await?;
                }
                if let Some(e) = &u.event {
                    let next: i64 = sqlx::query(
                        "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM case_events WHERE case_id = $1",
                    )
                    .bind(case_id.as_str())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("next")?;
                    let outcome = e.outcome.map(|o| o.as_str());
                    sqlx::query(
                        "INSERT INTO case_events (case_id, seq, at, actor, status, outcome, reason) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(case_id.as_str())
                    .bind(next)
                    .bind(e.at)
                    .bind(Author::Officer(e.actor.clone()).to_db())
                    .bind(e.status.as_str())
                    .bind(outcome)
                    .bind(&e.reason)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE cases SET status = $2, outcome = COALESCE($3, outcome) WHERE id = $1",
                    )
                    .bind(case_id.as_str())
                    .bind(e.status.as_str())
                    .bind(outcome)
                    .execute(&mut *tx)
                    .await?;
                }
                let dates: [(&str, Option<Date>); 3] = [
                    ("UPDATE cases SET acknowledged_on = $2 WHERE id = $1 AND acknowledged_on IS NULL", u.acknowledged_on),
                    ("UPDATE cases SET feedback_on = $2 WHERE id = $1 AND feedback_on IS NULL", u.feedback_on),
                    ("UPDATE cases SET closed_on = $2 WHERE id = $1", u.closed_on),
                ];
                for (sql, day) in dates {
                    if let Some(day) = day {
                        sqlx::query(sql).bind(case_id.as_str()).bind(day_to_db(day)).execute(&mut *tx).await?;
                    }
                }
                if let Some(claim) = &u.claim {
                    Self::claim_owner(&mut tx, case_id, claim).await?;
                }
                for entry in audit {
                    Self::append_in(&mut tx, entry).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn set_owner(
                &self,
                case_id: &CaseId,
                owner: &OfficerId,
                recipient: &str,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                // Checked in the writing transaction: the new owner holds a working copy of
                // the case key (sealed to their current key) and is not excluded.
                let set = sqlx::query(
                    "UPDATE cases SET owner_id = $2 WHERE id = $1 \
                     AND EXISTS (SELECT 1 FROM case_keys WHERE case_id = $1 AND holder = $3 \
                                 AND recipient = $4) \
                     AND NOT EXISTS (SELECT 1 FROM case_access WHERE case_id = $1 \
                                     AND officer_id = $2 AND kind = 'exclusion')",
                )
                .bind(case_id.as_str())
                .bind(owner.as_str())
                .bind(Holder::Officer(owner.clone()).to_db())
                .bind(recipient)
                .execute(&mut *tx)
                .await?;
                if set.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn delete_case(
                &self,
                case_id: &CaseId,
                left: &CaseFacts,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                let case_id = case_id.as_str();
                let rows = sqlx::query(
                    "SELECT blob_id, name_blob_id FROM items WHERE case_id = $1",
                )
                .bind(case_id)
                .fetch_all(&mut *tx)
                .await?;
                // The entity goes with what the case leaves for the figures (issue 12).
                let entity: Option<Option<String>> =
                    sqlx::query_scalar("SELECT entity_slug FROM cases WHERE id = $1")
                        .bind(case_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let entity = entity.flatten();
                let mut blobs: Vec<String> = Vec::new();
                for r in &rows {
                    blobs.push(r.try_get("blob_id")?);
                    if let Some(n) = r.try_get::<Option<String>, _>("name_blob_id")? {
                        blobs.push(n);
                    }
                }
                for sql in [
                    "DELETE FROM items WHERE case_id = $1",
                    "DELETE FROM case_keys WHERE case_id = $1",
                    "DELETE FROM case_access WHERE case_id = $1",
                    "DELETE FROM case_events WHERE case_id = $1",
                    "DELETE FROM legal_holds WHERE case_id = $1",
                    "DELETE FROM meeting_requests WHERE case_id = $1",
                    "DELETE FROM minutes WHERE case_id = $1",
                    "DELETE FROM cases WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(case_id).execute(&mut *tx).await?;
                }
                for b in &blobs {
                    sqlx::query("DELETE FROM chunks WHERE blob_id = $1").bind(b).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM blobs WHERE id = $1").bind(b).execute(&mut *tx).await?;
                }
                Self::leave_stats_in(&mut tx, left, entity.as_deref()).await?;
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn events(&self, case_id: &CaseId) -> StoreResult<Vec<EventRecord>> {
                let rows = sqlx::query(
                    "SELECT seq, at, actor, status, outcome, reason FROM case_events \
                     WHERE case_id = $1 ORDER BY seq",
                )
                .bind(case_id.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(EventRecord {
                            seq: r.try_get("seq")?,
                            at: r.try_get("at")?,
                            actor: parsed("case_events.actor", Author::parse(&r.try_get::<String, _>("actor")?))?,
                            status: parsed("case_events.status", r.try_get::<String, _>("status")?.parse())?,
                            outcome: parsed(
                                "case_events.outcome",
                                r.try_get::<Option<String>, _>("outcome")?.map(|o| o.parse()).transpose(),
                            )?,
                            reason: r.try_get("reason")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

cases_sql!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    super::backends::SqliteWrite
);
cases_sql!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);

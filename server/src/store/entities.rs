//! Legal entities and their triage groups (issue 12): the entities of the instance, who is a
//! member of which, and who is at group level. Every change commits with its audit row
//! (`officer-auth-and-audit`). A case names its entity in `cases.entity_slug` (see `cases.rs`).

use std::collections::BTreeSet;

use sqlx::Row;

use super::backends::{PostgresStore, SqliteStore, is_unique_violation};
use super::{AuditEntry, NewEnvelope, StoreError, StoreResult, parsed};
use crate::domain::entity::{EntityNames, EntitySlug, Membership};
use crate::domain::holder::{CaseId, Holder, OfficerId};

/// An entity as stored. `overrides` is the JSON of the settings it sets for itself (see
/// `app::entities::Overrides`); `{}` means "as the instance".
#[derive(Debug, Clone)]
pub struct EntityRecord {
    pub slug: EntitySlug,
    pub names: EntityNames,
    pub overrides: String,
    pub created_at: i64,
    /// Whether it has a logo (`entity_logos`; read only, written by `set_entity_logo`).
    pub has_logo: bool,
}

/// A case moved to another entity's triage group: the entity (`None`: the instance's own),
/// the copies sealed in the officer's browser for the new group's members (with the officer
/// key's copy when the case has one), and the officers outside the new group who lose theirs.
#[derive(Debug, Clone)]
pub struct MovedCase {
    pub to: Option<EntitySlug>,
    pub added: Vec<(NewEnvelope, Option<Vec<u8>>)>,
    pub removed: Vec<OfficerId>,
    /// Whether the case had an officer key when the browser sealed (checked again here).
    pub had_officer_key: bool,
}

#[async_trait::async_trait]
pub trait Entities: Send + Sync {
    /// Adds an entity with its audit row; false (nothing written) when the slug is taken.
    async fn create_entity(&self, e: &EntityRecord, audit: &AuditEntry) -> StoreResult<bool>;

    /// Every entity, by slug.
    async fn entities(&self) -> StoreResult<Vec<EntityRecord>>;

    async fn entity(&self, slug: &EntitySlug) -> StoreResult<Option<EntityRecord>>;

    /// Replaces an entity's names and overrides with its audit row; false when there is no
    /// such entity.
    async fn update_entity(&self, e: &EntityRecord, audit: &AuditEntry) -> StoreResult<bool>;

    /// Puts an officer in an entity's triage group (`member`) or takes them out, with the
    /// audit row; false (nothing written) when that was already so.
    async fn set_entity_member(
        &self,
        slug: &EntitySlug,
        officer: &OfficerId,
        member: bool,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Gives an officer access to every entity (`on`) or takes it away, with the audit row;
    /// false when that was already so.
    async fn set_group_level(
        &self,
        officer: &OfficerId,
        on: bool,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Sets an entity's logo (the sanitised PNG) or removes it (`None`), with the audit row;
    /// false (nothing written) when there is no such entity or no logo to remove.
    async fn set_entity_logo(
        &self,
        slug: &EntitySlug,
        png: Option<&[u8]>,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// An entity's logo, the PNG as stored.
    async fn entity_logo(&self, slug: &EntitySlug) -> StoreResult<Option<Vec<u8>>>;

    /// Who is in which entity's group.
    async fn membership(&self) -> StoreResult<Membership>;

    /// Moves a case to another entity with its audit row, in one transaction: the new copies
    /// added, the removed officers' copies, grants and ownership gone. Refused (false, nothing
    /// written) when a new holder is excluded or already holds a copy to the same key, or the
    /// case's officer key appeared or vanished meanwhile.
    async fn move_case(
        &self,
        case_id: &CaseId,
        m: &MovedCase,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
}

fn slug_of(s: String) -> StoreResult<EntitySlug> {
    parsed("entities.slug", EntitySlug::parse(&s))
}

macro_rules! entities_sql {
    ($store:ident, $row:ty, $tx:ty) => {
        impl $store {
            fn entity_from_row(r: &$row) -> StoreResult<EntityRecord> {
                let names: String = r.try_get("names")?;
                Ok(EntityRecord {
                    slug: slug_of(r.try_get("slug")?)?,
                    names: EntityNames::from_json(&names)
                        .ok_or_else(|| StoreError::Corrupt("entities.names".into()))?,
                    overrides: r.try_get("overrides")?,
                    created_at: r.try_get("created_at")?,
                    has_logo: r.try_get::<i64, _>("logos")? > 0,
                })
            }

            /// Adds one new holder's copies; false when they are excluded or hold a working copy.
            async fn add_copy(
                tx: &mut $tx,
                case_id: &CaseId,
                (e, officer): &(NewEnvelope, Option<Vec<u8>>),
            ) -> StoreResult<bool> {
                let Holder::Officer(id) = &e.holder else {
                    return Ok(false);
                };
                let blocked = sqlx::query(
                    "SELECT 1 AS one FROM case_access WHERE case_id = $1 AND officer_id = $2 \
                     AND kind = 'exclusion' UNION ALL SELECT 1 AS one FROM case_keys \
                     WHERE case_id = $1 AND holder = $3 AND recipient = $4",
                )
                .bind(case_id.as_str())
                .bind(id.as_str())
                .bind(e.holder.to_db())
                .bind(&e.recipient)
                .fetch_optional(&mut **tx)
                .await?;
                if blocked.is_some() {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM case_keys WHERE case_id = $1 AND holder = $2")
                    .bind(case_id.as_str())
                    .bind(e.holder.to_db())
                    .execute(&mut **tx)
                    .await?;
                Self::insert_copy(tx, case_id, e, officer.as_deref()).await?;
                Ok(true)
            }

            /// Takes one officer's copies, grant and ownership of the case away.
            async fn remove_copy(
                tx: &mut $tx,
                case_id: &CaseId,
                id: &OfficerId,
            ) -> StoreResult<()> {
                sqlx::query("DELETE FROM case_access WHERE case_id = $1 AND officer_id = $2 AND kind = 'grant'")
                    .bind(case_id.as_str())
                    .bind(id.as_str())
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("DELETE FROM case_keys WHERE case_id = $1 AND holder = $2")
                    .bind(case_id.as_str())
                    .bind(Holder::Officer(id.clone()).to_db())
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("UPDATE cases SET owner_id = NULL WHERE id = $1 AND owner_id = $2")
                    .bind(case_id.as_str())
                    .bind(id.as_str())
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl Entities for $store {
            async fn create_entity(&self, e: &EntityRecord, audit: &AuditEntry) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let added = sqlx::query(
                    "INSERT INTO entities (slug, names, overrides, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(e.slug.as_str())
                .bind(e.names.to_json())
                .bind(&e.overrides)
                .bind(e.created_at)
                .execute(&mut *tx)
                .await;
                match added {
                    Err(err) if is_unique_violation(&err) => return Ok(false),
                    other => other?,
                };
                Self::append_in(&mut tx, audit).await?;
                Self::commit_directory(tx).await?;
                Ok(true)
            }

            async fn entities(&self) -> StoreResult<Vec<EntityRecord>> {
                let rows = sqlx::query("SELECT slug, names, overrides, created_at, (SELECT COUNT(*) FROM entity_logos l WHERE l.entity_slug = entities.slug) AS logos FROM entities ORDER BY slug")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::entity_from_row).collect()
            }

            async fn entity(&self, slug: &EntitySlug) -> StoreResult<Option<EntityRecord>> {
                let row = sqlx::query(
                    "SELECT slug, names, overrides, created_at, (SELECT COUNT(*) FROM entity_logos l WHERE l.entity_slug = entities.slug) AS logos FROM entities WHERE slug = $1",
                )
                .bind(slug.as_str())
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::entity_from_row).transpose()
            }

            async fn update_entity(&self, e: &EntityRecord, audit: &AuditEntry) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let changed = sqlx::query("UPDATE entities SET names = $2, overrides = $3 WHERE slug = $1")
                    .bind(e.slug.as_str())
                    .bind(e.names.to_json())
                    .bind(&e.overrides)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                Self::commit_directory_change(tx, changed, audit).await
            }

            async fn set_entity_member(
                &self,
                slug: &EntitySlug,
                officer: &OfficerId,
                member: bool,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let sql = if member {
                    "INSERT INTO entity_members (entity_slug, officer_id) \
                     SELECT e.slug, o.id FROM entities e, officers o WHERE e.slug = $1 AND o.id = $2 \
                     ON CONFLICT (entity_slug, officer_id) DO NOTHING"
                } else {
                    "DELETE FROM entity_members WHERE entity_slug = $1 AND officer_id = $2"
                };
                let changed = sqlx::query(sql)
                    .bind(slug.as_str())
                    .bind(officer.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                Self::commit_directory_change(tx, changed, audit).await
            }

            async fn set_group_level(
                &self,
                officer: &OfficerId,
                on: bool,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let sql = if on {
                    "INSERT INTO group_officers (officer_id) SELECT id FROM officers WHERE id = $1 \
                     ON CONFLICT (officer_id) DO NOTHING"
                } else {
                    "DELETE FROM group_officers WHERE officer_id = $1"
                };
                let changed = sqlx::query(sql)
                    .bind(officer.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                Self::commit_directory_change(tx, changed, audit).await
            }

            async fn set_entity_logo(
                &self,
                slug: &EntitySlug,
                png: Option<&[u8]>,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let query = match png {
                    Some(png) => sqlx::query(
                        "INSERT INTO entity_logos (entity_slug, png) SELECT slug, $2 FROM entities \
                         WHERE slug = $1 ON CONFLICT (entity_slug) DO UPDATE SET png = excluded.png",
                    )
                    .bind(slug.as_str())
                    .bind(png),
                    None => sqlx::query("DELETE FROM entity_logos WHERE entity_slug = $1")
                        .bind(slug.as_str()),
                };
                let changed = query.execute(&mut *tx).await?.rows_affected();
                Self::commit_directory_change(tx, changed, audit).await
            }

            async fn entity_logo(&self, slug: &EntitySlug) -> StoreResult<Option<Vec<u8>>> {
                Ok(sqlx::query_scalar("SELECT png FROM entity_logos WHERE entity_slug = $1")
                    .bind(slug.as_str())
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn membership(&self) -> StoreResult<Membership> {
                let rows = sqlx::query("SELECT entity_slug, officer_id FROM entity_members")
                    .fetch_all(&self.pool)
                    .await?;
                let mut members = BTreeSet::new();
                for r in &rows {
                    let slug = slug_of(r.try_get("entity_slug")?)?;
                    members.insert((slug, OfficerId::from(r.try_get::<String, _>("officer_id")?)));
                }
                let group: Vec<String> = sqlx::query_scalar("SELECT officer_id FROM group_officers")
                    .fetch_all(&self.pool)
                    .await?;
                let triage = sqlx::query("SELECT group_name, officer_id FROM triage_group_members")
                    .fetch_all(&self.pool)
                    .await?;
                let mut routed = BTreeSet::new();
                for r in &triage {
                    let id = OfficerId::from(r.try_get::<String, _>("officer_id")?);
                    routed.insert((r.try_get::<String, _>("group_name")?, id));
                }
                Ok(Membership {
                    members,
                    group_level: group.into_iter().map(OfficerId::from).collect(),
                    triage: routed,
                })
            }

            async fn move_case(&self, case_id: &CaseId, m: &MovedCase, audit: &AuditEntry) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                // The case row's lock first, as grants and the officer key's creation take it.
                sqlx::query("UPDATE cases SET id = id WHERE id = $1")
                    .bind(case_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                let key: Option<Option<String>> =
                    sqlx::query_scalar("SELECT officer_recipient FROM cases WHERE id = $1")
                        .bind(case_id.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                match key {
                    Some(k) if k.is_some() == m.had_officer_key => {}
                    _ => return Ok(false),
                }
                for copy in &m.added {
                    if !Self::add_copy(&mut tx, case_id, copy).await? {
                        return Ok(false);
                    }
                }
                for id in &m.removed {
                    Self::remove_copy(&mut tx, case_id, id).await?;
                }
                // Sealed to the new entity's whole group: no route applies any more.
                sqlx::query("UPDATE cases SET entity_slug = $2, routed_to = NULL WHERE id = $1")
                    .bind(case_id.as_str())
                    .bind(m.to.as_ref().map(|e| e.as_str()))
                    .execute(&mut *tx)
                    .await?;
                Self::append_in(&mut tx, audit).await?;
                Self::commit_directory(tx).await?;
                Ok(true)
            }
        }
    };
}

entities_sql!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    super::backends::SqliteWrite
);
entities_sql!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);

//! Triage groups (routing before sealing, migration 0015): named groups of officers that a
//! category may route to. Adding, renaming or deleting a group or changing its members commits
//! with its audit row; a rename carries the group's routes and routed cases (migration 0017)
//! with it, and a group cases were routed to is never deleted.
//! The rules (who may be a member, which group a report goes to) are in `app::routing` and
//! `domain::routing`; this file only keeps the rows.

use sqlx::Row;

use super::backends::{PostgresStore, SqliteStore};
use super::{AuditEntry, StoreResult};
use crate::domain::holder::OfficerId;

/// A triage group as stored: its name and its members' account ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub name: String,
    pub members: Vec<OfficerId>,
}

#[async_trait::async_trait]
pub trait TriageGroups: Send + Sync {
    /// Every group with its members, by name.
    async fn triage_groups(&self) -> StoreResult<Vec<GroupRecord>>;

    /// Adds an empty group with its audit row; false (nothing written) if the name is taken.
    async fn add_triage_group(&self, name: &str, audit: &AuditEntry) -> StoreResult<bool>;

    /// Adds (`member = true`) or removes an officer from a group, with its audit row; false
    /// (nothing written) when the group does not exist or nothing would change.
    async fn set_group_member(
        &self,
        name: &str,
        officer: &OfficerId,
        member: bool,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Renames a group with its members, the cases routed to it and, when given as (the
    /// value read, the value to write), the `category_routes` setting, in one transaction
    /// with its audit row. False (nothing written) when `from` does not exist, `to` is taken,
    /// or the routes changed since they were read.
    async fn rename_triage_group(
        &self,
        from: &str,
        to: &str,
        routes: Option<(&str, &str)>,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Deletes a group and its memberships with its audit row; false (nothing written) when
    /// there is no such group or a case was routed to it (they would be left with nobody to
    /// see them). The caller checks that no category routes to it.
    async fn delete_triage_group(&self, name: &str, audit: &AuditEntry) -> StoreResult<bool>;
}

macro_rules! groups_sql {
    ($store:ident) => {
        #[async_trait::async_trait]
        impl TriageGroups for $store {
            async fn triage_groups(&self) -> StoreResult<Vec<GroupRecord>> {
                let names = sqlx::query("SELECT name FROM triage_groups ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?;
                let members = sqlx::query(
                    "SELECT group_name, officer_id FROM triage_group_members \
                     ORDER BY group_name, officer_id",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut out = Vec::with_capacity(names.len());
                for r in &names {
                    out.push(GroupRecord {
                        name: r.try_get("name")?,
                        members: Vec::new(),
                    });
                }
                for r in &members {
                    let group: String = r.try_get("group_name")?;
                    let id = OfficerId::from(r.try_get::<String, _>("officer_id")?);
                    if let Some(g) = out.iter_mut().find(|g| g.name == group) {
                        g.members.push(id);
                    }
                }
                Ok(out)
            }

            async fn add_triage_group(&self, name: &str, audit: &AuditEntry) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let added = sqlx::query(
                    "INSERT INTO triage_groups (name) VALUES ($1) ON CONFLICT DO NOTHING",
                )
                .bind(name)
                .execute(&mut *tx)
                .await?;
                Self::commit_directory_change(tx, added.rows_affected(), audit).await
            }

            async fn set_group_member(
                &self,
                name: &str,
                officer: &OfficerId,
                member: bool,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let changed = if member {
                    sqlx::query(
                        "INSERT INTO triage_group_members (group_name, officer_id) \
                         SELECT name, $2 FROM triage_groups WHERE name = $1 \
                         ON CONFLICT DO NOTHING",
                    )
                } else {
                    sqlx::query(
                        "DELETE FROM triage_group_members WHERE group_name = $1 AND officer_id = $2",
                    )
                }
                .bind(name)
                .bind(officer.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                Self::commit_directory_change(tx, changed, audit).await
            }

            async fn rename_triage_group(
                &self,
                from: &str,
                to: &str,
                routes: Option<(&str, &str)>,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let added = sqlx::query(
                    "INSERT INTO triage_groups (name) SELECT $2 FROM triage_groups WHERE name = $1 \
                     ON CONFLICT DO NOTHING",
                )
                .bind(from)
                .bind(to)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if added != 1 {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO triage_group_members (group_name, officer_id) \
                     SELECT $2, officer_id FROM triage_group_members WHERE group_name = $1",
                )
                .bind(from)
                .bind(to)
                .execute(&mut *tx)
                .await?;
                // The old name's members go with it (ON DELETE CASCADE).
                sqlx::query("DELETE FROM triage_groups WHERE name = $1")
                    .bind(from)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE cases SET routed_to = $2 WHERE routed_to = $1")
                    .bind(from)
                    .bind(to)
                    .execute(&mut *tx)
                    .await?;
                if let Some((seen, renamed)) = routes {
                    // Only over the routes that were read: an admin's save in between wins,
                    // and this rename is refused rather than undoing it.
                    let kept = sqlx::query(
                        "UPDATE site_settings SET value = $2 WHERE name = 'category_routes' \
                         AND value = $1",
                    )
                    .bind(seen)
                    .bind(renamed)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if kept != 1 {
                        return Ok(false);
                    }
                }
                Self::commit_directory_change(tx, 1, audit).await
            }

            async fn delete_triage_group(&self, name: &str, audit: &AuditEntry) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let gone = sqlx::query(
                    "DELETE FROM triage_groups WHERE name = $1 \
                     AND NOT EXISTS (SELECT 1 FROM cases WHERE routed_to = $1)",
                )
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                Self::commit_directory_change(tx, gone, audit).await
            }
        }
    };
}

groups_sql!(SqliteStore);
groups_sql!(PostgresStore);

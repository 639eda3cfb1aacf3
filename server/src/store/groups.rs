//! Triage groups (routing before sealing, migration 0015): named groups of officers that a
//! category may route to. Adding a group or changing its members commits with its audit row.
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
                if added.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                // Who receives new cases may have changed (`app::holder_cache`).
                super::accounts::changed();
                Ok(true)
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
                if changed != 1 {
                    return Ok(false);
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                // Who receives new cases may have changed (`app::holder_cache`).
                super::accounts::changed();
                Ok(true)
            }
        }
    };
}

groups_sql!(SqliteStore);
groups_sql!(PostgresStore);

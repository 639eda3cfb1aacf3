//! Readiness (`/readyz`): may a load balancer send reporters here? Yes when the database
//! answers, its migrations are this build's, and some officer key exists (otherwise the
//! intake is closed). Reads bookkeeping only: the officer list and the migration rows.

use super::intake;
use crate::store::Store;
use crate::store::ops::Schema;

/// Why an instance is not ready; the `Display` text is the probe's short plain answer.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("database unavailable")]
    Database(#[source] crate::store::StoreError),
    #[error("{0}")]
    Schema(Schema),
    #[error("no officer key: the intake is closed")]
    NoOfficerKey,
}

/// Checks the three conditions in order, cheapest first.
pub async fn check(store: &dyn Store) -> Result<(), NotReady> {
    match store.schema().await.map_err(NotReady::Database)? {
        Schema::Current => {}
        other => return Err(NotReady::Schema(other)),
    }
    if intake::recipients(store)
        .await
        .map_err(NotReady::Database)?
        .is_empty()
    {
        return Err(NotReady::NoOfficerKey);
    }
    Ok(())
}

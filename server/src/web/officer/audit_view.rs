//! `/officer/audit`: the audit log and case statistics for auditors, with the chain checked
//! on every view. Auditors see who did what and when, and how many cases are where; they
//! never see case content or hold a case key.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::desk_for;
use super::pages::{AuditPage, AuditRow, Choice, StatCount};
use super::session::Officer;
use super::when;
use crate::app::accounts::require;
use crate::app::audit::{self, Verdict};
use crate::domain::audit::REPORTER_ACTOR;
use crate::domain::case::CaseStatus;
use crate::domain::deadlines::DeadlineState;
use crate::domain::permission::Permission;
use crate::web::SharedState;
use crate::web::shared::error::AppError;

/// Rows shown at most, newest first; filters narrow before this cut.
const SHOW: usize = 500;

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    case: String,
}

pub async fn show(
    State(state): State<SharedState>,
    who: Officer,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    require(&who.account, Permission::ReadAudit)?;
    let t = who.lang.tr();
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |r: &crate::store::AuditRecord| r.seq);
        let page = state.store.audit_rows(after, 1000).await?;
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    let total = all.len();
    let actor = f.actor.trim().to_lowercase();
    let case_ref = f.case.trim().to_uppercase();
    let rows: Vec<AuditRow> = all
        .iter()
        .rev()
        .filter(|r| actor.is_empty() || r.entry.actor.to_lowercase().contains(&actor))
        .filter(|r| f.action.is_empty() || r.entry.action == f.action)
        .filter(|r| case_ref.is_empty() || r.entry.case_ref.contains(&case_ref))
        .take(SHOW)
        .map(|r| AuditRow {
            seq: r.seq,
            // Reporter rows carry a day only: show no time for them.
            at: if r.entry.actor == REPORTER_ACTOR {
                time::OffsetDateTime::from_unix_timestamp(r.entry.at)
                    .map(|d| t.date(d.date()))
                    .unwrap_or_default()
            } else {
                when(&t, r.entry.at)
            },
            actor: r.entry.actor.clone(),
            action: t
                .get(&format!("audit.action.{}", r.entry.action))
                .to_owned(),
            case_ref: r.entry.case_ref.clone(),
            detail: r.entry.detail.clone(),
        })
        .collect();
    let (intact, verdict) = match audit::verify(state.store()).await? {
        Verdict::Intact { rows, head } => (
            true,
            t.fmt(
                "audit.intact",
                &[("rows", &rows.to_string()), ("head", &audit::hex(&head))],
            ),
        ),
        Verdict::Broken { seq, reason } => (
            false,
            t.fmt(
                "audit.broken",
                &[("seq", &seq.to_string()), ("reason", reason)],
            ),
        ),
    };
    let cases = state.store.cases().await?;
    let today = state.clock.today();
    let stats = CaseStatus::ALL
        .iter()
        .map(|s| StatCount {
            key: format!("status.{}", s.as_str()),
            count: cases.iter().filter(|c| c.status == *s).count(),
        })
        .collect();
    let actions = audit::action::ALL
        .iter()
        .map(|a| Choice {
            value: (*a).to_owned(),
            label: t.get(&format!("audit.action.{a}")).to_owned(),
            selected: f.action == *a,
        })
        .collect();
    Ok(AuditPage {
        d: desk_for(&state, &who, "audit", "/officer/audit"),
        shown: rows.len(),
        rows,
        actions,
        actor: f.actor,
        case_ref: f.case,
        intact,
        verdict,
        stats,
        ack_overdue: cases
            .iter()
            .filter(|c| c.deadlines(today).ack == DeadlineState::Overdue)
            .count(),
        feedback_overdue: cases
            .iter()
            .filter(|c| c.deadlines(today).feedback == DeadlineState::Overdue)
            .count(),
        total,
    }
    .into_response())
}

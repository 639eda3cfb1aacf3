//! `/officer/audit`: the audit log and case statistics for auditors, a page of 100 rows at a
//! time (`?before=` a row number for older ones), with the chain checked on every view from
//! the last checked row on (see `app::audit::check`). Auditors see who did what and when, and how many cases are where; they
//! never see case content or hold a case key.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::desk_for;
use super::pages::{AuditPage, AuditRow, Choice, StatCount};
use super::session::Officer;
use super::when;
use crate::app::audit::{self, AuditFilter, AuditRecord, Verdict};
use crate::clock::OrgTimeZone;
use crate::domain::audit::REPORTER_ACTOR;
use crate::i18n::Tr;
use crate::web::SharedState;
use crate::web::shared::error::AppError;

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    case: String,
    /// A row number; anything else shows the newest page.
    #[serde(default)]
    before: String,
}

/// The catalog tables that name audit actions (each feature's block adds its own).
const ACTION_TABLES: &[&str] = &[
    "audit.action",
    "workflow.audit_action",
    "login_failures.audit_action",
    "stats.audit_action",
    "retention.audit_action",
    "officer_key.audit_action",
    "casefile.audit_action",
    "meetings.audit_action",
    "routing.audit_action",
    "entities.audit_action",
    "group_edit.audit_action",
];

/// An action's label from `audit.action.*`; actions added by a feature since, whose labels
/// live in that feature's own catalog block, from `<block>.audit_action.*`.
pub fn action_label(t: &Tr, action: &str) -> String {
    for table in ACTION_TABLES {
        let key = format!("{table}.{action}");
        match t.get(&key) {
            label if label != key => return label.to_owned(),
            _ => {}
        }
    }
    action.to_owned()
}

fn row(t: &Tr, zone: &OrgTimeZone, r: &AuditRecord) -> AuditRow {
    AuditRow {
        seq: r.seq,
        // Reporter rows carry a day only: show no time for them.
        at: if r.entry.actor == REPORTER_ACTOR {
            time::OffsetDateTime::from_unix_timestamp(r.entry.at)
                .map(|d| t.date(d.date()))
                .unwrap_or_default()
        } else {
            when(t, zone, r.entry.at)
        },
        actor: r.entry.actor.clone(),
        action: action_label(t, &r.entry.action),
        case_ref: r.entry.case_ref.clone(),
        detail: r.entry.detail.clone(),
    }
}

fn verdict(t: &Tr, v: &Verdict) -> (bool, String) {
    match v {
        Verdict::Intact { rows, head } => (
            true,
            t.fmt(
                "audit.intact",
                &[("rows", &rows.to_string()), ("head", &audit::hex(head))],
            ),
        ),
        Verdict::Broken { seq, reason } => (
            false,
            t.fmt(
                "audit.broken",
                &[("seq", &seq.to_string()), ("reason", reason)],
            ),
        ),
    }
}

/// When every row was last checked, once the process has checked them all.
fn full_check(t: &Tr, zone: &OrgTimeZone, c: Option<audit::Checkpoint>) -> Option<String> {
    c.map(|c| t.fmt("audit.full_check", &[("at", &when(t, zone, c.full_at))]))
}

/// The link to the page of rows older than `seq` (0: the newest page), keeping the filters.
fn older_link(f: &AuditFilter, seq: i64) -> String {
    let before = if seq > 0 {
        seq.to_string()
    } else {
        String::new()
    };
    let query = serde_urlencoded::to_string([
        ("actor", f.actor.as_str()),
        ("action", f.action.as_str()),
        ("case", f.case.as_str()),
        ("before", before.as_str()),
    ])
    .unwrap_or_default();
    format!("/officer/audit?{query}")
}

pub async fn show(
    State(state): State<SharedState>,
    who: Officer,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    let filter = AuditFilter {
        actor: f.actor,
        action: f.action,
        case: f.case,
        before: f.before.trim().parse().ok(),
    };
    let r = audit::review(&state, &who.account, &filter).await?;
    let t = who.lang.tr();
    let (intact, verdict) = verdict(&t, &r.verdict);
    let full_check = full_check(&t, &state.settings.time_zone, r.checkpoint);
    let (older, paged, newest) = (
        r.older.map(|seq| older_link(&filter, seq)),
        filter.before.is_some(),
        older_link(&filter, 0),
    );
    let actions = audit::action::ALL
        .iter()
        .map(|a| Choice {
            value: (*a).to_owned(),
            label: action_label(&t, a),
            selected: filter.action == *a,
        })
        .collect();
    let stats = r
        .per_status
        .iter()
        .map(|(s, count)| StatCount {
            key: format!("status.{s}"),
            count: *count,
        })
        .collect();
    Ok(AuditPage {
        d: desk_for(&state, &who, "audit", "/officer/audit"),
        shown: r.rows.len(),
        rows: r
            .rows
            .iter()
            .map(|x| row(&t, &state.settings.time_zone, x))
            .collect(),
        actions,
        actor: filter.actor,
        case_ref: filter.case,
        intact,
        verdict,
        stats,
        ack_overdue: r.ack_overdue,
        feedback_overdue: r.feedback_overdue,
        total: r.total,
        full_check,
        older,
        paged,
        newest,
    }
    .into_response())
}

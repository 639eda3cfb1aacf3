//! `/officer/cases`: the case list with the EU Directive deadlines, filters and sorting.
//! Metadata only (nothing to decrypt), and only the cases the person may see: officers see
//! every case they are not excluded from, investigators the cases granted to them.

use std::collections::{HashMap, HashSet};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::{Date, Duration};

use super::desk_for;
use super::pages::{CaseRow, CasesPage, Choice};
use super::session::Officer;
use crate::domain::case::{CaseStatus, acknowledgement_due, feedback_due};
use crate::domain::officer::Role;
use crate::store::CaseRecord;
use crate::store::workspace::AccessRecord;
use crate::web::SharedState;
use crate::web::error::{AppError, ErrorKind};

/// Flags of one deadline: `met`, `open`, `due_soon`, `overdue` or `closed`.
pub fn ack_flag(c: &CaseRecord, today: Date) -> &'static str {
    flag(
        c,
        c.acknowledged_on,
        acknowledgement_due(c.received_on),
        today,
        2,
    )
}

pub fn feedback_flag(c: &CaseRecord, today: Date) -> &'static str {
    flag(
        c,
        c.feedback_on,
        feedback_due(c.received_on, c.acknowledged_on),
        today,
        14,
    )
}

fn flag(c: &CaseRecord, done: Option<Date>, due: Date, today: Date, soon: i64) -> &'static str {
    if done.is_some() {
        "met"
    } else if c.status == CaseStatus::Closed.as_str() {
        "closed"
    } else if today > due {
        "overdue"
    } else if due - today <= Duration::days(soon) {
        "due_soon"
    } else {
        "open"
    }
}

/// The next deadline still to meet, for sorting.
fn next_deadline(c: &CaseRecord) -> Date {
    if c.status == CaseStatus::Closed.as_str() {
        Date::MAX
    } else if c.acknowledged_on.is_none() {
        acknowledgement_due(c.received_on)
    } else if c.feedback_on.is_none() {
        feedback_due(c.received_on, c.acknowledged_on)
    } else {
        Date::MAX
    }
}

/// Whether the person may open the case page (the store must also hold their envelope).
pub fn may_open(who: &Officer, case_id: &str, access: &[AccessRecord]) -> bool {
    let mine = access
        .iter()
        .find(|a| a.case_id == case_id && a.officer_id == who.account.id);
    match mine.map(|a| a.kind.as_str()) {
        Some("exclusion") => false,
        Some("grant") => who.has(Role::Officer) || who.has(Role::Investigator),
        _ => who.has(Role::Officer),
    }
}

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    overdue: String,
    #[serde(default)]
    sort: String,
}

pub async fn list(
    State(state): State<SharedState>,
    who: Officer,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    if !(who.has(Role::Officer) || who.has(Role::Investigator)) {
        return Err(ErrorKind::Forbidden.into());
    }
    let t = who.lang.tr();
    let today = state.clock.today();
    let site = state.site.get();
    let access = state.store.all_case_access().await?;
    let people: HashMap<String, String> = state
        .store
        .officers()
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let mut assigned: HashMap<&str, Vec<&str>> = HashMap::new();
    for a in access.iter().filter(|a| a.kind == "grant") {
        assigned
            .entry(a.case_id.as_str())
            .or_default()
            .push(a.officer_id.as_str());
    }
    let overdue_only = f.overdue == "1";
    let mut cases: Vec<CaseRecord> = state
        .store
        .cases()
        .await?
        .into_iter()
        .filter(|c| may_open(&who, &c.id, &access))
        .filter(|c| f.status.is_empty() || c.status == f.status)
        .filter(|c| f.category.is_empty() || c.category == f.category)
        .filter(|c| {
            f.assignee.is_empty()
                || assigned
                    .get(c.id.as_str())
                    .is_some_and(|v| v.contains(&f.assignee.as_str()))
        })
        .filter(|c| {
            !overdue_only || ack_flag(c, today) == "overdue" || feedback_flag(c, today) == "overdue"
        })
        .collect();
    match f.sort.as_str() {
        "received" => cases.sort_by_key(|c| std::cmp::Reverse(c.received_on)),
        "reference" => cases.sort_by(|a, b| a.reference.cmp(&b.reference)),
        _ => cases.sort_by_key(next_deadline),
    }
    let rows = cases
        .iter()
        .map(|c| CaseRow {
            reference: c.reference.clone(),
            category: site
                .category(&c.category)
                .map_or_else(|| c.category.clone(), |k| k.label(who.lang)),
            received: t.date(c.received_on),
            status_key: format!("status.{}", c.status),
            assignees: assigned
                .get(c.id.as_str())
                .map(|ids| {
                    ids.iter()
                        .map(|id| people.get(*id).map_or(*id, String::as_str))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            ack_due: t.date(acknowledgement_due(c.received_on)),
            ack_flag: ack_flag(c, today),
            feedback_due: t.date(feedback_due(c.received_on, c.acknowledged_on)),
            feedback_flag: feedback_flag(c, today),
        })
        .collect();
    let choice = |value: &str, label: String, current: &str| Choice {
        value: value.to_owned(),
        label,
        selected: value == current,
    };
    let statuses = CaseStatus::ALL
        .iter()
        .map(|s| {
            choice(
                s.as_str(),
                t.get(&format!("status.{}", s.as_str())).to_owned(),
                &f.status,
            )
        })
        .collect();
    let categories = site
        .categories
        .iter()
        .map(|c| choice(&c.code, c.label(who.lang), &f.category))
        .collect();
    let investigators: HashSet<&str> = access
        .iter()
        .filter(|a| a.kind == "grant")
        .map(|a| a.officer_id.as_str())
        .collect();
    let mut assignees: Vec<Choice> = investigators
        .into_iter()
        .map(|id| {
            choice(
                id,
                people.get(id).cloned().unwrap_or_else(|| id.to_owned()),
                &f.assignee,
            )
        })
        .collect();
    assignees.sort_by(|a, b| a.label.cmp(&b.label));
    let sorts = ["deadline", "received", "reference"]
        .iter()
        .map(|s| {
            choice(
                s,
                t.get(&format!("cases.sort.{s}")).to_owned(),
                if f.sort.is_empty() {
                    "deadline"
                } else {
                    &f.sort
                },
            )
        })
        .collect();
    Ok(CasesPage {
        d: desk_for(&state, &who, "cases", "/officer/cases"),
        rows,
        statuses,
        categories,
        assignees,
        sorts,
        overdue_only,
    }
    .into_response())
}

//! `/officer/cases`: the case list with the EU Directive deadlines, filters and sorting.
//! Metadata only (nothing to decrypt); which cases a person sees and where each stands
//! against its deadlines come from `app::casework` and `domain::deadlines`.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::desk_for;
use super::pages::{CaseRow, CasesPage, Choice};
use super::session::Officer;
use crate::app::casework::{self, CaseList, Filter};
use crate::app::settings::Site;
use crate::domain::case::CaseStatus;
use crate::i18n::{Lang, Tr};
use crate::web::SharedState;
use crate::web::shared::error::AppError;

#[derive(Deserialize, Default)]
pub struct FilterQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    overdue: String,
    #[serde(default)]
    mine: String,
    #[serde(default)]
    sort: String,
}

fn choice(value: &str, label: String, current: &str) -> Choice {
    Choice {
        value: value.to_owned(),
        label,
        selected: value == current,
    }
}

type Filters = (Vec<Choice>, Vec<Choice>, Vec<Choice>, Vec<Choice>);

/// The filter row's choices (status, category, assignee, sort), the current ones selected.
fn filters(t: &Tr, site: &Site, found: &CaseList, f: &Filter, lang: Lang) -> Filters {
    let statuses = CaseStatus::ALL
        .iter()
        .map(|s| {
            choice(
                s.as_str(),
                t.get(&format!("status.{s}")).to_owned(),
                &f.status,
            )
        })
        .collect();
    let categories = site
        .categories
        .iter()
        .map(|c| choice(&c.code, c.label(lang), &f.category))
        .collect();
    let mut assignees: Vec<Choice> = found
        .assignees
        .iter()
        .map(|(id, name)| choice(id.as_str(), name.clone(), &f.assignee))
        .collect();
    assignees.sort_by(|a, b| a.label.cmp(&b.label));
    let current = if f.sort.is_empty() {
        "deadline"
    } else {
        &f.sort
    };
    let sorts = ["deadline", "received", "reference"]
        .iter()
        .map(|s| choice(s, t.get(&format!("cases.sort.{s}")).to_owned(), current))
        .collect();
    (statuses, categories, assignees, sorts)
}

pub async fn list(
    State(state): State<SharedState>,
    who: Officer,
    Query(q): Query<FilterQuery>,
) -> Result<Response, AppError> {
    let f = Filter {
        status: q.status,
        category: q.category,
        assignee: q.assignee,
        overdue_only: q.overdue == "1",
        mine_only: q.mine == "1",
        sort: q.sort,
    };
    let found = casework::list(&state, &who.account, &f).await?;
    let (t, site) = (who.lang.tr(), state.site.get());
    let rows = found
        .cases
        .iter()
        .map(|l| CaseRow {
            reference: l.case.reference.clone(),
            category: site
                .category(&l.case.category)
                .map_or_else(|| l.case.category.clone(), |k| k.label(who.lang)),
            received: t.date(l.case.received_on),
            status_key: format!("status.{}", l.case.status),
            assignees: l.assignees.join(", "),
            owner: l.owner.clone().unwrap_or_default(),
            ack_due: t.date(l.deadlines.ack_due),
            ack_flag: l.deadlines.ack,
            feedback_due: t.date(l.deadlines.feedback_due),
            feedback_flag: l.deadlines.feedback,
        })
        .collect();
    let (statuses, categories, assignees, sorts) = filters(&t, &site, &found, &f, who.lang);
    Ok(CasesPage {
        d: desk_for(&state, &who, "cases", "/officer/cases"),
        rows,
        statuses,
        categories,
        assignees,
        sorts,
        overdue_only: f.overdue_only,
        mine_only: f.mine_only,
    }
    .into_response())
}

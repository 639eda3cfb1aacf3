//! `/officer/cases`: the case list with the EU Directive deadlines, the counters above it
//! (each a link to its filter), filters and sorting. Metadata only (nothing to decrypt);
//! which cases a person sees, where each stands against its deadlines and what the counters
//! count come from `app::casework` and `domain::deadlines`.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::desk_for;
use super::pages::{CaseRow, CasesPage, Choice, Counter};
use super::session::Officer;
use crate::app::casework::{self, CaseList, Filter};
use crate::app::entities::Sites;
use crate::app::holds;
use crate::app::settings::Site;
use crate::domain::case::CaseStatus;
use crate::domain::deadlines::{ACK_DUE_SOON_DAYS, Counts, DueSoon, FEEDBACK_DUE_SOON_DAYS};
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
    due: String,
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

/// "Acknowledgement due within 2 days", "Feedback due within 14 days": the thresholds are
/// the domain's.
fn due_label(t: &Tr, which: DueSoon) -> String {
    let (key, days) = match which {
        DueSoon::Ack => ("workspace.count.ack_soon", ACK_DUE_SOON_DAYS),
        DueSoon::Feedback => ("workspace.count.feedback_soon", FEEDBACK_DUE_SOON_DAYS),
    };
    t.fmt(key, &[("days", days.to_string().as_str())])
}

/// The counters above the list; the one whose filter the list shows now is marked current.
fn counters(t: &Tr, n: &Counts, f: &Filter) -> Vec<Counter> {
    let only = |status: &str, due: Option<DueSoon>, overdue: bool| {
        f.category.is_empty()
            && f.assignee.is_empty()
            && !f.mine_only
            && f.status == status
            && f.due == due
            && f.overdue_only == overdue
    };
    let new = Counts::NEW_STATUS.as_str();
    let counter = |id, href, label, count, urgent, current| Counter {
        id,
        href,
        label,
        count,
        urgent,
        current,
    };
    vec![
        counter(
            "count-new",
            "/officer/cases?status=received",
            t.get("workspace.count.new").to_owned(),
            n.new,
            false,
            only(new, None, false),
        ),
        counter(
            "count-ack-soon",
            "/officer/cases?due=ack",
            due_label(t, DueSoon::Ack),
            n.ack_soon,
            true,
            only("", Some(DueSoon::Ack), false),
        ),
        counter(
            "count-feedback-soon",
            "/officer/cases?due=feedback",
            due_label(t, DueSoon::Feedback),
            n.feedback_soon,
            true,
            only("", Some(DueSoon::Feedback), false),
        ),
        counter(
            "count-overdue",
            "/officer/cases?overdue=1",
            t.get("workspace.count.overdue").to_owned(),
            n.overdue,
            true,
            only("", None, true),
        ),
    ]
}

/// The table's rows: metadata only, dates in the officer's language.
/// Each case is read with its entity's settings (its categories' labels, its retention).
fn rows(
    t: &Tr,
    sites: &Sites,
    found: &CaseList,
    (lang, today): (Lang, time::Date),
) -> Vec<CaseRow> {
    found
        .cases
        .iter()
        .map(|l| (l, sites.of(l.case.entity.as_ref())))
        .map(|(l, site)| CaseRow {
            reference: l.case.reference.clone(),
            category: site
                .category(&l.case.category)
                .map_or_else(|| l.case.category.clone(), |k| k.label(lang)),
            received: t.date(l.case.received_on),
            status_key: format!("status.{}", l.case.status),
            assignees: l.assignees.join(", "),
            owner: l.owner.clone().unwrap_or_default(),
            ack_due: t.date(l.deadlines.ack_due),
            ack_flag: l.deadlines.ack,
            feedback_due: t.date(l.deadlines.feedback_due),
            feedback_flag: l.deadlines.feedback,
            open_too_long: holds::open_too_long(&site.retention(), &l.case, today),
            meeting_due: l.meeting_due.map(|d| t.date(d)).unwrap_or_default(),
            meeting_overdue: l.meeting_due.is_some_and(|d| d < today),
            entity: l
                .case
                .entity
                .as_ref()
                .map_or_else(String::new, |e| e.to_string()),
        })
        .collect()
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
        due: q.due.parse().ok(),
        mine_only: q.mine == "1",
        sort: q.sort,
    };
    let found = casework::list(&state, &who.account, &f).await?;
    let (t, site) = (who.lang.tr(), state.site.get());
    let rows = rows(
        &t,
        &Sites::load(&state).await?,
        &found,
        (who.lang, state.clock.today()),
    );
    let (statuses, categories, assignees, sorts) = filters(&t, &site, &found, &f, who.lang);
    let dues = DueSoon::ALL
        .iter()
        .map(|d| {
            choice(
                d.as_str(),
                due_label(&t, *d),
                f.due.map_or("", DueSoon::as_str),
            )
        })
        .collect();
    Ok(CasesPage {
        d: desk_for(&state, &who, "cases", "/officer/cases"),
        rows,
        counters: counters(&t, &found.counts, &f),
        statuses,
        categories,
        assignees,
        dues,
        sorts,
        overdue_only: f.overdue_only,
        mine_only: f.mine_only,
    }
    .into_response())
}

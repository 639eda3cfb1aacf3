//! `/officer/stats` and `/officer/stats.csv`: the yearly figures for auditors, as tables and
//! server-rendered SVG bar charts (no script, no third-party code; each chart hidden from
//! screen readers beside the table that carries the same figures), and as a CSV download.
//! Every figure has been through the small-cell rule (`domain::stats`) before it gets here.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::desk_for;
use super::pages::Desk;
use super::session::Officer;
use crate::app::stats::{self, Format, Taker};
use crate::domain::entity::Scope;
use crate::domain::stats::{Cell, Figures, Table};
use crate::i18n::{Lang, Tr};
use crate::web::SharedState;
use crate::web::shared::error::{AppError, ErrorKind};

#[derive(Deserialize, Default)]
pub struct RangeQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// Which cases: empty for all, `-` for the instance's own, else an entity's slug.
    #[serde(default)]
    entity: String,
}

/// The entity choices of the statistics page as (value, label, selected); none without
/// entities.
async fn scopes(
    state: &SharedState,
    lang: crate::i18n::Lang,
    scope: &Scope,
) -> Result<Vec<(String, String, bool)>, AppError> {
    let all = crate::app::entities::list(state).await?;
    if all.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = vec![
        (
            String::new(),
            lang.tr().get("entities.stats_all").to_owned(),
        ),
        ("-".to_owned(), state.site.get().org_name.clone()),
    ];
    out.extend(
        all.iter()
            .map(|e| (e.slug.to_string(), e.name(lang).to_owned())),
    );
    Ok(out
        .into_iter()
        .map(|(v, l)| {
            let selected = v == scope.word();
            (v, l, selected)
        })
        .collect())
}

/// One bar of a chart: its label, the figure as shown, and its geometry.
pub struct Bar {
    pub label: String,
    pub shown: String,
    pub y: u32,
    pub width: u32,
    pub text_y: u32,
}

/// A table of the page with its chart.
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub bars: Vec<Bar>,
    pub total: String,
    pub height: u32,
    /// `0 0 640 height` (built here: the template's whitespace rule would join the numbers).
    pub view_box: String,
}

/// A figure with its label (shares and durations).
pub struct Fact {
    pub label: String,
    pub value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_stats.html")]
pub struct StatsPage {
    pub d: Desk,
    pub from: String,
    pub to: String,
    /// Why the requested months were not used.
    pub error: Option<String>,
    pub csv: String,
    pub charts: Vec<Chart>,
    pub facts: Vec<Fact>,
    /// The entity filter's choices (issue 12): (value, label, selected); empty without entities.
    pub scopes: Vec<(String, String, bool)>,
}

const BAR_HEIGHT: u32 = 22;
const BAR_GAP: u32 = 8;
/// The longest bar, in the chart's own units (the SVG scales to the column's width).
const BAR_MAX: f64 = 400.0;

/// A row's label in the reader's language: stored words through the catalog, categories
/// through the site's names, months as they are.
fn label(t: &Tr, state: &SharedState, lang: Lang, table: &str, key: &str) -> String {
    match table {
        "month" => key.to_owned(),
        "category" => state
            .site
            .get()
            .category(key)
            .map(|c| c.label(lang))
            .unwrap_or_else(|| key.to_owned()),
        "outcome" if key == crate::domain::stats::NO_OUTCOME => {
            t.get("stats.no_outcome").to_owned()
        }
        _ => t.get(&format!("{table}.{key}")).to_owned(),
    }
}

/// A table's heading: `stats.by_<table>`, or for tables added since in their feature's own
/// catalog block, `<table>.by_<table>`.
fn title_key(id: &str) -> String {
    match id {
        "channel" => "channel.by_channel".to_owned(),
        _ => format!("stats.by_{id}"),
    }
}

fn chart(t: &Tr, state: &SharedState, lang: Lang, id: &'static str, table: &Table) -> Chart {
    let max = table
        .rows
        .iter()
        .filter_map(|(_, c)| c.value())
        .fold(0.0, f64::max);
    let bars = table
        .rows
        .iter()
        .enumerate()
        .map(|(i, (key, cell))| {
            let y = i as u32 * (BAR_HEIGHT + BAR_GAP);
            // A withheld cell draws no bar: its length would give the number away.
            let width = match (cell, max > 0.0) {
                (Cell::Shown(v), true) => (v / max * BAR_MAX).round().max(1.0) as u32,
                _ => 0,
            };
            Bar {
                label: label(t, state, lang, id, key),
                shown: cell.to_string(),
                y,
                width,
                text_y: y + BAR_HEIGHT - 6,
            }
        })
        .collect::<Vec<_>>();
    let height = (bars.len() as u32 * (BAR_HEIGHT + BAR_GAP)).max(BAR_HEIGHT);
    Chart {
        id,
        view_box: format!("0 0 640 {height}"),
        title: t.get(&title_key(id)).to_owned(),
        height,
        bars,
        total: table.total.to_string(),
    }
}

fn facts(t: &Tr, f: &Figures) -> Vec<Fact> {
    let mut out = Vec::new();
    for (name, s) in f.shares() {
        out.push(Fact {
            label: t.fmt(&format!("stats.{name}"), &[("cases", &s.cases.to_string())]),
            value: match s.percent {
                Cell::Withheld => s.percent.to_string(),
                p => format!("{p} %"),
            },
        });
    }
    for (name, d) in f.durations() {
        for (what, cell) in [("median", d.median), ("max", d.max)] {
            out.push(Fact {
                label: t.get(&format!("stats.{name}.{what}")).to_owned(),
                value: cell.to_string(),
            });
        }
    }
    out
}

pub async fn show(
    State(state): State<SharedState>,
    who: Officer,
    Query(q): Query<RangeQuery>,
) -> Result<Response, AppError> {
    let today = state.clock.today();
    // Months that do not read show this year's figures under a message naming the problem.
    let (range, error) = match stats::range(&q.from, &q.to, today) {
        Ok(r) => (r, None),
        Err(_) => (stats::range("", "", today)?, Some("stats.invalid_range")),
    };
    let scope = Scope::parse(&q.entity).map_err(|_| ErrorKind::BadRequest)?;
    let f = stats::figures(&state, &who.account, &range, &scope).await?;
    let t = who.lang.tr();
    let charts = f
        .tables()
        .into_iter()
        .map(|(id, table)| chart(&t, &state, who.lang, id, table))
        .collect();
    let pairs = [
        ("from", f.from.as_str()),
        ("to", &f.to),
        ("entity", scope.word()),
    ];
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    Ok(StatsPage {
        d: desk_for(&state, &who, "stats", "/officer/stats"),
        error: error.map(|k| t.get(k).to_owned()),
        facts: facts(&t, &f),
        csv: format!("/officer/stats.csv?{query}"),
        from: f.from,
        to: f.to,
        charts,
        scopes: scopes(&state, who.lang, &scope).await?,
    }
    .into_response())
}

pub async fn csv(
    State(state): State<SharedState>,
    who: Officer,
    Query(q): Query<RangeQuery>,
) -> Result<Response, AppError> {
    let range = stats::range(&q.from, &q.to, state.clock.today())?;
    let scope = Scope::parse(&q.entity).map_err(|_| ErrorKind::BadRequest)?;
    let who = Taker::Auditor(&who.account);
    let body = stats::export(&state, who, &range, &scope, Format::Csv).await?;
    let name = format!(
        "attachment; filename=\"speakup-statistics-{}-{}.csv\"",
        range.first().map(|m| m.to_string()).unwrap_or_default(),
        range.last().map(|m| m.to_string()).unwrap_or_default()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        body,
    )
        .into_response())
}

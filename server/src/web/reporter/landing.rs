//! `/` and `/e/{slug}/`: the landing page (who reads a report, the deadlines, the
//! organisation's notice). With more than one entity, the instance's landing lists them, each
//! leading to its own intake (issue 12); with none or one, it is as it always was.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::entity;
use super::page_cache::{Page, Stamp};
use super::pages::{EntityLink, LandingPage};
use crate::app::entities::{self, Entity};
use crate::domain::deadlines::{ACK_DAYS, FEEDBACK_MONTHS};
use crate::i18n::Lang;
use crate::web::SharedState;
use crate::web::shared::error::AppError;
use crate::web::shared::locale::Locale;

pub async fn landing(
    State(state): State<SharedState>,
    Locale(lang): Locale,
) -> Result<Response, AppError> {
    page(&state, lang, None).await
}

/// `GET /e/{slug}/`: an entity's own landing page.
pub async fn entity_landing(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let e = entity::find(&state, &slug).await?;
    page(&state, lang, Some(&e)).await
}

/// The landing page, the same for every visitor of this intake: served from the page cache
/// when nothing it shows has changed. The list of entities changes only with the directory
/// the stamp holds (every entity change moves it).
async fn page(state: &SharedState, lang: Lang, e: Option<&Entity>) -> Result<Response, AppError> {
    let stamp = Stamp::now(state, false, e).await?;
    if let Some(page) = state.pages.get(Page::Landing, lang, &stamp) {
        return Ok(page);
    }
    let entities = match e {
        Some(_) => Vec::new(),
        None => listed(state, lang).await?,
    };
    // Routing before sealing: who reads, for this entity's intake.
    let plan = stamp.plan(state);
    let site = entity::site(state, e);
    let rendered = LandingPage {
        c: entity::chrome(state, lang, e, "/"),
        configured: !plan.candidates().is_empty(),
        notice: site.notice(lang).to_owned(),
        ack_days: ACK_DAYS,
        feedback_months: FEEDBACK_MONTHS,
        who_reads: super::routing::who_reads(lang, &plan, &site),
        entities,
    }
    .render();
    state.pages.keep(Page::Landing, lang, stamp, rendered)
}

/// The instance's entities, each leading to its own intake; none listed with one or none.
async fn listed(state: &SharedState, lang: Lang) -> Result<Vec<EntityLink>, AppError> {
    let all = entities::list(state).await?;
    Ok(match all.len() {
        0 | 1 => Vec::new(),
        _ => all
            .iter()
            .map(|e| EntityLink {
                name: e.name(lang).to_owned(),
                href: format!("/e/{}/?lang={}", e.slug, lang.code()),
            })
            .collect(),
    })
}

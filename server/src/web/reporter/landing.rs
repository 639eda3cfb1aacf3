//! `/` and `/e/{slug}/`: the landing page (who reads a report, the deadlines, the
//! organisation's notice). With more than one entity, the instance's landing lists them, each
//! leading to its own intake (issue 12); with none or one, it is as it always was.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::entity;
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
    let all = entities::list(&state).await?;
    let listed = match all.len() {
        0 | 1 => Vec::new(),
        _ => all
            .iter()
            .map(|e| EntityLink {
                name: e.name(lang).to_owned(),
                href: format!("/e/{}/?lang={}", e.slug, lang.code()),
            })
            .collect(),
    };
    page(&state, lang, None, listed).await
}

/// `GET /e/{slug}/`: an entity's own landing page.
pub async fn entity_landing(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let e = entity::find(&state, &slug).await?;
    page(&state, lang, Some(&e), Vec::new()).await
}

async fn page(
    state: &SharedState,
    lang: Lang,
    e: Option<&Entity>,
    entities: Vec<EntityLink>,
) -> Result<Response, AppError> {
    // Routing before sealing: who reads, for this entity's intake.
    let plan = crate::app::routing::Plan::for_page(state, e).await?;
    let configured = !plan.candidates().is_empty();
    let site = entity::site(state, e);
    Ok(LandingPage {
        c: entity::chrome(state, lang, e, "/"),
        configured,
        notice: site.notice(lang).to_owned(),
        ack_days: ACK_DAYS,
        feedback_months: FEEDBACK_MONTHS,
        who_reads: super::routing::who_reads(lang, &plan, &site),
        entities,
    }
    .into_response())
}

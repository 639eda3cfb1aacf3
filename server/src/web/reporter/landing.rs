//! `/`: the landing page (who reads a report, the deadlines, the organisation's notice).

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::pages::{Chrome, LandingPage};
use crate::domain::deadlines::{ACK_DAYS, FEEDBACK_MONTHS};
use crate::web::SharedState;
use crate::web::shared::error::AppError;
use crate::web::shared::locale::Locale;

pub async fn landing(
    State(state): State<SharedState>,
    Locale(lang): Locale,
) -> Result<Response, AppError> {
    let configured = state.intake_holders.is_open(state.store()).await?;
    let site = state.site.get();
    Ok(LandingPage {
        c: Chrome {
            t: lang.tr(),
            org_name: site.org_name.clone(),
            path: "/",
        },
        configured,
        notice: site.notice(lang).to_owned(),
        ack_days: ACK_DAYS,
        feedback_months: FEEDBACK_MONTHS,
    }
    .into_response())
}

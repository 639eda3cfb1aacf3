//! `/`, the stylesheet, the health check and the 404 fallback: pages without case data.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::SharedState;
use super::error::{AppError, ErrorKind};
use super::locale::Locale;
use super::pages::{Chrome, LandingPage};
use crate::cases;

pub const STYLESHEET: &str = include_str!("../../../frontend/static/style.css");
/// The officers' browser bundle, built from `frontend/js` and committed (so no Node is
/// needed to run the server). Served only to pages that use it.
pub const OFFICER_JS: &str = include_str!("../../../frontend/static/officer.js");

/// The reporters' bundle (in-browser encryption), loaded only by the intake, follow-up and
/// mailbox pages; those pages work without it.
pub const REPORTER_JS: &str = include_str!("../../../frontend/static/reporter.js");

pub async fn reporter_script() -> Response {
    let mut res = REPORTER_JS.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    res
}

pub async fn officer_script() -> Response {
    let mut res = OFFICER_JS.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    res
}

pub async fn landing(
    State(state): State<SharedState>,
    Locale(lang): Locale,
) -> Result<Response, AppError> {
    let configured = !cases::intake_recipients(state.store.as_ref())
        .await?
        .is_empty();
    Ok(LandingPage {
        c: Chrome {
            t: lang.tr(),
            org_name: state.site.get().org_name.clone(),
            path: "/",
        },
        configured,
        notice: state.site.get().notice(lang).to_owned(),
        ack_days: 7,
        feedback_months: 3,
    }
    .into_response())
}

pub async fn stylesheet() -> Response {
    let mut res = STYLESHEET.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    res
}

/// For load balancers: answers only when the database does.
pub async fn health(State(state): State<SharedState>) -> Result<&'static str, AppError> {
    match state.store.officers().await {
        Ok(_) => Ok("ok"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            Err(ErrorKind::Unavailable.into())
        }
    }
}

pub async fn not_found() -> AppError {
    ErrorKind::NotFound.into()
}

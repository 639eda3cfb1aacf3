//! The stylesheet, the two browser bundles, the health check and the 404 fallback: responses
//! without case data, the same for every audience.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::{AppError, ErrorKind};
use crate::web::SharedState;

pub const STYLESHEET: &str = include_str!("../../../../frontend/static/style.css");
/// The posters' own stylesheet (page sizes, print layout), loaded only by a printable poster.
pub const POSTER_STYLESHEET: &str = include_str!("../../../../frontend/static/poster.css");
/// The officers' browser bundle, built from `frontend/js` and committed (so no Node is
/// needed to run the server). Served only to pages that use it.
pub const OFFICER_JS: &str = include_str!("../../../../frontend/static/officer.js");
/// The reporters' bundle (in-browser encryption), loaded only by the intake, follow-up and
/// mailbox pages; those pages work without it.
pub const REPORTER_JS: &str = include_str!("../../../../frontend/static/reporter.js");

fn typed(body: &'static str, content_type: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

pub async fn stylesheet() -> Response {
    typed(STYLESHEET, "text/css; charset=utf-8")
}

pub async fn poster_stylesheet() -> Response {
    typed(POSTER_STYLESHEET, "text/css; charset=utf-8")
}

pub async fn officer_script() -> Response {
    typed(OFFICER_JS, "text/javascript; charset=utf-8")
}

pub async fn reporter_script() -> Response {
    typed(REPORTER_JS, "text/javascript; charset=utf-8")
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

//! `POST /officer/cases/{reference}/hold`: puts a case under a legal hold or lifts it, with a
//! reason (audited as `legal_hold_set` / `legal_hold_lifted`). Metadata only: it needs the
//! permission to manage the case's access, not a copy of its key.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::Officer;
use crate::app::{casework, holds};
use crate::web::SharedState;
use crate::web::shared::error::{AppError, ErrorKind};

#[derive(Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    csrf: String,
    /// `set` or `lift`.
    #[serde(default)]
    hold: String,
    #[serde(default)]
    reason: String,
}

pub async fn hold(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HoldForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    let (on, done) = match form.hold.as_str() {
        "set" => (true, "hold_set"),
        "lift" => (false, "hold_lifted"),
        _ => return Err(ErrorKind::BadRequest.into()),
    };
    let case = casework::for_access_review(&state, &who.account, &reference).await?;
    holds::set(&state, &who.account, &case, on, &form.reason).await?;
    Ok(Redirect::to(&format!("/officer/cases/{}?done={done}", case.reference)).into_response())
}

//! Moving a case to another legal entity (issue 12): the case page's form, whose options name
//! the holders the officer's browser seals the case key to, and `POST
//! /officer/cases/{reference}/move`, which hands the sealed copies to `app::case_move`.

use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::session::Officer;
use crate::app::case_move::{self, Target};
use crate::app::casework::{self, Opened};
use crate::domain::permission::Permission;
use crate::web::SharedState;
use crate::web::shared::cipher_form::{FormShape, read_checked};
use crate::web::shared::error::AppError;

/// One place the case can go, as the form's `<option>` shows it.
pub struct MoveOption {
    /// The entity's slug; empty for the instance's own intake.
    pub slug: String,
    pub name: String,
    /// `data-holders`: JSON `[{holder, recipient}]` the browser seals the case key to.
    pub holders: String,
}

fn option(t: Target) -> MoveOption {
    let holders: Vec<serde_json::Value> = t
        .holders
        .iter()
        .map(|(h, r)| serde_json::json!({"holder": h.to_db(), "recipient": r.to_string()}))
        .collect();
    MoveOption {
        slug: t.slug,
        name: t.name,
        holders: serde_json::Value::Array(holders).to_string(),
    }
}

/// The case page's move options; none for whoever may not manage the case's access, and on
/// an instance without entities.
pub async fn options(
    state: &SharedState,
    who: &Officer,
    o: &Opened,
) -> Result<Vec<MoveOption>, AppError> {
    if !Permission::ManageCaseAccess.granted_to(&who.account.roles) {
        return Ok(Vec::new());
    }
    let targets = case_move::targets(state, &who.account, o, who.lang).await?;
    Ok(targets.into_iter().map(option).collect())
}

/// `POST /officer/cases/{reference}/move`: `entity`, then per holder `holder`, `envelope` and
/// (when the case has an officer key) `officer_envelope`.
pub async fn move_case(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let o = casework::open(&state, &who.account, &reference).await?;
    let most = case_move::targets(&state, &who.account, &o, who.lang)
        .await?
        .iter()
        .map(|t| t.holders.len())
        .max()
        .unwrap_or(0);
    let shape = FormShape {
        recipients: 1,
        envelopes: most,
        officer_envelopes: most,
        fields: &["entity"],
    };
    let form = read_checked(&state, &headers, multipart, shape, |token| {
        who.check_csrf(&state, &headers, token).is_ok()
    })
    .await?;
    if !form.files.is_empty() || form.message.is_some() || form.reason.is_some() {
        form.discard(&state).await;
        return Err(crate::web::shared::error::ErrorKind::BadRequest.into());
    }
    let (envelopes, officer) = (&form.envelopes, &form.officer_envelopes);
    case_move::move_case(
        &state,
        &who.account,
        &o,
        form.field("entity"),
        envelopes,
        officer,
    )
    .await?;
    Ok(Redirect::to("/officer/cases?moved=1").into_response())
}

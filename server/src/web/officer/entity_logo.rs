//! An entity's logo on its admin page (issue 12): the upload (multipart, the CSRF token
//! first, the file read up to its cap and never kept as sent) and its removal. The file is
//! turned into a fresh PNG or refused by `app::logos`, which keeps the rule and the audit.

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::entities::entity_page;
use super::session::Officer;
use crate::app::accounts::require;
use crate::app::entities::{self, EntityInput};
use crate::app::logos::{self, LogoError, MAX_UPLOAD};
use crate::domain::permission::Permission;
use crate::web::SharedState;
use crate::web::shared::error::{AppError, ErrorKind};

/// The larger body the upload route accepts: the file at its cap plus the form around it.
pub const BODY_LIMIT: usize = MAX_UPLOAD + 64 * 1024;

/// Reads the form: the CSRF token (checked before the file is read) and the file, or why the
/// file cannot be taken (too big, none).
async fn read_upload(
    state: &SharedState,
    who: &Officer,
    headers: &HeaderMap,
    mut multipart: Multipart,
) -> Result<Result<Vec<u8>, LogoError>, AppError> {
    let bad = |_| AppError::from(ErrorKind::BadRequest);
    let token = match multipart.next_field().await.map_err(bad)? {
        Some(f) if f.name() == Some("csrf") => f.text().await.map_err(bad)?,
        _ => String::new(),
    };
    who.check_csrf(state, headers, &token)?;
    let mut file = Vec::new();
    while let Some(mut f) = multipart.next_field().await.map_err(bad)? {
        if f.name() != Some("logo") {
            continue;
        }
        loop {
            match f.chunk().await {
                Ok(Some(chunk)) if file.len() + chunk.len() > MAX_UPLOAD => {
                    return Ok(Err(LogoError::TooBig));
                }
                Ok(Some(chunk)) => file.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Ok(Err(LogoError::TooBig));
                }
                Err(_) => return Err(ErrorKind::BadRequest.into()),
            }
        }
    }
    Ok(Ok(file))
}

/// `POST /officer/admin/entities/{slug}/logo`: a PNG or SVG file, stored as a fresh PNG; a
/// refused file is named on the entity's page (422) and nothing is stored.
pub async fn upload(
    State(state): State<SharedState>,
    who: Officer,
    Path(slug): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    require(&who.account, Permission::ManageAccounts)?;
    let outcome = match read_upload(&state, &who, &headers, multipart).await? {
        Ok(file) => logos::set(&state, &who.account, &slug, &file).await?,
        Err(e) => Err(e),
    };
    let e = entities::find(&state, &slug).await?;
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/officer/admin/entities/{}", e.slug)).into_response()),
        Err(refused) => {
            let input = EntityInput::from_entity(&e);
            let shown = (false, vec![refused.key()]);
            let page = entity_page(&state, &who, &slug, &input, shown).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// `POST /officer/admin/entities/{slug}/logo/remove`.
pub async fn remove(
    State(state): State<SharedState>,
    who: Officer,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let token = form
        .iter()
        .find(|(n, _)| n == "csrf")
        .map_or("", |(_, v)| v);
    who.check_csrf(&state, &headers, token)?;
    logos::remove(&state, &who.account, &slug).await?;
    let e = entities::find(&state, &slug).await?;
    Ok(Redirect::to(&format!("/officer/admin/entities/{}", e.slug)).into_response())
}

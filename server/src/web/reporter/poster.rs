//! `/poster/qr.svg` and `/poster/qr.png`: the QR code of the intake address, public so that
//! anyone may print or embed it. Keeps rule `reporter-anonymity`: the code carries the
//! configured address exactly (no tracking parameter), and with no configured address there
//! is no code (a localized 404), never one of a guessed address. Each entity has its own,
//! of its own address (`/e/{slug}/poster/qr.svg`, issue 12), and its logo
//! (`/e/{slug}/logo.png`: the sanitised PNG `app::logos` drew, never the uploaded file).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::app::{logos, posters};
use crate::web::SharedState;
use crate::web::shared::error::{AppError, ErrorKind};

/// The address the instance's posters carry.
fn intake_address(state: &SharedState) -> Result<&str, AppError> {
    state
        .settings
        .intake_address()
        .ok_or_else(|| ErrorKind::NotFound.into())
}

/// The address an entity's posters carry: its landing under the public address, exactly
/// (`{SPEAKUP_PUBLIC_URL}/e/{slug}/`).
async fn entity_address(state: &SharedState, slug: &str) -> Result<String, AppError> {
    let base = intake_address(state)?;
    let e = super::entity::find(state, slug).await?;
    Ok(posters::entity_address(base, &e.slug))
}

fn image(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

pub async fn qr_svg(State(state): State<SharedState>) -> Result<Response, AppError> {
    let svg = posters::qr_svg(intake_address(&state)?)?;
    Ok(image(svg.into_bytes(), "image/svg+xml"))
}

pub async fn qr_png(State(state): State<SharedState>) -> Result<Response, AppError> {
    let png = posters::qr_png(intake_address(&state)?)?;
    Ok(image(png, "image/png"))
}

/// `GET /e/{slug}/poster/qr.svg`: the QR code of an entity's own address.
pub async fn entity_qr_svg(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let svg = posters::qr_svg(&entity_address(&state, &slug).await?)?;
    Ok(image(svg.into_bytes(), "image/svg+xml"))
}

/// `GET /e/{slug}/poster/qr.png`.
pub async fn entity_qr_png(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let png = posters::qr_png(&entity_address(&state, &slug).await?)?;
    Ok(image(png, "image/png"))
}

/// `GET /e/{slug}/logo.png`: an entity's logo; a 404 page when it has none.
pub async fn entity_logo(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let e = super::entity::find(&state, &slug).await?;
    let png = logos::png(&state, e.slug.as_str()).await?;
    Ok(image(png, "image/png"))
}

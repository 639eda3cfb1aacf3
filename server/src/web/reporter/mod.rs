//! The reporter's pages: the landing page, the intake (server path and browser path), the
//! follow-up form and the anonymous mailbox. They work fully without JavaScript; with it the
//! browser encrypts before upload. Handlers parse, call one use case, render.

pub mod entity;
pub mod intake;
pub mod landing;
pub mod mailbox;
pub mod minutes;
pub mod page_cache;
pub mod pages;
pub mod poster;
pub mod routing;
pub mod session;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::SharedState;
use super::shared::ratelimit;

pub fn routes(upload_limit: usize, settings: &crate::config::Settings) -> Router<SharedState> {
    let submissions = Router::new()
        .route("/report", post(intake::submit))
        .route("/report/sealed", post(intake::submit_sealed))
        .route("/e/{slug}/report", post(intake::entity_submit))
        .route(
            "/e/{slug}/report/sealed",
            post(intake::entity_submit_sealed),
        )
        .route("/mailbox/reply", post(mailbox::reply))
        .route("/mailbox/reply/sealed", post(mailbox::reply_sealed))
        .layer(DefaultBodyLimit::max(upload_limit))
        .merge(
            Router::new()
                .route("/follow-up", post(mailbox::open))
                .route("/e/{slug}/follow-up", post(mailbox::open))
                .layer(DefaultBodyLimit::max(super::SMALL_BODY_LIMIT)),
        )
        // The last layer runs first: a request the per-client limit refuses never reaches
        // (and never spends) the global budget.
        .layer(ratelimit::global(settings.rate_global))
        .layer(ratelimit::per_client(
            settings.rate_per_client,
            &settings.connections.trusted_proxies,
        ));
    Router::new()
        .route("/", get(landing::landing))
        .route("/poster/qr.svg", get(poster::qr_svg))
        .route("/poster/qr.png", get(poster::qr_png))
        .route("/report", get(intake::form))
        .route("/follow-up", get(mailbox::follow_up_form))
        .route("/mailbox/logout", post(mailbox::logout))
        .route("/mailbox/minutes/{id}/confirm", post(minutes::confirm))
        .merge(entity_pages())
        .merge(reads(settings))
        .merge(submissions)
}

/// An entity's own intake (issue 12): its landing, form, follow-up form and QR codes.
fn entity_pages() -> Router<SharedState> {
    Router::new()
        .route("/e/{slug}/", get(landing::entity_landing))
        .route("/e/{slug}", get(landing::entity_landing))
        .route("/e/{slug}/report", get(intake::entity_form))
        .route("/e/{slug}/follow-up", get(mailbox::entity_follow_up_form))
        .route("/e/{slug}/poster/qr.svg", get(poster::entity_qr_svg))
        .route("/e/{slug}/poster/qr.png", get(poster::entity_qr_png))
        .route("/e/{slug}/logo.png", get(poster::entity_logo))
}

/// Every reporter route that reads a case from the database, with the per-client read
/// budget (in memory only, like the others).
fn reads(settings: &crate::config::Settings) -> Router<SharedState> {
    Router::new()
        .route("/mailbox", get(mailbox::show))
        .route("/mailbox/items/{id}", get(mailbox::item))
        .route("/mailbox/attachments/{id}", get(mailbox::download))
        .route(
            "/mailbox/attachments/{id}/sealed",
            get(mailbox::download_sealed),
        )
        .layer(ratelimit::reads(
            settings.rate_reads_per_client,
            &settings.connections.trusted_proxies,
        ))
}

//! The HTTP application: routes, shared state and the layers every response passes through
//! (security headers, localized error pages, an access log without IP or user agent, rate
//! limits on reporter submissions, body size limits).

pub mod access_log;
pub mod csrf;
pub mod error;
pub mod headers;
pub mod intake;
pub mod landing;
pub mod locale;
pub mod mailbox;
pub mod officer;
pub mod pages;
pub mod ratelimit;
pub mod session;
pub mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::store::SharedStore;

/// Keys derived from the server secret kept in the database, so every instance sharing a
/// database agrees on them and a restart does not void open forms or mailboxes.
#[derive(Clone)]
pub struct ServerKeys {
    pub csrf: [u8; 32],
    pub session: [u8; 32],
}

pub struct AppState {
    pub store: SharedStore,
    pub settings: Settings,
    pub clock: SharedClock,
    pub keys: ServerKeys,
    pub site: crate::site::SiteHolder,
    /// Failed officer logins per peer address, kept in memory only.
    pub login_throttle: officer::throttle::PeerThrottle,
}

pub type SharedState = Arc<AppState>;

/// Text fields and small forms: far below any attachment, far above any honest form.
pub const SMALL_BODY_LIMIT: usize = 256 * 1024;

pub fn router(state: SharedState) -> Router {
    let s = &state.settings;
    // The whole multipart body: every file at its limit plus the text fields.
    let upload_limit = usize::try_from(s.max_attachment_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(s.max_attachments)
        .saturating_add(SMALL_BODY_LIMIT);

    let submissions = Router::new()
        .route("/report", post(intake::submit))
        .route("/report/sealed", post(intake::submit_sealed))
        .route("/mailbox/reply", post(mailbox::reply))
        .route("/mailbox/reply/sealed", post(mailbox::reply_sealed))
        .layer(DefaultBodyLimit::max(upload_limit))
        .merge(
            Router::new()
                .route("/follow-up", post(mailbox::open))
                .layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT)),
        )
        .layer(ratelimit::per_client(s.rate_per_client))
        .layer(ratelimit::global(s.rate_global));

    Router::new()
        .route("/", get(landing::landing))
        .route("/report", get(intake::form))
        .route("/follow-up", get(mailbox::follow_up_form))
        .route("/mailbox", get(mailbox::show))
        .route("/mailbox/logout", post(mailbox::logout))
        .route("/mailbox/attachments/{id}", get(mailbox::download))
        .route(
            "/mailbox/attachments/{id}/sealed",
            get(mailbox::download_sealed),
        )
        .route("/static/style.css", get(landing::stylesheet))
        .route("/static/officer.js", get(landing::officer_script))
        .route("/static/reporter.js", get(landing::reporter_script))
        .route("/healthz", get(landing::health))
        .merge(submissions)
        .merge(officer::routes(upload_limit))
        // Per route, so the log can name the route pattern rather than the concrete path.
        .route_layer(middleware::from_fn(access_log::note_route))
        .layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT))
        .fallback(landing::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            error::render_error_pages,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        .layer(middleware::from_fn(access_log::log_request))
        .with_state(state)
}

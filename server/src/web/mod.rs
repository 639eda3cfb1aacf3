//! The HTTP application: the shared state, the routes, and the layers every response passes
//! through (security headers, localized error pages, an access log without IP or user agent,
//! rate limits on reporter submissions, body size limits). The folders show the audiences:
//! `reporter/` (public pages), `officer/` (the workspace) and `shared/` (middleware, form
//! readers, views); neither audience imports the other.

pub mod officer;
pub mod reporter;
pub mod shared;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;

pub use self::shared::{access_log, csrf, error, headers, locale, ratelimit};
use crate::app::App;

/// Keys derived from the server secret kept in the database, so every instance sharing a
/// database agrees on them and a restart does not void open forms or mailboxes.
#[derive(Clone)]
pub struct ServerKeys {
    pub csrf: [u8; 32],
    pub session: [u8; 32],
}

/// The use cases' context plus what only the web needs: cookie and form keys, and the
/// in-memory throttle of failed officer sign-ins per peer address.
pub struct AppState {
    pub app: App,
    pub keys: ServerKeys,
    pub login_throttle: officer::throttle::PeerThrottle,
    /// The reporter pages every visitor gets alike, kept rendered.
    pub pages: reporter::page_cache::PageCache,
}

/// Handlers read the use cases' context (`state.store`, `state.clock`, `state.site`, …)
/// directly through the state.
impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

pub type SharedState = Arc<AppState>;

/// Text fields and small forms: far below any attachment, far above any honest form.
pub const SMALL_BODY_LIMIT: usize = 256 * 1024;

/// The metrics listener's routes: `/metrics` and nothing else (every other path is a bare
/// 404), apart from the reporters' port so the numbers are never public.
pub fn metrics_router(state: SharedState) -> Router {
    Router::new()
        .route("/metrics", get(shared::probes::metrics))
        .with_state(state)
}

pub fn router(state: SharedState) -> Router {
    let s = &state.settings;
    // The whole multipart body: every file at its limit plus the text fields.
    let upload_limit = usize::try_from(s.max_attachment_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(s.max_attachments)
        .saturating_add(SMALL_BODY_LIMIT);
    Router::new()
        .merge(reporter::routes(upload_limit, s))
        .merge(officer::routes(upload_limit, s))
        .route("/static/style.css", get(shared::assets::stylesheet))
        .route("/static/poster.css", get(shared::assets::poster_stylesheet))
        .route("/static/officer.js", get(shared::assets::officer_script))
        .route("/static/reporter.js", get(shared::assets::reporter_script))
        .route("/healthz", get(shared::assets::health))
        .route("/readyz", get(shared::probes::ready))
        // Per route, so the log can name the route pattern rather than the concrete path.
        .route_layer(middleware::from_fn(access_log::note_route))
        .layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT))
        .fallback(shared::assets::not_found)
        // A panicking handler becomes a logged 500 (made a localized page by the next
        // layer), never a dropped connection that could pass for a refusal.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panic_response,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            error::render_error_pages,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access_log::log_request,
        ))
        .with_state(state)
}

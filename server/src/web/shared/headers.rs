//! Security headers on every response. Keeps rule `reporter-anonymity` (no third-party resources,
//! strict CSP, no referrer leaks) and makes sure no page with case data is cached.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::web::SharedState;

/// Nothing from anywhere but here, and no script at all: pages that do not load one of our
/// bundles (the landing page, error pages, the receipt's own content) get this.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Pages with our own bundle (never inline code, never eval) may run it and fetch from this
/// origin only; everything else is as strict as on the pages without scripts.
pub const SCRIPTED_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
     style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn security_headers(
    State(state): State<SharedState>,
    req: Request,
    next: Next,
) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let path = req.uri().path();
    // Pages that load our own bundle: the officer workspace, and the three reporter pages
    // that encrypt in the browser when scripts run. Every other page allows no script.
    let scripted = path == "/officer"
        || path.starts_with("/officer/")
        || path.starts_with("/report")
        || path == "/follow-up"
        || path.starts_with("/mailbox");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if scripted { SCRIPTED_CSP } else { CSP }),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static(
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), \
             interest-cohort=(), browsing-topics=()",
        ),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    if state.settings.uses_tls() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    // Pages may carry decrypted case data; only the stylesheet may be cached.
    if is_static {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
    } else {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    res
}

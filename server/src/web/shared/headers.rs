//! Security headers on every response. Keeps rule `reporter-anonymity` (no third-party resources,
//! strict CSP, no referrer leaks) and makes sure no page with case data is cached. Announces
//! the onion service (`Onion-Location`) to Tor Browser on pages served over the clear web.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::domain::poster::is_onion_host;
use crate::web::SharedState;

/// Nothing from anywhere but here, and no script at all: pages that do not load one of our
/// bundles (the landing page, error pages, the receipt's own content) get this.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Pages with our own bundle (never inline code, never eval) may run it and fetch from this
/// origin only; everything else is as strict as on the pages without scripts.
pub const SCRIPTED_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
     style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers every response carries, whatever its page: no referrer, no sniffing, no framing,
/// no powerful features, no cross-origin reads, no indexing.
const ALWAYS: &[(&str, &str)] = &[
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), \
         interest-cohort=(), browsing-topics=()",
    ),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("x-robots-tag", "noindex, nofollow"),
];

/// Pages that load our own bundle: the officer workspace, and the three reporter pages that
/// encrypt in the browser when scripts run (an entity's too, under `/e/{slug}`). Every
/// other page allows no script.
fn scripted(path: &str) -> bool {
    let path = entity_page(path).unwrap_or(path);
    path == "/officer"
        || path.starts_with("/officer/")
        || path.starts_with("/report")
        || path == "/follow-up"
        || path.starts_with("/mailbox")
}

/// An entity's page below its prefix: `/e/{slug}/report` is `/report`.
fn entity_page(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/e/")?;
    rest.find('/').map(|i| &rest[i..])
}

/// The public QR codes of an intake address (`/poster/qr.svg`, `.png`, and an entity's under
/// its own prefix): the same for everyone, so caches may keep them.
fn public_image(path: &str) -> bool {
    !path.starts_with("/officer")
        && (path.ends_with("/poster/qr.svg")
            || path.ends_with("/poster/qr.png")
            || (path.starts_with("/e/") && path.ends_with("/logo.png")))
}

/// `Onion-Location: <onion address + path>` when an onion address is configured and the
/// request did not come to it (a `Host` ending in `.onion` is already on Tor).
fn onion_location(state: &SharedState, req: &Request) -> Option<HeaderValue> {
    let onion = state.settings.onion_url.as_deref()?;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())
        .unwrap_or("");
    if is_onion_host(host) {
        return None;
    }
    HeaderValue::from_str(&format!("{onion}{}", req.uri().path())).ok()
}

pub async fn security_headers(
    State(state): State<SharedState>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let is_static = path.starts_with("/static/");
    let is_public_image = public_image(path);
    let csp = if scripted(path) { SCRIPTED_CSP } else { CSP };
    let onion = onion_location(&state, &req);
    let mut res = next.run(req).await;
    let cacheable = is_static || (is_public_image && res.status().is_success());
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    for (name, value) in ALWAYS {
        h.insert(*name, HeaderValue::from_static(value));
    }
    if state.settings.uses_tls() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    // Pages may carry decrypted case data; only the stylesheet and scripts may be cached.
    if let Some(onion) = onion {
        h.insert("onion-location", onion);
    }
    if cacheable {
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

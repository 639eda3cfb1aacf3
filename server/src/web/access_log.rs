//! The access log. Keeps non-negotiable 2: it records the method, the route pattern (never
//! the concrete path or query), the status and the duration, and nothing about the client:
//! no IP address, no user agent, no referrer.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

pub async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let started = Instant::now();
    let res = next.run(req).await;
    tracing::info!(
        target: "speakup::access",
        %method,
        route,
        status = res.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    res
}

//! The access log. Keeps rule `reporter-anonymity`: it records the method, the route pattern (never
//! the concrete path or query), the status and the duration, and nothing about the client:
//! no IP address, no user agent, no referrer. The probes (`/healthz`, `/readyz`) are not
//! logged: a load balancer's polling is not reporter traffic and would drown it. The same
//! pattern, method, status and duration feed the metrics (crate::metrics), probes included.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Routes polled by load balancers and monitors, left out of the log.
pub const PROBES: &[&str] = &["/healthz", "/readyz"];

/// The route pattern, carried from inside the router (where it is known) to the log.
#[derive(Clone)]
struct Route(String);

/// Runs per route, after matching: notes the pattern on the response.
pub async fn note_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let mut res = next.run(req).await;
    if let Some(r) = route {
        res.extensions_mut().insert(Route(r));
    }
    res
}

use crate::web::SharedState;

/// Runs outermost: one line per request, and the request counted in the metrics.
pub async fn log_request(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let started = Instant::now();
    let res = next.run(req).await;
    let route = res
        .extensions()
        .get::<Route>()
        .map(|r| r.0.as_str())
        .unwrap_or("(unmatched)");
    let took = started.elapsed();
    state
        .metrics
        .request(route, &method, res.status().as_u16(), took);
    if PROBES.contains(&route) {
        return res;
    }
    tracing::info!(
        target: "speakup::access",
        %method,
        %route,
        status = res.status().as_u16(),
        ms = took.as_millis() as u64,
        "request"
    );
    res
}

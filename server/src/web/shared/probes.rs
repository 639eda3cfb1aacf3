//! `/readyz`, the readiness probe beside `/healthz`: 200 `ready`, or 503 with a short plain
//! reason. Like `/healthz` it is left out of the access log (see `access_log`), so a load
//! balancer's polling never reads as reporter traffic, and its plain answer is kept as is by
//! the error-page layer (`error::PlainAnswer`). Also `/metrics`, served only on the metrics
//! listener (`web::metrics_router`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::PlainAnswer;
use crate::app::readiness::{self, NotReady};
use crate::web::SharedState;

pub async fn ready(State(state): State<SharedState>) -> Response {
    let (status, text) = match readiness::check(state.store()).await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(e) => {
            if let NotReady::Database(cause) = &e {
                tracing::warn!(error = %cause, "readiness check: database unavailable");
            }
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}"))
        }
    };
    let mut res = (status, text).into_response();
    res.extensions_mut().insert(PlainAnswer);
    res
}

/// The Prometheus scrape: this server's metrics with the pool and the audit queue as they are now.
pub async fn metrics(State(state): State<SharedState>) -> Response {
    let days = state.store().pending_reporter_days().await;
    if let Err(e) = &days {
        tracing::warn!(error = %e, "metrics: the audit queue could not be read");
    }
    let text = state.metrics.render(state.store().pool_use(), days.ok());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        text,
    )
        .into_response()
}

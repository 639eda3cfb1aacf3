//! Rate limits on reporter submissions (POST only): one budget per client address and one
//! for everybody, because behind a Tor onion service every client is 127.0.0.1. The
//! limiter holds addresses in memory only, for the length of the window; they are never
//! logged or stored. A 429 becomes a localized page in `web::error`.

use std::time::Duration;

use axum::body::Body;
use axum::http::Method;
use governor::middleware::NoOpMiddleware;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::{GlobalKeyExtractor, PeerIpKeyExtractor};

/// The refill period, in nanoseconds so that no configured rate rounds it to zero (which
/// governor refuses): above 60,000 per minute whole milliseconds would.
fn period(per_minute: u32) -> Duration {
    Duration::from_nanos(60_000_000_000 / u64::from(per_minute.max(1)))
}

pub fn per_client(per_minute: u32) -> GovernorLayer<PeerIpKeyExtractor, NoOpMiddleware, Body> {
    let config = GovernorConfigBuilder::default()
        .period(period(per_minute))
        .burst_size(per_minute.max(1))
        .methods(vec![Method::POST])
        .finish();
    match config {
        Some(c) => {
            let limiter = c.limiter().clone();
            // Forget addresses whose window has passed, so none lingers in memory.
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            });
            GovernorLayer::new(c)
        }
        None => unreachable!("period and burst are never zero"),
    }
}

pub fn global(per_minute: u32) -> GovernorLayer<GlobalKeyExtractor, NoOpMiddleware, Body> {
    let config = GovernorConfigBuilder::default()
        .key_extractor(GlobalKeyExtractor)
        .period(period(per_minute))
        .burst_size(per_minute.max(1))
        .methods(vec![Method::POST])
        .finish();
    match config {
        Some(c) => GovernorLayer::new(c),
        None => unreachable!("period and burst are never zero"),
    }
}
